// What the bundle measurement counts (src/attest/bundle.ts): the console's web/ is measured, and an
// entry that is neither a file, a symlink nor a directory (a FIFO, a socket) is measured as what it
// is, so it changes the root. Before, such entries were skipped without a trace: a FIFO named like a
// module (loadable by name) or a changed web/index.html left the evidence's root as it was.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureBundle } from '../../src/attest/bundle.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';

const base = mkdtempSync(join(tmpdir(), 'uzp-measure-entries-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

function bundle(): string {
  const dir = join(base, `b-${++n}`);
  mkdirSync(join(dir, 'dist/cli'), { recursive: true });
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(join(dir, 'dist/cli/main.js'), 'console.log(1)\n');
  writeFileSync(join(dir, 'web/index.html'), '<!doctype html>\n');
  writeFileSync(join(dir, 'package.json'), '{}\n');
  return dir;
}

const rootOf = async (dir: string): Promise<string> => toHex((await measureBundle(provider, dir)).root);

describe('bundle measurement entries', () => {
  it('web/ is measured: a changed page changes the root', async () => {
    const dir = bundle();
    const before = await rootOf(dir);
    writeFileSync(join(dir, 'web/index.html'), '<!doctype html><script src="//evil"></script>\n');
    expect(await rootOf(dir)).not.toBe(before);
  });

  it('a FIFO in the tree is measured as one (it changes the root), and measuring does not wait on it', async () => {
    const dir = bundle();
    const before = await rootOf(dir);
    expect(spawnSync('mkfifo', [join(dir, 'dist/cli/helper.js')]).status).toBe(0);
    const m = await measureBundle(provider, dir);
    expect(toHex(m.root)).not.toBe(before);
    expect(m.files).toBe(4);
  });
});
