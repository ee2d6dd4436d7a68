// The adoption rule for live artefacts (src/uzp/artefacts/adopt.ts; draft §11.1, §12 epoch-versus-
// sequence precedence): newer valid ones adopted, the same one unchanged, older ones and different
// ones of the same version refused with typed codes, an expired installed one replaced only by a
// newer valid one, forged and foreign ones refused without touching what is installed.

import { describe, expect, it } from 'vitest';
import { precedence, type Adoption } from '../../../src/uzp/artefacts/adopt.js';
import { decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import type { CommonFields } from '../../../src/uzp/artefacts/types.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { decodeCanonical, encodeCanonical, type CborMap } from '../../../src/uzp/cbor.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { DAY, FakeClock, T0, gateway, mint, operator, pcertBody, provider, revocationBody, rn1, rn2, rnSetBody, root, store, stranger, window } from './fixtures.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';

const set = (epoch: number, sequence: number, o: { body?: ReturnType<typeof rnSetBody>; from?: number; days?: number } = {}) =>
  mint('rn-set', o.body ?? rnSetBody(), { epoch, sequence, ...window(o.from ?? T0, o.days ?? 30) });

function outcome(a: Adoption<unknown>): string {
  return a.outcome === 'refused' ? `refused ${a.error.code}` : a.outcome;
}

function corruptSig(bytes: Uint8Array): Uint8Array {
  const outer = decodeCanonical(bytes) as CborMap;
  const sig = (outer.sigs as CborMap[])[0]!.sig as Uint8Array;
  sig[7]! ^= 0x01;
  return encodeCanonical(outer);
}

describe('precedence (epoch, then sequence; equal version compared by object_id)', () => {
  const f = (epoch: number, sequence: number, id = 1): CommonFields =>
    ({ epoch, sequence, objectId: new Uint8Array(32).fill(id), expiresAt: 0 }) as unknown as CommonFields;
  it('orders by epoch first, whatever the sequence', () => {
    expect(precedence(f(2, 0), f(1, 99))).toBe('newer');
    expect(precedence(f(1, 99), f(2, 0))).toBe('older');
    expect(precedence(f(1, 5), f(1, 4))).toBe('newer');
    expect(precedence(f(1, 4), f(1, 5))).toBe('older');
  });
  it('the same version is the same object or a conflict; nothing installed is newer', () => {
    expect(precedence(f(1, 5, 7), f(1, 5, 7))).toBe('same');
    expect(precedence(f(1, 5, 7), f(1, 5, 8))).toBe('conflict');
    expect(precedence(f(0, 0), undefined)).toBe('newer');
  });
});

describe('offerRnSet', () => {
  it('newer is adopted (with what it replaced), older refused as stale, the same unchanged', () => {
    const ts = store();
    const first = ts.offerRnSet(set(1, 5));
    expect(first.outcome).toBe('adopted');
    const newer = ts.offerRnSet(set(1, 6, { body: rnSetBody([rn2]) }));
    expect(newer.outcome).toBe('adopted');
    expect(newer.outcome === 'adopted' && newer.previous?.sequence).toBe(5);
    expect(outcome(ts.offerRnSet(set(1, 5)))).toBe(`refused ${ErrorCode.ARTEFACT_STALE_SEQUENCE}`);
    expect(outcome(ts.offerRnSet(set(0, 99)))).toBe(`refused ${ErrorCode.ARTEFACT_STALE_SEQUENCE}`);
    const again = ts.rnSet!.bytes;
    const same = ts.offerRnSet(again);
    expect(same.outcome).toBe('unchanged');
    expect(same.outcome === 'unchanged' && same.artefact).toBe(ts.rnSet);
    expect(ts.rnSet?.sequence).toBe(6);
    expect(() => ts.requireEligibleRn(rn1.publicKey)).toThrow();
  });

  it('a higher epoch wins over a higher sequence', () => {
    const ts = store();
    ts.setRnSet(set(1, 50));
    expect(outcome(ts.offerRnSet(set(2, 1)))).toBe('adopted');
    expect(ts.rnSet?.epoch).toBe(2);
  });

  it('the same version with another object_id is a conflict (RNSET_CONFLICT) and changes nothing', () => {
    const ts = store();
    ts.setRnSet(set(1, 1));
    const before = toHex(ts.rnSet!.objectId);
    expect(outcome(ts.offerRnSet(set(1, 1, { body: rnSetBody([rn1]) })))).toBe(`refused ${ErrorCode.RNSET_CONFLICT}`);
    expect(toHex(ts.rnSet!.objectId)).toBe(before);
  });

  it('another scope is refused (RNSET_CONFLICT) even when newer', () => {
    const ts = store();
    ts.setRnSet(set(1, 1));
    expect(outcome(ts.offerRnSet(set(1, 2, { body: { ...rnSetBody(), scope: 'elsewhere.example' } })))).toBe(`refused ${ErrorCode.RNSET_CONFLICT}`);
    expect(ts.rnSet?.sequence).toBe(1);
  });

  it('an expired installed statement is replaced by a newer valid one, never by an older valid one', () => {
    const clock = new FakeClock();
    const ts = store(clock);
    ts.setRnSet(set(1, 5, { days: 1 }));
    const older = set(1, 4, { from: T0, days: 60 });
    clock.advance(2 * DAY); // past exp + skew
    expect(() => ts.requireEligibleRn(rn1.publicKey)).toThrow(/outside its validity window/);
    expect(outcome(ts.offerRnSet(older))).toBe(`refused ${ErrorCode.ARTEFACT_STALE_SEQUENCE}`);
    // The expired bytes again: refused for what they are (expired), the installed one stays.
    expect(outcome(ts.offerRnSet(ts.rnSet!.bytes))).toBe(`refused ${ErrorCode.ARTEFACT_EXPIRED}`);
    expect(outcome(ts.offerRnSet(set(1, 6, { from: T0 + 2 * DAY })))).toBe('adopted');
    expect(ts.requireEligibleRn(rn1.publicKey).addresses).toEqual(['rn1.example:7443']);
  });

  it('an expired candidate is refused even when newer', () => {
    const clock = new FakeClock(T0 + 40 * DAY);
    const ts = store(clock);
    ts.setRnSet(set(1, 1, { from: T0 + 39 * DAY }));
    expect(outcome(ts.offerRnSet(set(1, 2, { from: T0, days: 30 })))).toBe(`refused ${ErrorCode.ARTEFACT_EXPIRED}`);
  });

  it('an invalid signature, a foreign issuer or a revoked statement is refused; the installed one stays', () => {
    const ts = store();
    ts.setRnSet(set(1, 1));
    expect(outcome(ts.offerRnSet(corruptSig(set(1, 2))))).toBe(`refused ${ErrorCode.SIG_INVALID}`);
    expect(outcome(ts.offerRnSet(mint('rn-set', rnSetBody([stranger]), { epoch: 9, sequence: 9, ...window() }, stranger)))).toBe(`refused ${ErrorCode.ARTEFACT_ISSUER}`);
    const doomed = set(1, 3);
    ts.setRevocation(mint('revocation', revocationBody([], [decodeEnvelope(provider, doomed).objectId]), { sequence: 1 }));
    expect(outcome(ts.offerRnSet(doomed))).toBe(`refused ${ErrorCode.REVOKED}`);
    expect(ts.rnSet?.sequence).toBe(1);
  });

  it('junk and other artefact types are refused with typed codes, never thrown', () => {
    const ts = store();
    expect(ts.offerRnSet(Uint8Array.of(1, 2, 3)).outcome).toBe('refused');
    expect(outcome(ts.offerRnSet(mint('revocation', revocationBody(), { sequence: 1 })))).toBe(`refused ${ErrorCode.ARTEFACT_TYPE}`);
    expect(ts.rnSet).toBeUndefined();
  });

  it('an older statement is refused before its signature is verified (cheap first)', () => {
    let verifies = 0;
    const counting: CryptoProvider = { ...provider, ed25519Verify: (k, m, s) => (verifies++, provider.ed25519Verify(k, m, s)) };
    const ts = new TrustStore({ provider: counting, rootPublicKey: root.publicKey, clock: new FakeClock().now });
    ts.setRnSet(set(1, 5));
    const n = verifies;
    expect(outcome(ts.offerRnSet(set(1, 4)))).toBe(`refused ${ErrorCode.ARTEFACT_STALE_SEQUENCE}`);
    expect(verifies).toBe(n);
  });
});

describe('offerRevocation', () => {
  it('newer adopted (revocations follow the list in force), older stale, same unchanged, same version different list a conflict', () => {
    const ts = store();
    const a = mint('revocation', revocationBody([rn1.cid]), { epoch: 0, sequence: 3 });
    expect(outcome(ts.offerRevocation(a))).toBe('adopted');
    expect(outcome(ts.offerRevocation(a))).toBe('unchanged');
    expect(outcome(ts.offerRevocation(mint('revocation', revocationBody([rn2.cid]), { sequence: 3 })))).toBe(`refused ${ErrorCode.ARTEFACT_CONFLICT}`);
    expect(outcome(ts.offerRevocation(mint('revocation', revocationBody([rn2.cid]), { sequence: 2 })))).toBe(`refused ${ErrorCode.ARTEFACT_STALE_SEQUENCE}`);
    expect(ts.isRevoked(rn2.cid)).toBe(false);
    expect(outcome(ts.offerRevocation(mint('revocation', revocationBody([rn2.cid]), { sequence: 4 })))).toBe('adopted');
    expect(ts.isRevoked(rn2.cid)).toBe(true);
    expect(ts.isRevoked(rn1.cid)).toBe(false);
  });
  it('a forged list revokes nothing', () => {
    const ts = store();
    expect(outcome(ts.offerRevocation(corruptSig(mint('revocation', revocationBody([gateway.cid]), { sequence: 1 }))))).toBe(`refused ${ErrorCode.SIG_INVALID}`);
    expect(ts.isRevoked(gateway.cid)).toBe(false);
  });
});

describe('offerPCert (our own PCert renewed)', () => {
  const cert = (days: number, from = T0, id = gateway, role: 'gateway' | 'operator' = 'gateway') => mint('pcert', pcertBody(id, role), window(from, days));

  it('the same key with a later expiry is adopted; the same unchanged; an earlier expiry stale', () => {
    const ts = store();
    const installed = ts.validatePCert(cert(30), { role: 'gateway', cid: gateway.cid });
    const renewed = ts.offerPCert(installed, cert(365));
    expect(outcome(renewed)).toBe('adopted');
    expect(outcome(ts.offerPCert(installed, installed.bytes))).toBe('unchanged');
    expect(outcome(ts.offerPCert(installed, cert(10)))).toBe(`refused ${ErrorCode.ARTEFACT_STALE_SEQUENCE}`);
    expect(outcome(ts.offerPCert(installed, mint('pcert', { ...pcertBody(), name: 'other' }, window(T0, 30))))).toBe(`refused ${ErrorCode.ARTEFACT_CONFLICT}`);
  });
  it('another key or another role is refused, an expired installed one is renewed', () => {
    const clock = new FakeClock();
    const ts = store(clock);
    const installed = ts.validatePCert(cert(1), { role: 'gateway', cid: gateway.cid });
    expect(outcome(ts.offerPCert(installed, cert(365, T0, operator)))).toBe(`refused ${ErrorCode.PCERT_KEY_MISMATCH}`);
    expect(outcome(ts.offerPCert(installed, cert(365, T0, gateway, 'operator')))).toBe(`refused ${ErrorCode.PCERT_ROLE}`);
    clock.advance(3 * DAY);
    expect(outcome(ts.offerPCert(installed, cert(365, T0 + 3 * DAY)))).toBe('adopted');
  });
});

describe('requireRecoveryRn (an expired statement names where to fetch a renewed one)', () => {
  it('lists RNs of an expired statement, never revoked ones, never without a statement', () => {
    const clock = new FakeClock();
    const ts = store(clock);
    expect(() => ts.requireRecoveryRn(rn1.publicKey)).toThrow(/no RN Set Statement/);
    ts.setRnSet(set(1, 1, { days: 1 }));
    clock.advance(2 * DAY);
    expect(() => ts.requireEligibleRn(rn1.publicKey)).toThrow();
    expect(ts.requireRecoveryRn(rn1.publicKey, 'relay').addresses).toEqual(['rn1.example:7443']);
    expect(() => ts.requireRecoveryRn(stranger.publicKey)).toThrow(/not listed/);
    ts.setRevocation(mint('revocation', revocationBody([rn1.cid]), { sequence: 1, ...window(T0 + 2 * DAY) }));
    expect(() => ts.requireRecoveryRn(rn1.publicKey)).toThrow(/revoked/);
    expect(() => ts.requireRecoveryRn(rn2.publicKey)).not.toThrow();
  });
});
