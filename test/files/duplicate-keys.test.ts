// Every JSON file kind the project reads refuses a duplicated key with its own code, naming the
// file, the key and the line. Each case is built so that JSON.parse (last key wins) would accept
// the file: the first copy is the attacker's or stale value, the last one is valid.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEnrollRequest, loadEnrollRequest } from '../../src/files/enroll-request.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { readTextFileIfExists, writeJsonFileAtomic } from '../../src/files/json-file.js';
import { parseJsonText } from '../../src/files/json.js';
import { KEY_FILE_MODE, loadKeyFile } from '../../src/files/keyfile.js';
import { loadTrustAnchor } from '../../src/files/trust-anchor.js';
import { CodedError } from '../../src/lib/errors.js';
import { emptyState, loadState, saveState, statePath } from '../../src/pantheon/state.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-dupkeys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const id = identityFromSeed(provider, new Uint8Array(32).fill(7));
const other = identityFromSeed(provider, new Uint8Array(32).fill(8));
let n = 0;

/** Writes `lines` joined by newlines to a fresh file and returns its path. */
function file(lines: readonly string[], mode = 0o644): string {
  const f = join(dir, `f-${n++}.json`);
  writeFileSync(f, lines.join('\n') + '\n', { mode });
  return f;
}

/** The error `f` threw; fails the test when it threw none or an untyped one. */
function thrown(f: () => unknown): CodedError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CodedError);
    return e as CodedError;
  }
  throw new Error('expected a duplicated key to be refused');
}

/** The message names the file with the duplicate's line, the key, the first line, and the fix. */
function expectNamed(e: CodedError, f: string, key: string, line: number, first: number): void {
  expect(e.message).toContain(`${f}:${line}: `);
  expect(e.message).toContain(`${JSON.stringify(key)} again (first at line ${first})`);
  expect(e.message).toMatch(/remove or rename one of them/);
}

describe('a duplicated key is refused', () => {
  it('in a key file: KEY_FILE_INVALID (two "seed" fields, the last one matching "public")', () => {
    const f = file(
      ['{', '  "kind": "uzp-gw/ed25519-secret",', `  "seed": "${toHex(other.seed)}",`, `  "seed": "${toHex(id.seed)}",`, `  "public": "${toHex(id.publicKey)}",`, `  "cid": "${toHex(id.cid)}"`, '}'],
      KEY_FILE_MODE,
    );
    const e = thrown(() => loadKeyFile(provider, f));
    expect(e.code).toBe(FileErrorCode.KEY_FILE_INVALID);
    expectNamed(e, f, 'seed', 4, 3);
  });

  it('in a trust anchor: FILE_INVALID (two "root_public" fields)', () => {
    const f = file(['{', '  "kind": "uzp-gw/trust-anchor",', '  "domain": "plant-7.example",', `  "root_public": "${toHex(other.publicKey)}",`, `  "root_public": "${toHex(id.publicKey)}",`, `  "root_cid": "${toHex(id.cid)}"`, '}']);
    const e = thrown(() => loadTrustAnchor(provider, f));
    expect(e.code).toBe(FileErrorCode.FILE_INVALID);
    expectNamed(e, f, 'root_public', 5, 4);
  });

  it('in an enrollment request: FILE_INVALID, not SIG_INVALID (two "role" fields, the last one signed)', () => {
    const r = createEnrollRequest(id, { name: 'op-anna', role: 'operator' });
    const f = file([
      '{',
      '  "kind": "uzp-gw/enroll-request",',
      `  "public": "${toHex(r.publicKey)}",`,
      `  "cid": "${toHex(r.cid)}",`,
      '  "name": "op-anna",',
      '  "role": "gateway",',
      '  "role": "operator",',
      `  "pop": "${toHex(r.pop)}"`,
      '}',
    ]);
    const e = thrown(() => loadEnrollRequest(provider, f));
    expect(e.code).toBe(FileErrorCode.FILE_INVALID);
    expectNamed(e, f, 'role', 7, 6);
  });

  it('in a state file read through files/json-file.ts: FILE_INVALID', () => {
    const f = join(dir, `state-${n++}.json`);
    writeJsonFileAtomic(f, { kind: 'x', counter: 1 });
    const text = readTextFileIfExists(f, 4096, 'state file')!.replace('"counter": 1', '"counter": 9,\n  "counter": 1');
    writeFileSync(f, text);
    const e = thrown(() => parseJsonText(readTextFileIfExists(f, 4096, 'state file')!, f, FileErrorCode.FILE_INVALID));
    expect(e.code).toBe(FileErrorCode.FILE_INVALID);
    expectNamed(e, f, 'counter', 4, 3);
  });

  it('in the Pantheon state: FILE_INVALID (a nested "epoch" rolled back by a second copy)', () => {
    const d = mkdtempSync(join(dir, 'pantheon-'));
    saveState(d, { ...emptyState(), rnSet: { epoch: 5, sequence: 2 } });
    const f = statePath(d);
    const text = readTextFileIfExists(f, 1 << 20, 'state')!;
    expect(text).toContain('"epoch": 5,');
    writeFileSync(f, text.replace('"epoch": 5,', '"epoch": 5,\n    "epoch": 0,'));
    const e = thrown(() => loadState(d));
    expect(e.code).toBe(FileErrorCode.FILE_INVALID);
    expect(e.message).toContain('rn_set.epoch: ');
    const line = text.split('\n').findIndex((l) => l.includes('"epoch": 5')) + 1;
    expectNamed(e, f, 'epoch', line + 1, line);
  });
});
