import { describe, expect, it } from 'vitest';
import { sealEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { grantCodec } from '../../../src/uzp/artefacts/grant.js';
import { repeatedRnAddress, rnAddressKey, rnSetCodec } from '../../../src/uzp/artefacts/rnset.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { decodeCanonical, encodeCanonical, type CborMap } from '../../../src/uzp/cbor.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { ErrorCode, ValidationError } from '../../../src/uzp/errors.js';
import { DAY, FakeClock, T0, gateway, grantBody, mint, operator, pcertBody, provider, revocationBody, rn1, rn2, rnSetBody, root, store, stranger, window } from './fixtures.js';
import { type CodedError } from '../../../src/lib/errors.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ValidationError) && (e as CodedError).fault !== 'peer') return `unexpected ${String(e)}`;
    return (e as CodedError).code;
  }
  return 'no error';
}

function corruptSig(bytes: Uint8Array): Uint8Array {
  const outer = decodeCanonical(bytes) as CborMap;
  const sig = (outer.sigs as CborMap[])[0]!.sig as Uint8Array;
  sig[5]! ^= 0x10;
  return encodeCanonical(outer);
}

function counting(): { provider: CryptoProvider; verifies: () => number } {
  let n = 0;
  return {
    provider: { ...provider, ed25519Verify: (k, m, s) => (n++, provider.ed25519Verify(k, m, s)) },
    verifies: () => n,
  };
}

const EXP = T0 + 30 * DAY;

describe('TrustStore basics', () => {
  it('derives the root CID, uses the injected clock and a default skew of 300 s', () => {
    const clock = new FakeClock(T0 + 5);
    const ts = store(clock);
    expect(toHex(ts.rootCid)).toBe(toHex(root.cid));
    expect(ts.nowSeconds()).toBe(T0 + 5);
    expect(ts.skewSeconds).toBe(300);
    expect(ts.rnSet).toBeUndefined();
    expect(ts.isRevoked(gateway.cid)).toBe(false);
  });
});

describe('validatePCert', () => {
  const cert = mint('pcert', pcertBody());

  it('accepts a root-issued PCert in its window with the expected role and CID', () => {
    const v = store().validatePCert(cert, { role: 'gateway', cid: gateway.cid });
    expect(v.body.role).toBe('gateway');
    expect(toHex(v.subject!)).toBe(toHex(gateway.cid));
  });
  it('PCERT_ROLE, PCERT_KEY_MISMATCH, ARTEFACT_ISSUER, ARTEFACT_TYPE, SIG_INVALID', () => {
    expect(codeOf(() => store().validatePCert(cert, { role: 'operator' }))).toBe(ErrorCode.PCERT_ROLE);
    expect(codeOf(() => store().validatePCert(cert, { cid: operator.cid }))).toBe(ErrorCode.PCERT_KEY_MISMATCH);
    expect(codeOf(() => store().validatePCert(mint('pcert', pcertBody(), {}, stranger)))).toBe(ErrorCode.ARTEFACT_ISSUER);
    expect(codeOf(() => store().validatePCert(mint('grant', grantBody())))).toBe(ErrorCode.ARTEFACT_TYPE);
    expect(codeOf(() => store().validatePCert(corruptSig(cert)))).toBe(ErrorCode.SIG_INVALID);
  });
  it('window with skew: NOT_YET_VALID before nbf - 300, EXPIRED after exp + 300', () => {
    const clock = new FakeClock(T0 - 301);
    const ts = store(clock);
    expect(codeOf(() => ts.validatePCert(cert))).toBe(ErrorCode.ARTEFACT_NOT_YET_VALID);
    clock.seconds = T0 - 300;
    expect(codeOf(() => ts.validatePCert(cert))).toBe('no error');
    clock.seconds = EXP + 300;
    expect(codeOf(() => ts.validatePCert(cert))).toBe('no error');
    clock.seconds = EXP + 301;
    expect(codeOf(() => ts.validatePCert(cert))).toBe(ErrorCode.ARTEFACT_EXPIRED);
  });
  it('custom skew is honoured', () => {
    const clock = new FakeClock(EXP + 10);
    const ts = new TrustStore({ provider, rootPublicKey: root.publicKey, clock: clock.now, skewSeconds: 0 });
    expect(codeOf(() => ts.validatePCert(cert))).toBe(ErrorCode.ARTEFACT_EXPIRED);
  });
  it('REVOKED by object_id or by subject CID', () => {
    const a = store(new FakeClock(T0 + 10));
    a.setRevocation(mint('revocation', revocationBody([], [provider.blake3(decodeBody(cert))]), { sequence: 1 }));
    expect(codeOf(() => a.validatePCert(cert))).toBe(ErrorCode.REVOKED);
    const b = store(new FakeClock(T0 + 10));
    b.setRevocation(mint('revocation', revocationBody([gateway.cid]), { sequence: 1 }));
    expect(codeOf(() => b.validatePCert(cert))).toBe(ErrorCode.REVOKED);
    expect(b.isRevoked(gateway.cid)).toBe(true);
  });
  it('cheap checks come before the signature: an expired forgery costs no verification', () => {
    const c = counting();
    const clock = new FakeClock(EXP + 1000);
    const ts = new TrustStore({ provider: c.provider, rootPublicKey: root.publicKey, clock: clock.now });
    expect(codeOf(() => ts.validatePCert(corruptSig(cert)))).toBe(ErrorCode.ARTEFACT_EXPIRED);
    expect(codeOf(() => ts.validatePCert(mint('pcert', pcertBody(), {}, stranger)))).toBe(ErrorCode.ARTEFACT_ISSUER);
    expect(c.verifies()).toBe(0);
  });
});

function decodeBody(bytes: Uint8Array): Uint8Array {
  return (decodeCanonical(bytes) as CborMap).body as Uint8Array;
}

describe('verified-artefact cache', () => {
  it('verifies the same Grant once, but checks the window every time', () => {
    const c = counting();
    const clock = new FakeClock(T0 + 10);
    const ts = new TrustStore({ provider: c.provider, rootPublicKey: root.publicKey, clock: clock.now });
    const g = mint('grant', grantBody());
    for (let i = 0; i < 5; i++) ts.validateGrant(g, { audience: gateway.cid });
    expect(c.verifies()).toBe(1);
    expect(ts.verified.size).toBe(1);
    clock.seconds = EXP + 301;
    expect(codeOf(() => ts.validateGrant(g, { audience: gateway.cid }))).toBe(ErrorCode.ARTEFACT_EXPIRED);
  });
  it('a failed verification is not cached', () => {
    const c = counting();
    const ts = new TrustStore({ provider: c.provider, rootPublicKey: root.publicKey, clock: new FakeClock(T0).now });
    const bad = corruptSig(mint('grant', grantBody()));
    expect(codeOf(() => ts.validateGrant(bad, { audience: gateway.cid }))).toBe(ErrorCode.SIG_INVALID);
    expect(codeOf(() => ts.validateGrant(bad, { audience: gateway.cid }))).toBe(ErrorCode.SIG_INVALID);
    expect(c.verifies()).toBe(2);
    expect(ts.verified.size).toBe(0);
  });
  it('the cache is keyed by the signatures too: the same body with other signature bytes is verified again', () => {
    const c = counting();
    const ts = new TrustStore({ provider: c.provider, rootPublicKey: root.publicKey, clock: new FakeClock(T0 + 10).now });
    const g = mint('grant', grantBody());
    ts.validateGrant(g, { audience: gateway.cid });
    expect(codeOf(() => ts.validateGrant(corruptSig(g), { audience: gateway.cid }))).toBe(ErrorCode.SIG_INVALID);
    expect(c.verifies()).toBe(2);
    expect(ts.verified.size).toBe(1);
  });
  it('decodes the same bytes once, keeps a copy of them, and still runs audience and revocation checks on a hit', () => {
    const ts = new TrustStore({ provider, rootPublicKey: root.publicKey, clock: new FakeClock(T0 + 10).now });
    const g = mint('grant', grantBody());
    const frame = new Uint8Array(g.length + 100);
    frame.set(g, 50);
    const first = ts.validateGrant(frame.subarray(50, 50 + g.length), { audience: gateway.cid });
    expect(first.bytes.buffer).not.toBe(frame.buffer); // a cached envelope does not pin the frame
    frame.fill(0); // the caller reuses its buffer: the cached envelope is unaffected
    const again = ts.validateGrant(g.slice(), { audience: gateway.cid });
    expect(again).toBe(first);
    expect(again.bytes).toEqual(g);
    expect(codeOf(() => ts.validateGrant(g, { audience: operator.cid }))).toBe(ErrorCode.GRANT_AUDIENCE);
    ts.setRevocation(mint('revocation', revocationBody([], [first.objectId]), { sequence: 1 }));
    expect(codeOf(() => ts.validateGrant(g, { audience: gateway.cid }))).toBe(ErrorCode.REVOKED);
  });
});

describe('validateGrant', () => {
  const opts = { audience: gateway.cid };
  it('GRANT_AUDIENCE, GRANT_SUBJECT, GRANT_FLAGS, REVOKED audience', () => {
    const g = mint('grant', grantBody());
    expect(codeOf(() => store().validateGrant(g, { audience: operator.cid }))).toBe(ErrorCode.GRANT_AUDIENCE);
    expect(codeOf(() => store().validateGrant(g, { audience: gateway.cid, subject: stranger.cid }))).toBe(ErrorCode.GRANT_SUBJECT);
    expect(store().validateGrant(g, { audience: gateway.cid, subject: operator.cid }).body.nonce).toBe(7);
    const flags = sealEnvelope(provider, [root.signer], { type: 'grant', subject: operator.cid, audience: gateway.cid, ...window() }, {
      ...grantCodec.encode(grantBody()),
      ed: true,
      nr: true,
    });
    expect(codeOf(() => store().validateGrant(flags, opts))).toBe(ErrorCode.GRANT_FLAGS);
    const ts = store();
    ts.setRevocation(mint('revocation', revocationBody([gateway.cid]), { sequence: 1 }));
    expect(codeOf(() => ts.validateGrant(g, opts))).toBe(ErrorCode.REVOKED);
  });

  it('1-RTT (default): a newer Grant never makes an older valid one unusable, in any order', () => {
    const ts = store();
    const n = (nonce: number) => mint('grant', grantBody({ nonce }), { subject: operator.cid });
    for (const nonce of [7, 9, 8, 1, 9, 200, 3]) expect(ts.validateGrant(n(nonce), opts).body.nonce).toBe(nonce);
  });

  it("early data ('track'): equal accepted, higher accepted, lower refused; per (iss, sub, aud) (draft §9)", () => {
    const ts = store();
    const track = { ...opts, nonce: 'track' as const };
    const n = (nonce: number, sub = operator) => mint('grant', grantBody({ nonce }), { subject: sub.cid });
    expect(ts.validateGrant(n(7), track).body.nonce).toBe(7);
    expect(ts.validateGrant(n(7), track).body.nonce).toBe(7);
    expect(ts.validateGrant(n(9), track).body.nonce).toBe(9);
    expect(codeOf(() => ts.validateGrant(n(8), track))).toBe(ErrorCode.GRANT_NONCE_STALE);
    expect(ts.validateGrant(n(1, stranger), track).body.nonce).toBe(1);
    // 1-RTT validation neither refuses nor records.
    expect(ts.validateGrant(n(8), opts).body.nonce).toBe(8);
    expect(ts.validateGrant(n(200), opts).body.nonce).toBe(200);
    expect(ts.validateGrant(n(10), track).body.nonce).toBe(10);
  });

  it('a forged Grant never advances the nonce state (recorded only after the signature)', () => {
    const ts = store();
    const forged = corruptSig(mint('grant', grantBody({ nonce: 1000 })));
    expect(codeOf(() => ts.validateGrant(forged, { ...opts, nonce: 'track' }))).toBe(ErrorCode.SIG_INVALID);
    expect(ts.validateGrant(mint('grant', grantBody({ nonce: 5 })), { ...opts, nonce: 'track' }).body.nonce).toBe(5);
  });
});

describe('revocation lists', () => {
  it('newer replaces older; older -> ARTEFACT_STALE_SEQUENCE; epoch beats sequence', () => {
    const ts = store();
    ts.setRevocation(mint('revocation', revocationBody([rn1.cid]), { epoch: 0, sequence: 5 }));
    expect(ts.isRevoked(rn1.cid)).toBe(true);
    expect(codeOf(() => ts.setRevocation(mint('revocation', revocationBody([rn2.cid]), { epoch: 0, sequence: 4 })))).toBe(ErrorCode.ARTEFACT_STALE_SEQUENCE);
    expect(ts.isRevoked(rn2.cid)).toBe(false);
    ts.setRevocation(mint('revocation', revocationBody([rn2.cid]), { epoch: 1, sequence: 0 }));
    expect(ts.isRevoked(rn2.cid)).toBe(true);
    expect(ts.isRevoked(rn1.cid)).toBe(false);
    expect(ts.revocationList?.epoch).toBe(1);
  });
  it('the same list again is fine; a different list with the same (epoch, sequence) is refused', () => {
    const ts = store();
    const a = mint('revocation', revocationBody([rn1.cid]), { sequence: 3 });
    const first = ts.setRevocation(a);
    expect(ts.setRevocation(a)).toBe(first);
    expect(codeOf(() => ts.setRevocation(mint('revocation', revocationBody([rn2.cid]), { sequence: 3 })))).toBe(ErrorCode.ARTEFACT_CONFLICT);
    expect(ts.isRevoked(rn1.cid)).toBe(true);
  });
  it('issuer, window and signature are checked', () => {
    expect(codeOf(() => store().setRevocation(mint('revocation', revocationBody(), {}, stranger)))).toBe(ErrorCode.ARTEFACT_ISSUER);
    expect(codeOf(() => store(new FakeClock(EXP + 301)).setRevocation(mint('revocation', revocationBody())))).toBe(ErrorCode.ARTEFACT_EXPIRED);
    expect(codeOf(() => store().setRevocation(corruptSig(mint('revocation', revocationBody()))))).toBe(ErrorCode.SIG_INVALID);
  });
});

describe('RN Set Statements (draft §11.1)', () => {
  const set = (epoch: number, sequence: number, body = rnSetBody(), days = 30) => mint('rn-set', body, { epoch, sequence, ...window(T0, days) });

  it('an installed, currently valid set makes its RNs eligible (with role)', () => {
    const ts = store();
    ts.setRnSet(set(1, 1));
    expect(toHex(ts.requireEligibleRn(rn1.publicKey).cid)).toBe(toHex(rn1.cid));
    expect(ts.requireEligibleRn(rn2.publicKey, 'relay').addresses).toEqual(['rn2.example:7443']);
    expect(codeOf(() => ts.requireEligibleRn(rn2.publicKey, 'rendezvous'))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    expect(codeOf(() => ts.requireEligibleRn(stranger.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
  });
  it('RNSET_NOT_ELIGIBLE without a set, after expiry, or when the RN or the set is revoked', () => {
    expect(codeOf(() => store().requireEligibleRn(rn1.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    const clock = new FakeClock();
    const ts = store(clock);
    const s = set(0, 1);
    ts.setRnSet(s);
    clock.seconds = EXP + 301;
    expect(codeOf(() => ts.requireEligibleRn(rn1.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    clock.seconds = T0 + 1;
    ts.setRevocation(mint('revocation', revocationBody([rn1.cid]), { sequence: 1 }));
    expect(codeOf(() => ts.requireEligibleRn(rn1.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    expect(() => ts.requireEligibleRn(rn2.publicKey)).not.toThrow();
    ts.setRevocation(mint('revocation', revocationBody([], [provider.blake3(decodeBody(s))]), { sequence: 2 }));
    expect(codeOf(() => ts.requireEligibleRn(rn2.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
  });
  it('precedence: epoch, then sequence; older -> ARTEFACT_STALE_SEQUENCE', () => {
    const ts = store();
    ts.setRnSet(set(1, 5));
    expect(codeOf(() => ts.setRnSet(set(1, 4)))).toBe(ErrorCode.ARTEFACT_STALE_SEQUENCE);
    expect(codeOf(() => ts.setRnSet(set(0, 99)))).toBe(ErrorCode.ARTEFACT_STALE_SEQUENCE);
    expect(ts.setRnSet(set(2, 0, rnSetBody([rn2]))).epoch).toBe(2);
    expect(codeOf(() => ts.requireEligibleRn(rn1.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    expect(ts.rnSet?.sequence).toBe(0);
  });
  it('same (epoch, sequence) with a different object_id, or another scope -> RNSET_CONFLICT; the same bytes are fine', () => {
    const ts = store();
    const a = set(1, 1);
    ts.setRnSet(a);
    expect(() => ts.setRnSet(a)).not.toThrow();
    expect(codeOf(() => ts.setRnSet(set(1, 1, rnSetBody([rn1]))))).toBe(ErrorCode.RNSET_CONFLICT);
    expect(codeOf(() => ts.setRnSet(set(1, 2, { ...rnSetBody(), scope: 'elsewhere' })))).toBe(ErrorCode.RNSET_CONFLICT);
    // A forged conflicting statement is a signature failure, not a conflict.
    expect(codeOf(() => ts.setRnSet(corruptSig(set(1, 1, rnSetBody([rn1])))))).toBe(ErrorCode.SIG_INVALID);
    expect(ts.rnSet?.body.rns).toHaveLength(2);
  });
  it('an entry whose cid is not CID(pk) -> RNSET_KEY_MISMATCH; issuer and window are checked', () => {
    const body = rnSetCodec.encode({ scope: 's', rns: [{ cid: rn2.cid, publicKey: rn1.publicKey, addresses: ['a:1'], roles: ['relay'] }] });
    const bytes = sealEnvelope(provider, [root.signer], { type: 'rn-set', ...window() }, body);
    expect(codeOf(() => store().setRnSet(bytes))).toBe(ErrorCode.RNSET_KEY_MISMATCH);
    expect(codeOf(() => store().setRnSet(mint('rn-set', rnSetBody(), {}, stranger)))).toBe(ErrorCode.ARTEFACT_ISSUER);
    expect(codeOf(() => store(new FakeClock(T0 - 1000)).setRnSet(set(0, 1)))).toBe(ErrorCode.ARTEFACT_NOT_YET_VALID);
  });
  it('one address under two entries: adopted (a statement issued before the rule must not stop a domain); repeatedRnAddress finds it as dialled', () => {
    const withAddresses = (a1: string[], a2: string[]) => ({
      scope: 's',
      rns: [
        { cid: rn1.cid, publicKey: rn1.publicKey, addresses: a1, roles: ['relay'] },
        { cid: rn2.cid, publicKey: rn2.publicKey, addresses: a2, roles: ['relay'] },
      ],
    });
    const shared = withAddresses(['rn1.example:7443', '192.0.2.7:7443'], ['RN1.Example:07443']);
    expect(store().setRnSet(set(1, 1, shared)).body.rns).toHaveLength(2);
    expect(repeatedRnAddress(shared.rns)).toEqual({ first: 0, second: 1, address: 'rn1.example:7443', spelled: ['rn1.example:7443', 'RN1.Example:07443'] });
    expect(repeatedRnAddress(withAddresses(['[2001:db8:0:0:0:0:0:1]:7443'], ['[2001:DB8::1]:7443']).rns)?.address).toBe('[2001:db8::1]:7443');
    expect(repeatedRnAddress(withAddresses(['127.0.0.1:7443'], ['127.1:7443']).rns)?.address).toBe('127.0.0.1:7443');
    // Another port, or the same address twice under one RN (spelled two ways), is no repeat.
    expect(repeatedRnAddress(withAddresses(['rn.example:7443'], ['rn.example:7444']).rns)).toBeUndefined();
    expect(repeatedRnAddress(withAddresses(['rn.example:7443', 'RN.example:7443'], ['rn2.example:7443']).rns)).toBeUndefined();
  });
});

describe('rnAddressKey: an RN address as it is dialled', () => {
  it.each([
    ['RN1.Example:7443', 'rn1.example:7443'],
    ['rn1.example:07443', 'rn1.example:7443'],
    ['[2001:DB8:0::1]:7443', '[2001:db8::1]:7443'],
    ['127.000.0.1:1', '127.0.0.1:1'],
    ['0x7f.1:1', '127.0.0.1:1'],
    ['010.0.0.1:1', '8.0.0.1:1'],
    ['Foo.123:1', 'foo.123:1'],
    ['[1.2.3.4]:7443', '1.2.3.4:7443'],
    ['[::FFFF:127.0.0.1]:1', '[::ffff:7f00:1]:1'],
    // Names to the resolver (getaddrinfo: ENOTFOUND), though the URL parser would read them as IPv4.
    ['0x:7443', '0x:7443'],
    ['1.0x:7443', '1.0x:7443'],
    ['0x.0x:7443', '0x.0x:7443'],
    ['09.1.1.1:1', '09.1.1.1:1'],
  ])('%s -> %s', (a, key) => expect(rnAddressKey(a)).toBe(key));
});
