// The README's "A trust domain and an RN in five minutes" section, run as written (issue #10: docs
// that were wrong). The shell block is taken from README.md itself, placeholders (<alice cid>,
// <gw-17 cid>, <rn public hex>) are filled from the keys the block's own commands made, the RN's
// port is a free one, and every line runs in bash in a temporary directory with the README's own
// PATH line. The last line (the RN) must print its listening line; then the revoke sentence runs.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKeyFile } from '../../src/files/keyfile.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { freeLoopbackPort } from '../helpers/free-port.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'uzp-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first ```sh block after `heading`, as commands (continuations joined, comments and blanks dropped). */
function shellBlock(heading: string): string[] {
  const from = README.indexOf(heading);
  expect(from, heading).toBeGreaterThan(0);
  const m = /```sh\n([\s\S]*?)\n```/.exec(README.slice(from))!;
  return m[1]!
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}


function bash(line: string): string {
  // The README's PATH line is part of every command here: it is what makes `uzpgw` resolve.
  return execFileSync('bash', ['-euo', 'pipefail', '-c', line], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH: process.env.PATH ?? '' }, timeout: 60_000 });
}

describe('README: a trust domain and an RN in five minutes', () => {
  it('runs as written, and the RN it starts listens', async () => {
    const lines = shellBlock('## A trust domain and an RN in five minutes');
    const [pathLine, ...commands] = lines;
    expect(pathLine).toMatch(/^export PATH="\$PWD\/scripts:\$PATH"/);
    // $PWD in the README means the checkout: say so for the temporary directory.
    const prelude = `export PATH="${join(REPO, 'scripts')}:$PATH";`;
    const port = String(await freeLoopbackPort());
    const fill = (l: string): string => {
      const key = (f: string) => loadKeyFile(p, join(dir, f));
      return l
        .replaceAll('7443', port)
        .replaceAll('<rn public hex>', () => toHex(key('rn.key').publicKey))
        .replaceAll('<alice cid>', () => toHex(key('op.key').cid))
        .replaceAll('<gw-17 cid>', () => toHex(key('gw.key').cid));
    };
    const rnLine = commands.pop()!;
    expect(rnLine).toMatch(/^uzpgw rn --listen /);
    for (const c of commands) bash(`${prelude} ${fill(c)}`);
    expect(JSON.parse(bash(`${prelude} uzpgw pantheon show alice-gw17.grant --dir domain --json`))).toMatchObject({ type: 'grant', signature: 'valid', body: { scopes: [{ slot: 'rs485-1' }, { slot: 'tty-1' }, { slot: 'net-1' }] } });

    const rn = spawn('bash', ['-c', `${prelude} exec ${fill(rnLine)}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const listening = await new Promise<string>((resolve, reject) => {
        let out = '';
        rn.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const hit = out.split('\n').find((l) => l.includes('"listening"'));
          if (hit !== undefined) resolve(hit);
        });
        rn.once('exit', (code) => reject(new Error(`rn exited ${code}: ${out}`)));
      });
      expect(JSON.parse(listening)).toMatchObject({ event: 'listening', address: `127.0.0.1:${port}` });
    } finally {
      rn.kill('SIGTERM');
    }

    // The revoke sentence below the block, as written.
    const revoke = /`(uzpgw pantheon revoke --dir domain --cid <cid> --out\s+revocations\.uzp)`/.exec(README)![1]!.replace(/\s+/g, ' ');
    bash(`${prelude} ${revoke.replace('<cid>', toHex(loadKeyFile(p, join(dir, 'op.key')).cid))}`);
    expect(JSON.parse(bash(`${prelude} uzpgw pantheon show revocations.uzp --dir domain --json`))).toMatchObject({ type: 'revocation', signature: 'valid' });
  }, 120_000);
});
