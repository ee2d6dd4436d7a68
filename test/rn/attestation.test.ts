// checkAttachEvidence (src/rn/attestation.ts): what the RN checks of an ATTEST's evidence under
// --require-attestation — presence, signer, attachment nonce and binding, window, signature — and
// nothing about the claims themselves.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAttachEvidence, type AttachEvidenceExpectation } from '../../src/rn/attestation.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { generateIdentity } from '../../src/uzp/identity/identity.js';
import { TestDomain } from '../helpers/domain.js';
import { testEvidence } from '../helpers/evidence.js';

const NOW = 1_800_000_000;
const gw = generateIdentity(p);
const context = { nonce: new Uint8Array(16).fill(0xa1), binding: new Uint8Array(32).fill(0xb2) };
const expectation: AttachEvidenceExpectation = { cid: gw.cid, context, nowSeconds: NOW, skewSeconds: 300 };
const good = (o: Partial<Parameters<typeof testEvidence>[2]> = {}, signer = gw.signer) => testEvidence(p, signer, { nonce: context.nonce, binding: context.binding, iat: NOW, ...o });

function reasonOf(bytes: Uint8Array, x: AttachEvidenceExpectation = expectation): string {
  const r = checkAttachEvidence(p, bytes, x);
  return r.ok ? 'ok' : r.reason;
}

describe('checkAttachEvidence', () => {
  it('accepts evidence of the attached identity carrying the nonce and binding of this attachment', () => {
    const r = checkAttachEvidence(p, good(), expectation);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.evidence.claims.key_origin).toBe('software');
  });

  it('refuses evidence made for another attachment (nonce or binding differ)', () => {
    expect(reasonOf(good({ nonce: new Uint8Array(16).fill(1) }))).toBe('nonce');
    expect(reasonOf(good({ binding: new Uint8Array(32).fill(2) }))).toBe('binding');
    expect(reasonOf(good({ binding: undefined }))).toBe('binding');
    // A longer nonce that starts with the right bytes is still another nonce.
    expect(reasonOf(good({ nonce: Uint8Array.from([...context.nonce, 0]) }))).toBe('nonce');
  });

  it('refuses evidence of another identity, whatever its ueid claims', () => {
    const other = generateIdentity(p);
    expect(reasonOf(good({}, other.signer))).toBe('issuer');
    // ueid naming the attached gateway but signed by another key: iss = CID(pk) != ueid, no decode.
    expect(reasonOf(good({ ueidCid: gw.cid }, other.signer))).toBe('decode');
  });

  it('refuses a bad signature, junk and artefacts of another type', () => {
    const e = good();
    const bad = e.slice();
    bad[bad.length - 1]! ^= 1; // last byte of the envelope is the signature's
    expect(reasonOf(bad)).toBe('signature');
    expect(reasonOf(new Uint8Array(0))).toBe('decode');
    expect(reasonOf(Uint8Array.of(0xa0))).toBe('decode');
    const d = new TestDomain();
    const member = d.member('gateway');
    const r = checkAttachEvidence(p, member.pcert, { ...expectation, cid: member.id.cid });
    expect(r.ok ? 'ok' : `${r.reason} ${r.detail}`).toMatch(/^decode ARTEFACT_TYPE/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (junk, i, x) => {
        expect(reasonOf(junk)).not.toBe('ok');
        const m = e.slice();
        m[i % m.length] = x;
        const r = reasonOf(m); // never throws; ok only if the byte did not change
        if (r === 'ok') expect(m).toEqual(e);
      }),
      { numRuns: 2000 },
    );
  });

  it('enforces the window with the skew: exp + skew, iat - skew', () => {
    // exp = iat + 300.
    expect(reasonOf(good({ iat: NOW - 600 }))).toBe('ok'); // exp + 300 == now
    expect(reasonOf(good({ iat: NOW - 601 }))).toBe('expired');
    expect(reasonOf(good({ iat: NOW + 300 }))).toBe('ok');
    expect(reasonOf(good({ iat: NOW + 301 }))).toBe('not_yet_valid');
  });
});
