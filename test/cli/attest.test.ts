// `uzpgw attest verify --seen FILE`: the record of used nonces stays within the 4 MiB its next
// read accepts. A nonce is forgotten only once its evidence is older than any --max-age (so no run
// could accept it again); when the nonces it must keep fill the record, verify refuses before
// writing, and the evidence is not accepted.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signManifest } from '../../src/attest/manifest.js';
import { MAX_EVIDENCE_AGE_SECONDS, MAX_SEEN_FILE } from '../../src/attest/seen-nonces.js';
import { toHex } from '../../src/uzp/bytes.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import { Fixture, p } from '../attest/fixtures.js';
import { runCli as run } from '../helpers/cli-run.js';

const f = new Fixture();
afterAll(() => f.close());
const signer = generateIdentity(p);
const manifest = join(f.dir, 'manifest.cbor');
let n = 0;

beforeAll(async () => {
  writeFileSync(manifest, signManifest(p, signer.signer, await f.reference()));
});

/** Fresh evidence for a new nonce; the args of `attest verify` for it against `seen`. */
async function verifyArgs(seen: string): Promise<string[]> {
  const nonce = (++n).toString(16).padStart(32, '0');
  const file = join(f.dir, `ev-${n}.cbor`);
  writeFileSync(file, await f.attester().evidence(Buffer.from(nonce, 'hex')));
  return ['attest', 'verify', '--evidence', file, '--nonce', nonce, '--manifest', manifest, '--manifest-signer', toHex(signer.cid), '--gateway', toHex(f.id.cid), '--seen', seen, '--json'];
}

const eatNonce = (out: string): string | undefined => (JSON.parse(out) as { claims: { claim: string; status: string }[] }).claims.find((c) => c.claim === 'eat_nonce')?.status;
const fakeNonce = (i: number): string => `e${i.toString(16).padStart(31, '0')}`;
const nowS = (): number => Math.floor(Date.now() / 1000);

describe('attest verify --seen: a bounded record', () => {
  it('a record full of nonces it must keep refuses before writing: the evidence is not accepted and the file still reads', async () => {
    const seen = join(f.dir, 'full.json');
    const entry = JSON.stringify([fakeNonce(0), nowS()]).length + 1;
    // As many as fit: one more entry of the same size would pass the cap.
    const entries = Array.from({ length: Math.floor((MAX_SEEN_FILE - 2) / entry) }, (_, i) => [fakeNonce(i), nowS() - 60]);
    writeFileSync(seen, JSON.stringify(entries) + '\n');
    const before = readFileSync(seen);
    const r = await run(...(await verifyArgs(seen)));
    expect(r.code, r.err).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/the record of used nonces is full .*the first can be forgotten at \d{4}-.*\[NONCE_RECORD_FULL\]\n$/);
    expect(readFileSync(seen).equals(before)).toBe(true);
    // And the record is still one the next run reads (it refused the way it refused, not FILE_INVALID).
    const next = await run(...(await verifyArgs(seen)));
    expect(next.err).toMatch(/\[NONCE_RECORD_FULL\]/);
  });

  it('nonces whose evidence no --max-age accepts any more are forgotten; the rest, and the new one, are kept', async () => {
    const seen = join(f.dir, 'old.json');
    const old = nowS() - MAX_EVIDENCE_AGE_SECONDS - 10;
    const entry = JSON.stringify([fakeNonce(0), old]).length + 1;
    const entries = Array.from({ length: Math.floor((MAX_SEEN_FILE - 2) / entry) - 1 }, (_, i) => [fakeNonce(i), old]);
    entries.push([fakeNonce(1e9), nowS() - 600]);
    writeFileSync(seen, JSON.stringify(entries) + '\n');
    const args = await verifyArgs(seen);
    const r = await run(...args);
    expect(r.err).toBe('');
    expect(eatNonce(r.out)).toBe('pass');
    expect(statSync(seen).size).toBeLessThan(1024);
    const kept = (JSON.parse(readFileSync(seen, 'utf8')) as [string, number][]).map((e) => e[0]);
    expect(kept).toEqual([fakeNonce(1e9), args[args.indexOf('--nonce') + 1]]);
    const again = await run(...args);
    expect(again.code).toBe(1);
    expect(eatNonce(again.out)).toBe('fail');
  });

  it('a record of bare nonces (written before iats were kept) still reads and keeps them', async () => {
    const seen = join(f.dir, 'legacy.json');
    const args = await verifyArgs(seen);
    const nonce = args[args.indexOf('--nonce') + 1]!;
    writeFileSync(seen, JSON.stringify([fakeNonce(7), nonce]) + '\n');
    const r = await run(...args);
    expect(r.err).toBe('');
    expect(eatNonce(r.out)).toBe('fail'); // already used: a replay
    const fresh = await verifyArgs(seen);
    expect(eatNonce((await run(...fresh)).out)).toBe('pass');
    const kept = (JSON.parse(readFileSync(seen, 'utf8')) as [string, number][]).map((e) => e[0]);
    expect(kept).toEqual([fakeNonce(7), nonce, fresh[fresh.indexOf('--nonce') + 1]]);
  });
});
