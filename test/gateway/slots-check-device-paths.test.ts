// `uzpgw slots check` run on the gateway warns about serial devices that are missing there or not
// readable+writable by the user running it, with the fix (issue #10) — and only when files are
// checked. The built CLI as a real process, real PTYs (socat) as the devices. The permission case
// runs the CLI as another user: as root, `nobody` (root may open anything); otherwise the PTY's
// mode is cleared for its owner.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { CLI } from '../helpers/processes.js';
import { ConfigDir, virtualConfig } from '../config/fixtures.js';

interface Issue {
  readonly severity: string;
  readonly path: string;
  readonly found: string;
  readonly fix: string;
}

function slotsCheck(args: string[], as?: { uid: number; gid: number }): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, 'slots', 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(as ?? {}) });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

async function issues(args: string[], as?: { uid: number; gid: number }): Promise<{ code: number | null; list: Issue[] }> {
  const r = await slotsCheck([...args, '--json'], as);
  if (!r.out.startsWith('{')) throw new Error(`slots check printed no JSON (exit ${r.code}): ${r.err}`);
  return { code: r.code, list: (JSON.parse(r.out) as { issues: Issue[] }).issues };
}

const devicePaths = (list: Issue[]): Issue[] => list.filter((i) => i.severity === 'warning' && /^slots\.(rs485-1|tty-1|tty-2|uart4)(\.port_path)?$/.test(i.path));

const files = new ConfigDir();
const lines: VirtualLine[] = [];
let cfg: string;

beforeAll(() => {
  chmodSync(files.dir, 0o755); // readable by the other user of the permission case
  cfg = files.write('gw.json', virtualConfig());
});

afterAll(async () => {
  for (const l of lines) await l.close();
  files.remove();
});

describe('slots check: serial devices on this machine', () => {
  it('missing devices are warnings with what makes them (exit 0); --no-file-check skips them', async () => {
    const r = await issues(['--config', cfg]);
    expect(r.code).toBe(0);
    const w = devicePaths(r.list);
    expect(w.map((i) => i.path).sort()).toEqual(['slots.rs485-1', 'slots.tty-1', 'slots.tty-2']);
    for (const i of w) {
      expect(i.found).toMatch(/\/pty\/(rs485-1|tty-1|tty-2) does not exist$/);
      expect(i.fix).toMatch(/start it first/);
    }
    const text = await slotsCheck(['--config', cfg]);
    expect(text.out).toMatch(/warning: slots\.tty-1: expected serial device .*\/pty\/tty-1 present and readable\+writable by this user/);
    expect(devicePaths((await issues(['--config', cfg, '--no-file-check'])).list)).toEqual([]);
  });

  it('devices that exist and may be opened: no warning', async () => {
    mkdirSync(join(files.dir, 'pty'));
    for (const name of ['rs485-1', 'tty-1', 'tty-2']) lines.push(await VirtualLine.open({ baud: 9600, dir: join(files.dir, 'pty'), name }));
    expect(devicePaths((await issues(['--config', cfg])).list)).toEqual([]);
  });

  it('a device this user may not open: a warning naming the user and the dialout group', async () => {
    expect(lines).toHaveLength(3);
    const root = process.getuid?.() === 0;
    if (!root) for (const l of lines) chmodSync(realpathSync(l.path), 0);
    const r = await issues(['--config', cfg], root ? { uid: 65534, gid: 65534 } : undefined);
    expect(r.code).toBe(0);
    const w = devicePaths(r.list);
    expect(w).toHaveLength(3);
    for (const i of w) {
      expect(i.found).toMatch(/is not readable and writable by \S+ \(uid \d+\)$/);
      expect(i.fix).toMatch(/dialout/);
    }
  });

  it.skipIf(existsSync('/dev/ttyAMA4'))('a disabled UART of a real board: the fix names its config.txt line', async () => {
    const c = virtualConfig();
    c.board = 'rpi-4b';
    delete c.virtual_dir;
    c.slots = { uart4: { device: { id: 'sensor-7', driver: 'serial-line', serial: { baud: 9600 } } } };
    const r = await issues(['--config', files.write('pi.json', c)]);
    expect(r.code).toBe(0);
    const [w] = devicePaths(r.list);
    expect(w).toMatchObject({ path: 'slots.uart4', found: '/dev/ttyAMA4 does not exist' });
    expect(w!.fix).toMatch(/add `dtoverlay=uart4` to config\.txt .* and reboot/);
  });
});
