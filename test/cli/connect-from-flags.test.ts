// `uzpgw connect tail --from-epoch E --from-seq N` (src/cli/connect.ts; PROFILE §HIL "Resuming a
// tail": from_epoch and from_seq go together on the wire, so they do on the command line). Run as
// the built CLI (dist/, `npm run build` first): one of the two alone is a usage error, exit 2,
// before any file is read or any network is tried; both together go on to the session files.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, stopAll } from '../helpers/processes.js';

// Files that do not exist: the usage check must answer before any of them is read.
const dir = mkdtempSync(join(tmpdir(), 'uzp-connect-from-'));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});
const SESSION = ['--key', 'op.key', '--pcert', 'op.pcert', '--trust', 'trust.json', '--rn-set', 'rn-set', '--grant', 'grant', '--gateway', 'ab'.repeat(32), '--slot', 'rs485-1'];

async function connectTail(...extra: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = spawnCli(['connect', 'tail', ...SESSION, ...extra], { cwd: dir });
  const { code } = await c.exited;
  return { code, out: c.stdout(), err: c.stderr() };
}

describe('uzpgw connect tail --from-epoch / --from-seq', () => {
  it('--from-epoch without --from-seq: exit 2, one line naming both flags, nothing on stdout', async () => {
    const r = await connectTail('--from-epoch', '3');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toContain('--from-epoch');
    expect(r.err).toContain('--from-seq');
    expect(r.err).toContain('[USAGE]');
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('--from-seq without --from-epoch: the same usage error', async () => {
    const r = await connectTail('--from-seq', '18');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--from-epoch.*--from-seq/);
  });

  it('both together pass the check: the command goes on to read the key file (absent here: exit 1, not 2)', async () => {
    const r = await connectTail('--from-epoch', '3', '--from-seq', '18');
    expect(r.code).toBe(1);
    expect(r.err).toContain('op.key');
    expect(r.err).not.toContain('[USAGE]');
  });
});
