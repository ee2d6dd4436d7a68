// `connect --por-log FILE` (src/cli/connect.ts): the path is checked before any file is read or any
// network is tried, as `hil run --junit` checks its report path (report-path.ts). Before, a
// directory or a path in a missing directory was found at the first PoR, as one por_log_failed line
// while the session went on and exited 0 without the records asked for. A FIFO is refused only when
// nobody reads it (36e8cd1 refused every one, and `--por-log /dev/stderr` piped or `>(cat)` with it).

import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-por-log-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Session files that do not exist: the --por-log check must answer before any of them is read.
const SESSION = ['--key', join(dir, 'op.key'), '--pcert', join(dir, 'op.pcert'), '--trust', join(dir, 'trust.json'), '--rn-set', join(dir, 'rn-set'), '--grant', join(dir, 'grant'), '--gateway', 'ab'.repeat(32), '--slot', 'tty-1'];

describe('uzpgw connect --por-log PATH', () => {
  it('a directory, a path in a missing directory, a FIFO: exit 2 before any file is read, naming the flag and the fix', async () => {
    const fifo = join(dir, 'por.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [path, why] of [
      [dir, /is a directory; give a file path/],
      [join(dir, 'missing', 'por.jsonl'), /the directory .*missing does not exist; make it/],
      [fifo, /is a named pipe \(FIFO\)/],
    ] as const) {
      for (const mode of ['tail', 'serial']) {
        const r = await runCli('connect', mode, ...SESSION, '--por-log', path);
        expect(r.code, r.err).toBe(2);
        expect(r.err).toMatch(new RegExp(`^uzpgw connect ${mode}: --por-log ${path.replaceAll('.', '\\.')}: `));
        expect(r.err).toMatch(why);
        expect(r.err).not.toContain('op.key');
      }
    }
  });

  it('a writable path passes the check: the command goes on to read the key file (absent here: exit 1)', async () => {
    const r = await runCli('connect', 'tail', ...SESSION, '--por-log', join(dir, 'por.jsonl'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('op.key');
  });

  it('a FIFO a reader has open passes the check (as `--por-log >(cat)` does): the command goes on to the key file', async () => {
    const fifo = join(dir, 'read-por.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const r = await runCli('connect', 'tail', ...SESSION, '--por-log', fifo);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toContain('op.key');
    } finally {
      closeSync(reader);
    }
  });
});
