// What docs/HIL.md (and `hil equipment --help`) tell a user to do to run their gateway on a real
// board's config against `hil equipment`'s PTYs: not port_path (the loader takes only /dev paths
// there), but a copy of the board profile whose ports point at {virtual_dir}/<slot>, virtual_dir set
// to the equipment directory, and --boards-dir. The loader must accept exactly that.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-board-copy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLE = 'docs/examples/hil/rpi-4b/gateway.json';

describe('hil equipment with a real board: the documented recipe', () => {
  it('port_path at a PTY is refused; a board copy with {virtual_dir}/<slot> devices and --boards-dir is accepted', () => {
    const config = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { slots: Record<string, Record<string, unknown>>; virtual_dir?: string };
    const pty = join(dir, 'pty');
    const withPortPath = structuredClone(config);
    withPortPath.slots.uart0!.port_path = join(pty, 'uart0');
    writeFileSync(join(dir, 'port-path.json'), JSON.stringify(withPortPath));
    expect(() => loadGatewayConfig(join(dir, 'port-path.json'), { checkFiles: false })).toThrow(ConfigError);

    const boards = join(dir, 'boards');
    mkdirSync(boards);
    const board = JSON.parse(readFileSync('boards/rpi-4b.json', 'utf8')) as { ports: Record<string, unknown>[] };
    for (const p of board.ports) {
      if (p.id !== 'uart0' && p.id !== 'uart2') continue;
      p.device = `{virtual_dir}/${String(p.id)}`;
      delete p.device_glob;
      delete p.aliases;
    }
    writeFileSync(join(boards, 'rpi-4b.json'), JSON.stringify(board));
    writeFileSync(join(dir, 'gateway.json'), JSON.stringify({ ...config, virtual_dir: pty }));
    const loaded = loadGatewayConfig(join(dir, 'gateway.json'), { checkFiles: false, boardsDir: boards });
    expect(loaded.slots.map((s) => [s.id, s.port.path])).toEqual([
      ['uart0', join(pty, 'uart0')],
      ['uart2', join(pty, 'uart2')],
    ]);
  });
});
