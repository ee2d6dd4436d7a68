// The TPM 2.0 path against a real (software) TPM: swtpm + tpm2-tools. AK creation and reopening,
// quotes that verify and quotes that must not, TPM Reset detection across quotes, and a TPM that
// is absent or silent failing fast with TPM_UNAVAILABLE.
// `UPDATE_VECTORS=1` also rewrites test/vectors/tpm-quote.json (see the test at the end).

import { stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAttest } from '../../src/attest/tpm/structures.js';
import { AK_PRIVATE_FILE, AK_PUBLIC_FILE, TpmAttester } from '../../src/attest/tpm/attester.js';
import { TpmClockStore } from '../../src/attest/tpm/clock-store.js';
import { qualifyingData } from '../../src/attest/tpm/qualifying.js';
import { runTool } from '../../src/attest/tpm/tools.js';
import { verifyQuote, type TpmClock } from '../../src/attest/tpm/verify.js';
import type { TpmQuote } from '../../src/attest/types.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { errorOf } from '../helpers/errors.js';
import { startSwtpm, type Swtpm } from '../helpers/swtpm.js';
import { AttestErrorCode } from '../../src/attest/errors.js';

const nonce = new Uint8Array(16).fill(0x11);
const otherNonce = new Uint8Array(16).fill(0x12);
const binding = new Uint8Array(32).fill(0x22);
const claims = p.blake3(new TextEncoder().encode('claims'));
const otherClaims = p.blake3(new TextEncoder().encode('other claims'));
const bootA = new Uint8Array(32).fill(0xa1);
const bootB = new Uint8Array(32).fill(0xb2);

let tpm: Swtpm;
let ak: TpmAttester;

function clockOf(q: TpmQuote): TpmClock {
  const c = decodeAttest(q.attest).clockInfo;
  return { clock: c.clock, resetCount: c.resetCount, restartCount: c.restartCount, safe: c.safe };
}

beforeAll(async () => {
  tpm = await startSwtpm();
  ak = await TpmAttester.open({ tcti: tpm.tcti, stateDir: tpm.stateDir, timeoutMs: 5_000 });
});

afterAll(async () => {
  await tpm?.stop();
});

describe('TpmAttester on swtpm', () => {
  it('produces a quote that verifies with the AK pinned', async () => {
    const qualifying = qualifyingData(p, nonce, binding, claims);
    const q = await ak.quote(qualifying);
    expect(toHex(q.attest.subarray(0, 4))).toBe('ff544347'); // bare TPMS_ATTEST, no TPM2B prefix
    expect(q.pcrs.length).toBe(8 * 32);
    expect(q.akPublic).toEqual(ak.akPublic);
    const r = verifyQuote(p, q, { qualifying, trustedAkNames: [ak.akName] });
    expect(r).toMatchObject({ ok: true, akName: ak.akName });
    expect(r.clock?.resetCount).toBeTypeOf('number');
    expect(decodeAttest(q.attest).pcrSelect).toEqual([{ hash: 0x000b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
  });

  it('keeps the AK in 0600 files and reopens the same AK', async () => {
    for (const f of [AK_PUBLIC_FILE, AK_PRIVATE_FILE]) expect((await stat(join(tpm.stateDir, f))).mode & 0o777).toBe(0o600);
    const again = await TpmAttester.open({ tcti: tpm.tcti, stateDir: tpm.stateDir, timeoutMs: 5_000 });
    expect(again.akName).toEqual(ak.akName);
    expect(again.akPublic).toEqual(ak.akPublic);
    expect(ak.akName.length).toBe(34);
  });

  it('serializes concurrent quotes', async () => {
    const qs = [1, 2, 3].map((i) => qualifyingData(p, new Uint8Array(8).fill(i), undefined, claims));
    const quotes = await Promise.all(qs.map((x) => ak.quote(x)));
    quotes.forEach((q, i) => expect(verifyQuote(p, q, { qualifying: qs[i]!, trustedAkNames: [ak.akName] }).ok).toBe(true));
  });

  it('refuses a quote for another nonce, other claims or an untrusted AK', async () => {
    const q = await ak.quote(qualifyingData(p, nonce, binding, claims));
    const wrongNonce = verifyQuote(p, q, { qualifying: qualifyingData(p, otherNonce, binding, claims), trustedAkNames: [ak.akName] });
    expect(wrongNonce).toMatchObject({ ok: false, reason: 'qualifying data does not match: wrong nonce, binding or claims' });
    const wrongClaims = verifyQuote(p, q, { qualifying: qualifyingData(p, nonce, binding, otherClaims), trustedAkNames: [ak.akName] });
    expect(wrongClaims).toMatchObject({ ok: false, reason: 'qualifying data does not match: wrong nonce, binding or claims' });
    const unbound = verifyQuote(p, q, { qualifying: qualifyingData(p, nonce, undefined, claims) });
    expect(unbound.ok).toBe(false);

    // A second, genuine AK on the same TPM: valid quote, but not the enrolled key.
    const other = await TpmAttester.open({ tcti: tpm.tcti, stateDir: join(tpm.stateDir, 'other'), timeoutMs: 5_000 });
    expect(other.akName).not.toEqual(ak.akName);
    const q2 = await other.quote(qualifyingData(p, nonce, binding, claims));
    expect(verifyQuote(p, q2, { qualifying: qualifyingData(p, nonce, binding, claims), trustedAkNames: [ak.akName] })).toMatchObject({ ok: false, reason: 'AK not trusted' });
    // Someone else's quote presented with our AK's public area: the signature gives it away.
    expect(verifyQuote(p, { ...q2, akPublic: ak.akPublic }, { qualifying: qualifyingData(p, nonce, binding, claims) })).toMatchObject({ ok: false, reason: 'signature does not verify with the AK' });
  });

  it('rejects bad qualifying data lengths before touching the TPM', async () => {
    await expect(ak.quote(new Uint8Array(0))).rejects.toThrow(RangeError);
    await expect(ak.quote(new Uint8Array(65))).rejects.toThrow(RangeError);
  });

  it('detects a TPM reset between two quotes that claim the same boot', async () => {
    const store = new TpmClockStore();
    const qualifying = qualifyingData(p, nonce, undefined, claims);
    const q1 = await ak.quote(qualifying);
    const c1 = verifyQuote(p, q1, { qualifying, trustedAkNames: [ak.akName] }).clock!;
    expect(store.check(ak.akName, bootA, c1).ok).toBe(true);
    store.commit(ak.akName, bootA, c1);

    const q1b = await ak.quote(qualifying);
    const c1b = clockOf(q1b);
    expect(store.check(ak.akName, bootA, c1b).ok).toBe(true); // same boot, clock moved on
    store.commit(ak.akName, bootA, c1b);
    // The earlier quote replayed after the later one: the clock went backwards within one boot.
    expect(store.check(ak.akName, bootA, c1).reason).toMatch(/^TPM clock went backwards/);

    await tpm.restart(); // power cut: no TPM2_Shutdown, so Startup(CLEAR) is a TPM Reset
    const q2 = await ak.quote(qualifying); // the AK reloads from its files after the reset
    const c2 = verifyQuote(p, q2, { qualifying, trustedAkNames: [ak.akName] }).clock!;
    // The counters of an owner-hierarchy AK are offset by a per-key constant (see clock-store.ts), mod 2^32.
    expect(c2.resetCount).toBe((c1.resetCount + 1) >>> 0);
    expect(store.check(ak.akName, bootA, c2)).toEqual({
      ok: false,
      reason: `TPM reset/restarted (resetCount ${c1.resetCount} -> ${c2.resetCount}) but the gateway claims the same boot`,
    });
    expect(store.check(ak.akName, bootB, c2).ok).toBe(true);
  });
});

describe('a TPM that is not there', () => {
  let silent: Server | undefined;
  afterAll(async () => {
    await new Promise<void>((r) => (silent ? silent.close(() => r()) : r()));
  });

  async function unusedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('fails with TPM_UNAVAILABLE on a closed port, at once', async () => {
    const t0 = Date.now();
    const e = await errorOf(TpmAttester.open({ tcti: `swtpm:host=127.0.0.1,port=${await unusedPort()}`, stateDir: join(tpm.stateDir, 'closed'), timeoutMs: 2_000 }));
    expect(e.code).toBe(AttestErrorCode.TPM_UNAVAILABLE);
    expect(e.message).toMatch(/cannot reach the TPM at swtpm:host=127\.0\.0\.1.*(refused|connect)/i);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('fails with TPM_UNAVAILABLE when the TPM never answers, after the timeout', async () => {
    // Accepts connections and says nothing: without the timeout the tool would wait forever.
    silent = createServer(() => undefined);
    await new Promise<void>((r) => silent!.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const t0 = Date.now();
    const e = await errorOf(TpmAttester.open({ tcti: `swtpm:host=127.0.0.1,port=${port}`, stateDir: join(tpm.stateDir, 'silent'), timeoutMs: 300 }));
    expect(e.code).toBe(AttestErrorCode.TPM_UNAVAILABLE);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it('fails with TPM_UNAVAILABLE when a tool is missing, TPM_FAILED with the tool and its error otherwise', async () => {
    const o = { tcti: tpm.tcti, timeoutMs: 2_000, cwd: tpm.stateDir };
    expect((await errorOf(runTool('tpm2_no_such_tool', [], o))).code).toBe(AttestErrorCode.TPM_UNAVAILABLE);
    const e = await errorOf(runTool('tpm2_createprimary', ['-C', 'o', '-G', 'no-such-alg'], o));
    expect(e.code).toBe(AttestErrorCode.TPM_FAILED);
    expect(e.message).toMatch(/^tpm2_createprimary failed \(exit \d+\): \S/);
    expect(e.message).not.toMatch(/Unable to run/);
  });

  it('refuses AK files from another TPM with TPM_FAILED (a cleared TPM is a new TPM)', async () => {
    await tpm.restart({ clean: true });
    const e = await errorOf(TpmAttester.open({ tcti: tpm.tcti, stateDir: tpm.stateDir, timeoutMs: 5_000 }));
    expect(e.code).toBe(AttestErrorCode.TPM_FAILED);
    expect(e.message).toMatch(/does not load on this TPM/);
  });
});

// Rewrites test/vectors/tpm-quote.json from a fresh swtpm; run only with UPDATE_VECTORS=1.
it.runIf(process.env.UPDATE_VECTORS === '1')('writes test/vectors/tpm-quote.json', async () => {
  const fresh = await startSwtpm();
  try {
    const o = { tcti: fresh.tcti, timeoutMs: 5_000, cwd: fresh.stateDir };
    // Non-zero PCRs, so the vector's pcrDigest covers real values.
    await runTool('tpm2_pcrextend', [`0:sha256=${'01'.repeat(32)}`], o);
    await runTool('tpm2_pcrextend', [`7:sha256=${'07'.repeat(32)}`], o);
    const a = await TpmAttester.open({ tcti: fresh.tcti, stateDir: fresh.stateDir, timeoutMs: 5_000 });
    const vNonce = Uint8Array.from({ length: 16 }, (_, i) => i);
    const vBinding = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
    const vClaims = p.blake3(new TextEncoder().encode('uzp-gateway tpm-quote vector claims'));
    const qualifying = qualifyingData(p, vNonce, vBinding, vClaims);
    const q = await a.quote(qualifying);
    const c = clockOf(q);
    const out = {
      source:
        'generated by test/attest/tpm-swtpm.test.ts with UPDATE_VECTORS=1: swtpm 0.7.1 (socket --tpm2, fresh state) + tpm2-tools 5.4; ' +
        'PCR 0 extended with 32 x 0x01 and PCR 7 with 32 x 0x07; AK created by TpmAttester (restricted ECC P-256 ECDSA-SHA256 under an owner ECC primary); ' +
        'quote = tpm2_quote -l sha256:0,1,2,3,4,5,6,7 -q <qualifying> -m (TPMS_ATTEST) -s -f tss (TPMT_SIGNATURE) -o -F values (8 x 32-byte PCR values). ' +
        'qualifying = qualifyingData(nonce, binding, claimsDigest); akName = 000b || SHA-256(TPMT_PUBLIC), equal to the name tpm2_load -n reported. All hex.',
      nonce: toHex(vNonce),
      binding: toHex(vBinding),
      claimsDigest: toHex(vClaims),
      qualifying: toHex(qualifying),
      akPublic: toHex(q.akPublic),
      akName: toHex(a.akName),
      attest: toHex(q.attest),
      signature: toHex(q.signature),
      pcrs: toHex(q.pcrs),
      clock: { clock: c.clock.toString(), resetCount: c.resetCount, restartCount: c.restartCount, safe: c.safe },
    };
    await writeFile(fileURLToPath(new URL('../vectors/tpm-quote.json', import.meta.url)), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await fresh.stop();
  }
});
