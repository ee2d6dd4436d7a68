// Board profiles: every shipped file validates, carries the documented device paths and overlay
// lines, survives a round trip through its file format, and broken boards are refused with paths.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOARDS_DIR, boardIds, boardToJson, checkBoardText, checkConfigText, listBoards, loadBoard, type Board } from '../../src/config/index.js';
import { virtualConfig } from './fixtures.js';
import { codeOf } from '../helpers/errors.js';
import { ConfigErrorCode } from '../../src/config/errors.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { CommonCode } from '../../src/lib/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-boards-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const REQUIRED = ['generic-linux', 'rpi-4b', 'rpi-5', 'rpi-cm4-rs485', 'rpi-zero-2w', 'virtual'];
const port = (b: Board, id: string) => b.ports.find((p) => p.id === id)!;

describe('shipped board profiles', () => {
  it('every file in boards/ validates without any issue and the required boards exist', () => {
    const files = readdirSync(BOARDS_DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(REQUIRED.length);
    for (const f of files) {
      const r = checkBoardText(readFileSync(join(BOARDS_DIR, f), 'utf8'), f);
      expect(r.issues, f).toEqual([]);
      expect(r.board?.id).toBe(f.replace(/\.json$/, ''));
    }
    expect(boardIds()).toEqual(expect.arrayContaining(REQUIRED));
  });

  it('every board names oemid/hwmodel/hwversion, and every port a non-empty docs line', () => {
    for (const b of listBoards()) {
      expect(b.oemid).toMatch(/^(?:[0-9a-f]{6}|[0-9a-f]{32})$/);
      expect(Buffer.byteLength(b.hwmodel)).toBeLessThanOrEqual(32);
      expect(b.hwversion).toMatch(/^\d+(\.\d+)*$/);
      for (const p of b.ports) expect(p.docs.length, `${b.id}/${p.id}`).toBeGreaterThan(0);
      for (const s of b.slots) expect(b.ports.some((p) => p.id === s.port)).toBe(true);
    }
  });

  it('rpi-4b: PL011 UART0 via disable-bt, mini UART without parity, uart2..5 overlays as /dev/ttyAMA2..5', () => {
    const b = loadBoard('rpi-4b');
    expect(port(b, 'uart0')).toMatchObject({ device: '/dev/ttyAMA0', aliases: ['/dev/serial0'], pins: [14, 15] });
    expect(port(b, 'uart0').docs).toContain('dtoverlay=disable-bt');
    expect(port(b, 'mini-uart')).toMatchObject({ device: '/dev/ttyS0', parities: ['none'], stopBits: [1], pins: [14, 15] });
    for (const n of [2, 3, 4, 5]) {
      expect(port(b, `uart${n}`).device).toBe(`/dev/ttyAMA${n}`);
      expect(port(b, `uart${n}`).docs).toBe(`dtoverlay=uart${n}`);
    }
    expect(port(b, 'eth0').kind).toBe('net');
  });

  it('rpi-5: debug connector is /dev/ttyAMA10, header UARTs come with the -pi5 overlays', () => {
    const b = loadBoard('rpi-5');
    expect(port(b, 'debug').device).toBe('/dev/ttyAMA10');
    expect(port(b, 'uart0')).toMatchObject({ device: '/dev/ttyAMA0', docs: 'dtparam=uart0=on', pins: [14, 15] });
    for (const n of [1, 2, 3, 4]) expect(port(b, `uart${n}`)).toMatchObject({ device: `/dev/ttyAMA${n}`, docs: `dtoverlay=uart${n}-pi5` });
    expect(b.ports.some((p) => p.device === '/dev/ttyS0')).toBe(false);
  });

  it('rpi-zero-2w: mini UART /dev/ttyS0 unless disable-bt gives /dev/ttyAMA0 (same pins)', () => {
    const b = loadBoard('rpi-zero-2w');
    expect(port(b, 'mini-uart')).toMatchObject({ device: '/dev/ttyS0', pins: [14, 15] });
    expect(port(b, 'uart0')).toMatchObject({ device: '/dev/ttyAMA0', pins: [14, 15] });
    expect(port(b, 'uart0').docs).toContain('dtoverlay=disable-bt');
  });

  it('every Raspberry Pi profile prefers arm64, except the Zero W, which runs only 32-bit arm', () => {
    for (const b of listBoards().filter((x) => x.id.startsWith('rpi-'))) expect([b.id, b.arch[0]]).toEqual([b.id, b.id === 'rpi-zero-w' ? 'arm' : 'arm64']);
    expect(loadBoard('rpi-zero-w').arch).toEqual(['arm']);
    expect(loadBoard('generic-linux').arch).toEqual(['x64', 'arm64']);
  });

  it('rpi-cm4-rs485: two RS-485 ports on UART overlays with RTS direction control', () => {
    const b = loadBoard('rpi-cm4-rs485');
    const rs = b.ports.filter((p) => p.kind === 'rs485');
    expect(rs).toHaveLength(2);
    for (const p of rs) {
      expect(p.rs485.direction).toBe('rts');
      expect(p.docs).toMatch(/^dtoverlay=uart\d,ctsrts$/);
    }
    expect(b.slots.filter((s) => rs.some((p) => p.id === s.port)).map((s) => s.id)).toEqual(['rs485-1', 'rs485-2']);
  });

  it('generic-linux: USB adapters by /dev/ttyUSB*, /dev/ttyACM* and /dev/serial/by-id/*', () => {
    const b = loadBoard('generic-linux');
    const globs = b.ports.flatMap((p) => p.deviceGlob);
    for (const g of ['/dev/ttyUSB*', '/dev/ttyACM*', '/dev/serial/by-id/*']) expect(globs).toContain(g);
    expect(b.ports.filter((p) => p.kind === 'rs485' && p.device === undefined).length).toBeGreaterThan(0);
  });

  it('virtual: PTY paths under {virtual_dir}, at least 16 serial slots and net slots for MQTT', () => {
    const b = loadBoard('virtual');
    const serial = b.ports.filter((p) => p.kind !== 'net');
    expect(serial.length).toBeGreaterThanOrEqual(16);
    for (const p of serial) expect(p.device).toMatch(/^\{virtual_dir\}\//);
    expect(b.slots.filter((s) => s.kinds.includes('mqtt-bridge')).length).toBeGreaterThanOrEqual(1);
    expect(b.slots.filter((s) => s.kinds.includes('modbus-poller') && s.port.startsWith('rs485')).length).toBeGreaterThanOrEqual(1);
  });

  it('boardToJson round-trips every board through the validator unchanged', () => {
    for (const b of listBoards()) {
      const again = checkBoardText(JSON.stringify(boardToJson(b)), b.file);
      expect(again.issues).toEqual([]);
      expect(again.board).toEqual(b);
    }
  });
});

describe('board registry and broken boards', () => {
  it('unknown ids are refused with the closest id, and ids never leave the boards directory', () => {
    expect(codeOf(() => loadBoard('rpi4b'))).toBe(ConfigErrorCode.BOARD_UNKNOWN);
    expect(() => loadBoard('rpi4b')).toThrow(/did you mean rpi-4b\?/);
    expect(codeOf(() => loadBoard('../package'))).toBe(ConfigErrorCode.BOARD_UNKNOWN);
    expect(codeOf(() => loadBoard('x', join(tmp, 'missing')))).toBe(FileErrorCode.FILE_NOT_FOUND);
  });

  const base = () => boardToJson(loadBoard('rpi-cm4-rs485')) as any;
  const issuesOf = (b: unknown, file = 'rpi-cm4-rs485.json') => checkBoardText(JSON.stringify(b, null, 2), file).issues.map((i) => [i.path, i.expected, i.fix] as const);

  it('reports each problem with its path: duplicate port, unknown port, impossible kind, missing direction, id/file mismatch', () => {
    const b = base();
    b.ports[1].id = 'rs485-1';
    b.slots[0].port = 'rs485-3';
    b.slots[3].kinds = ['mqtt-bridge'];
    b.ports[0].rs485 = { direction: 'none' };
    b.id = 'other';
    const got = issuesOf(b);
    const paths = got.map((g) => g[0]);
    expect(paths).toEqual(expect.arrayContaining(['id', 'ports[1].id', 'slots[0].port', 'slots[3].kinds[0]', 'ports[0].rs485.direction']));
    expect(got.find((g) => g[0] === 'slots[0].port')![2]).toBe('did you mean rs485-1?');
    expect(got.find((g) => g[0] === 'slots[3].kinds[0]')![2]).toMatch(/MQTT needs a net port/);
    expect(got.find((g) => g[0] === 'id')![2]).toMatch(/rename the file to other\.json/);
  });

  it('arch: an unknown architecture, a repeat and an empty list are refused at their paths', () => {
    const b = base();
    b.arch = ['arm64', 'riscv64', 'arm64'];
    const got = issuesOf(b);
    expect(got.map((g) => g[0])).toEqual(expect.arrayContaining(['arch[1]', 'arch[2]']));
    expect(got.find((g) => g[0] === 'arch[1]')![1]).toMatch(/x64\|arm64\|arm/);
    b.arch = [];
    expect(issuesOf(b).map((g) => g[0])).toContain('arch');
  });

  it('serial settings on a net port and a port without a device are refused', () => {
    const b = base();
    const net = b.ports.find((p: any) => p.kind === 'net');
    net.bauds = [9600];
    delete b.ports[0].device;
    const paths = issuesOf(b).map((g) => g[0]);
    expect(paths).toContain(`ports[${b.ports.indexOf(net)}].bauds`);
    expect(paths).toContain('ports[0].device');
  });

  it('a board directory passed explicitly is used (listBoards over a copy)', () => {
    const b = base();
    b.id = 'my-carrier';
    writeFileSync(join(tmp, 'my-carrier.json'), JSON.stringify(b));
    expect(listBoards(tmp).map((x) => x.id)).toEqual(['my-carrier']);
    writeFileSync(join(tmp, 'broken.json'), '{"kind": "uzp-gw/board",}');
    expect(codeOf(() => loadBoard('broken', tmp))).toBe(CommonCode.CONFIG_INVALID);
    expect(() => loadBoard('broken', tmp)).toThrow(/broken\.json:1: \(top level\): expected valid JSON/);
  });

  it('a board file that is a directory is named as one, not as an unknown board the list then names', () => {
    // It was: `board: expected a known board (virtual), got "virtual"; did you mean virtual?`
    const dir = join(tmp, 'dir-board');
    mkdirSync(join(dir, 'virtual.json'), { recursive: true });
    const file = join(dir, 'virtual.json');
    expect(codeOf(() => loadBoard('virtual', dir))).toBe(ConfigErrorCode.BOARD_NOT_A_FILE);
    expect(() => loadBoard('virtual', dir)).toThrow(`${file}: expected a board profile file, got a directory; remove or rename it`);
    const r = checkConfigText(JSON.stringify(virtualConfig()), join(dir, 'gw.json'), { boardsDir: dir, checkFiles: false });
    expect(r.issues.map((i) => [i.path, i.expected, i.found, i.fix])).toEqual([
      ['board', `a board profile file at ${file}`, 'a directory', 'remove or rename it and put the board profile (a JSON file) there, or reinstall the package for a shipped board'],
    ]);
  });
});
