// Evidence with a TPM-held attestation key (swtpm + tpm2-tools): the quote covers exactly these
// claims, a TPM-requiring policy accepts it only with the AK pinned, and the gateway's attestation
// setup follows the config's tpm mode.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appraise, type AppraisalContext } from '../../src/attest/appraise.js';
import { Attester } from '../../src/attest/attester.js';
import { decodeEvidence, signEvidence } from '../../src/attest/evidence.js';
import { NonceStore } from '../../src/attest/nonces.js';
import { TpmAttester } from '../../src/attest/tpm/attester.js';
import { TpmClockStore } from '../../src/attest/tpm/clock-store.js';
import type { AppraisalResult, ReferenceManifest } from '../../src/attest/types.js';
import { createAttester } from '../../src/gateway/attestation.js';
import { attestInputOf } from '../../src/config/attest-input.js';
import { toHex } from '../../src/uzp/bytes.js';
import { errorOf } from '../helpers/errors.js';
import { startSwtpm, type Swtpm } from '../helpers/swtpm.js';
import { Fixture, p } from './fixtures.js';

let tpm: Swtpm;
let f: Fixture;
let ak: TpmAttester;
let reference: ReferenceManifest;
const binding = new Uint8Array(32).fill(5);

function failures(r: AppraisalResult): string[] {
  return r.claims.filter((c) => c.status === 'fail').map((c) => `${c.claim}: ${c.reason}`);
}

beforeAll(async () => {
  tpm = await startSwtpm();
  f = new Fixture();
  ak = await TpmAttester.open({ tcti: tpm.tcti, stateDir: join(f.dir, 'state') });
  reference = await f.reference();
}, 60_000);

afterAll(async () => {
  await tpm?.stop();
  f?.close();
});

function attesterOptions() {
  const { config, board } = f.config();
  return {
    provider: p,
    cid: f.id.cid,
    signer: f.id.signer,
    input: attestInputOf(config, board, p),
    bundleDir: f.bundleDir,
    runtimePath: f.runtimePath,
    tpm: ak,
    bootIdPath: join(f.dir, 'boot-id-fixed'),
  };
}

function attester() {
  return new Attester(attesterOptions());
}

describe('evidence with a TPM quote', () => {
  it('key_origin tpm; passes a TPM-requiring policy with the AK pinned, fails without the pin or with another AK', async () => {
    f.write('boot-id-fixed', 'f00dfeed-0000-4000-8000-000000000001\n');
    const nonces = new NonceStore(p);
    const ctx = (): AppraisalContext => ({ nonce: { store: nonces }, binding });
    const bytes = await attester().evidence(nonces.issue(), binding);
    const ev = decodeEvidence(p, bytes);
    expect(ev.claims.key_origin).toBe('tpm');
    expect(toHex(ev.tpm!.akPublic)).toBe(toHex(ak.akPublic));
    const ok = appraise(p, bytes, reference, { requireTpm: true, trustedAks: [{ name: ak.akName }] }, ctx());
    expect(failures(ok)).toEqual([]);
    expect(ok.claims.find((c) => c.claim === 'key_origin')!.reason).toMatch(/^TPM quote by AK [0-9a-f]{16}… covers nonce, binding and claims$/);
    const unpinned = appraise(p, await attester().evidence(nonces.issue(), binding), reference, { requireTpm: true }, ctx());
    expect(failures(unpinned)).toEqual([expect.stringMatching(/^key_origin: TPM quote verifies, but no trusted AK is configured/)]);
    const otherAk = appraise(p, await attester().evidence(nonces.issue(), binding), reference, { requireTpm: true, trustedAks: [{ name: new Uint8Array(34).fill(1) }] }, ctx());
    expect(failures(otherAk)).toEqual([expect.stringMatching(/^key_origin: TPM quote rejected: .*not trusted/i)]);
  }, 60_000);

  it('an AK pinned to its gateway vouches for that gateway only; trusted AKs require a quote even without requireTpm', async () => {
    const nonces = new NonceStore(p);
    const ctx = (): AppraisalContext => ({ nonce: { store: nonces }, binding });
    const other = new Uint8Array(32).fill(7);
    const pinned = appraise(p, await attester().evidence(nonces.issue(), binding), reference, { trustedAks: [{ name: ak.akName, gateway: f.id.cid }] }, ctx());
    expect(failures(pinned)).toEqual([]);
    // The same AK enrolled for another gateway: a thief of this gateway's identity key with the use
    // of that gateway's TPM must not pass as this gateway.
    const elsewhere = appraise(p, await attester().evidence(nonces.issue(), binding), reference, { trustedAks: [{ name: ak.akName, gateway: other }] }, ctx());
    expect(failures(elsewhere)).toEqual([`key_origin: TPM quote by AK ${toHex(ak.akName).slice(0, 16)}…, which is enrolled for gateway ${toHex(other)}, not for ${toHex(f.id.cid)}`]);
    // Software evidence of the same gateway (no TPM): refused once any AK is trusted, requireTpm or not.
    const { tpm: _tpm, ...withoutTpm } = attesterOptions();
    const software = new Attester(withoutTpm);
    const downgraded = appraise(p, await software.evidence(nonces.issue(), binding), reference, { trustedAks: [{ name: ak.akName, gateway: f.id.cid }] }, ctx());
    expect(failures(downgraded)).toEqual(['key_origin: software key only; trusted AKs are configured, so the evidence must carry a TPM quote by one of them']);
    const noPolicy = appraise(p, await software.evidence(nonces.issue(), binding), reference, {}, ctx());
    expect(failures(noPolicy)).toEqual([]);
  }, 60_000);

  it('claims swapped under a valid quote (re-signed with the identity key) fail: the quote commits to the claims', async () => {
    const nonces = new NonceStore(p);
    const nonce = nonces.issue();
    const ev = decodeEvidence(p, await attester().evidence(nonce, binding));
    // Someone holding the software identity key, but not the TPM, changes a measurement and re-signs.
    const forged = signEvidence(p, f.id.signer, { ...ev.claims, measurements: { ...ev.claims.measurements, node: 'v99.0.0' } }, ev.tpm);
    const r = appraise(p, forged, { ...reference, node: ['v99.0.0'] }, { requireTpm: true, trustedAks: [{ name: ak.akName }] }, { nonce: { store: nonces }, binding });
    expect(failures(r)).toEqual([expect.stringMatching(/^key_origin: TPM quote rejected: qualifying data does not match/)]);
  }, 60_000);

  it('reset counters: a TPM reset under an unchanged boot seed fails tpm_clock', async () => {
    const nonces = new NonceStore(p);
    const clocks = new TpmClockStore();
    const policy = { requireTpm: true, trustedAks: [{ name: ak.akName }] };
    const first = appraise(p, await attester().evidence(nonces.issue(), binding), reference, policy, { nonce: { store: nonces }, binding, tpmClocks: clocks });
    expect(failures(first)).toEqual([]);
    await tpm.restart();
    const after = appraise(p, await attester().evidence(nonces.issue(), binding), reference, policy, { nonce: { store: nonces }, binding, tpmClocks: clocks });
    expect(failures(after)).toEqual([expect.stringMatching(/^tpm_clock: TPM reset/)]);
  }, 60_000);

  it('the gateway follows attestation.tpm: required without a TPM refuses, auto without one uses software, a tcti uses the TPM', async () => {
    const devices = new Map();
    const base = { provider: p, cid: f.id.cid, signer: f.id.signer, devices, bundleDir: f.bundleDir };
    const noTpm = f.config((c) => {
      c.attestation = { tpm: 'required', tcti: 'swtpm:host=127.0.0.1,port=1' };
    });
    expect((await errorOf(createAttester({ ...base, config: noTpm.config }))).code).toBe('TPM_UNAVAILABLE');
    const off = await createAttester({ ...base, config: f.config((c) => (c.attestation = { tpm: 'off', tcti: tpm.tcti })).config });
    expect(off.tpm).toBeUndefined();
    const withTcti = f.config((c) => {
      c.attestation = { tpm: 'auto', tcti: tpm.tcti };
      c.identity = { key: join(f.dir, 'state2', 'gw.key'), pcert: join(f.dir, 'state2', 'gw.pcert') };
    });
    const r = await createAttester({ ...base, config: withTcti.config });
    expect(r.tpm).toBe(tpm.tcti);
    const ev = decodeEvidence(p, await r.attester.evidence(new Uint8Array(8).fill(1)));
    expect(ev.claims.key_origin).toBe('tpm');
  }, 60_000);
});
