// Board device_glob patterns: the same answers as the shell-style RegExp they replaced, and a
// pattern with many stars against a path it misses is answered at once (the RegExp backtracked
// exponentially: 10 stars against a 40-character name took over a minute).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BOARDS_DIR, checkConfigText } from '../../src/config/index.js';
import { globMatches } from '../../src/config/glob.js';
import { edit } from './fixtures.js';

/** The translation the board check used before (fine for a few stars; the reference here). */
function viaRegExp(glob: string, path: string): boolean {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`).test(path);
}

const tmp = mkdtempSync(join(tmpdir(), 'uzp-glob-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('globMatches', () => {
  it('answers as the RegExp translation did: * and ? within one path segment (property)', () => {
    const glob = fc.string({ unit: fc.constantFrom('*', '?', '/', 'a', 'b', '.', '+'), maxLength: 10 });
    const path = fc.string({ unit: fc.constantFrom('/', 'a', 'b', '.', '+', '*'), maxLength: 12 });
    fc.assert(
      fc.property(glob, path, (g, p) => {
        expect(globMatches(g, p)).toBe(viaRegExp(g, p));
      }),
      { numRuns: 20_000 },
    );
    expect(globMatches('/dev/ttyUSB*', '/dev/ttyUSB0')).toBe(true);
    expect(globMatches('/dev/serial/by-id/*', '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0')).toBe(true);
    expect(globMatches('/dev/*', '/dev/serial/by-id/x')).toBe(false);
    expect(globMatches('/dev/tty??', '/dev/ttyS0')).toBe(true);
    expect(globMatches('/dev/tty??', '/dev/ttyS')).toBe(false);
  });

  it('a board pattern of 40 stars against a 60-character port_path it misses: checked at once', { timeout: 20_000 }, () => {
    const board = JSON.parse(readFileSync(join(BOARDS_DIR, 'generic-linux.json'), 'utf8'));
    for (const p of board.ports) if (p.device_glob !== undefined) p.device_glob = ['/dev/' + '*'.repeat(40) + 'x'];
    writeFileSync(join(tmp, 'generic-linux.json'), JSON.stringify(board));
    const cfg = edit((c) => {
      c.board = 'generic-linux';
      delete c.virtual_dir;
      c.slots = { 'usb-1': { port_path: '/dev/' + 'a'.repeat(60), device: { id: 'raw-1', driver: 'serial-raw', serial: { baud: 9600 } } } };
    });
    const r = checkConfigText(JSON.stringify(cfg, null, 2), join(tmp, 'gw.json'), { boardsDir: tmp, checkFiles: false });
    expect(r.issues.filter((i) => i.severity === 'error').map((i) => [i.path, i.expected])).toEqual([['slots.usb-1.port_path', `a path matching /dev/${'*'.repeat(40)}x`]]);
  });
});
