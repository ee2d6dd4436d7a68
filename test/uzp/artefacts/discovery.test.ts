// Outbound-indexing artefacts (OI draft §9.1, §10, §11.5, §11.6): discovery-grant, receipt and
// discovery-revocation bodies (round trips, every structural refusal) and the validators bound to the
// session's authenticated identities (every refusal code, cheap checks before signatures).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../../src/uzp/artefacts/codecs.js';
import { discoveryGrantCodec, type DiscoveryGrantBody } from '../../../src/uzp/artefacts/discovery-grant.js';
import { discoveryRevocationCodec } from '../../../src/uzp/artefacts/discovery-revocation.js';
import { artefactSignatureInput, decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { openArtefact } from '../../../src/uzp/artefacts/open.js';
import { receiptCodec, type ReceiptBody } from '../../../src/uzp/artefacts/receipt.js';
import { validateDiscoveryGrant, validateDiscoveryRevocation, validateReceipt } from '../../../src/uzp/artefacts/validate-discovery.js';
import { equal } from '../../../src/uzp/bytes.js';
import { decodeCanonical, encodeCanonical, type CborMap, type CborValue } from '../../../src/uzp/cbor.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { CommonCode, DecodeError } from '../../../src/lib/errors.js';
import { codeOf } from '../../helpers/errors.js';
import { collector, discoveryGrantBody, mintDiscovery, publisher, receiptBody, revocationBody } from './discovery-fixtures.js';
import { DAY, T0, operator, provider, root, stranger } from './fixtures.js';
import { enc, raw, text, type Raw } from './rawcbor.js';

const pub = { cid: publisher.cid, publicKey: publisher.publicKey };
const col = { cid: collector.cid, publicKey: collector.publicKey };
const grantCtx = { publisher: pub, indexer: collector.cid, nowS: T0 + 60, skewS: 300 };

/** The wire map "b" of an artefact. */
function bOf(bytes: Uint8Array): CborMap {
  return (decodeCanonical(decodeEnvelope(provider, bytes).bodyBytes) as CborMap).b as CborMap;
}
const grantB = (): CborMap => bOf(mintDiscovery('discovery-grant', discoveryGrantBody()));
const receiptB = (): CborMap => bOf(mintDiscovery('receipt', receiptBody()));

/** The code codec.decode (then check) fails with on `b`; DecodeError expected unless a policy code. */
function refusal(type: 'discovery-grant' | 'receipt' | 'discovery-revocation', b: CborValue): string {
  const codec = codecFor(type);
  return codeOf(() => codec.check(provider, {} as never, codec.decode(b as CborMap) as never));
}

describe('discovery-grant body (OI §9.1, §10)', () => {
  it('encodes to the documented map and decodes back', () => {
    const b = grantB();
    expect(b).toEqual({
      scope: [{ slot: 'rs485-1', dev: 'th-bus-1' }, { slot: 'tty-1' }],
      purp: ['telemetry.store', 'telemetry.dashboard'],
      cons: { ret_d: 30, rate: 10, attr: 'Plant 7, line 2' },
      pol: { allow: ['telemetry.store', 'telemetry.dashboard', 'telemetry.alert'], deny: ['ai.train'], ret_d: 90, redist: false },
    });
    expect(discoveryGrantCodec.decode(b)).toEqual(discoveryGrantBody());
    const min: DiscoveryGrantBody = { scope: [{ slot: '*' }], purposes: ['telemetry.store'], constraints: { retentionDays: 1 }, policy: { allow: ['telemetry.store'], deny: [], retentionDays: 1, redistribution: true } };
    expect(bOf(mintDiscovery('discovery-grant', min))).toEqual({ scope: [{ slot: '*' }], purp: ['telemetry.store'], cons: { ret_d: 1 }, pol: { allow: ['telemetry.store'], deny: [], ret_d: 1, redist: true } });
  });

  it('structural refusals are DecodeErrors naming the field', () => {
    const b = grantB();
    const cases: [string, CborMap][] = [
      ['extra key', { ...b, x: 1 }],
      ['extra key in cons', { ...b, cons: { ret_d: 30, extra: 1 } }],
      ['extra key in pol', { ...b, pol: { ...(b.pol as CborMap), more: true } }],
      ['extra key in a scope', { ...b, scope: [{ slot: 'a', why: 'x' }] }],
      ['no scope', { ...b, scope: [] }],
      ['65 scopes', { ...b, scope: Array.from({ length: 65 }, (_, i) => ({ slot: `s${i}` })) }],
      ['slot twice', { ...b, scope: [{ slot: 'a' }, { slot: 'a', dev: 'd' }] }],
      ['empty slot', { ...b, scope: [{ slot: '' }] }],
      ['"*" with a device', { ...b, scope: [{ slot: '*', dev: 'd' }] }],
      ['"*" with another slot', { ...b, scope: [{ slot: '*' }, { slot: 'a' }] }],
      ['no purpose', { ...b, purp: [] }],
      ['17 purposes', { ...b, purp: Array.from({ length: 17 }, (_, i) => `p${i}`) }],
      ['purpose twice', { ...b, purp: ['telemetry.store', 'telemetry.store'] }],
      ['purpose not dotted lowercase', { ...b, purp: ['Telemetry Store'] }],
      ['retention 0', { ...b, cons: { ret_d: 0 } }],
      ['retention above 36500', { ...b, cons: { ret_d: 36_501 } }],
      ['rate 0', { ...b, cons: { ret_d: 1, rate: 0 } }],
      ['attribution of 257', { ...b, cons: { ret_d: 1, attr: 'x'.repeat(257) } }],
      ['33 allowed', { ...b, pol: { ...(b.pol as CborMap), allow: Array.from({ length: 33 }, (_, i) => `p${i}`) } }],
      ['denied twice', { ...b, pol: { ...(b.pol as CborMap), deny: ['a.b', 'a.b'] } }],
      ['no deny list', { ...b, pol: { allow: ['telemetry.store'], ret_d: 1, redist: false } }],
      ['redist not a bool', { ...b, pol: { ...(b.pol as CborMap), redist: 1 } }],
      ['policy retention 0', { ...b, pol: { ...(b.pol as CborMap), ret_d: 0 } }],
    ];
    for (const [name, m] of cases) {
      expect(() => discoveryGrantCodec.decode(m), name).toThrow(DecodeError);
    }
  });

  it('a grant contradicting its own policy is DISCOVERY_POLICY, at issue and at decode', () => {
    const bad: [string, Partial<DiscoveryGrantBody>][] = [
      ['purpose not allowed', { purposes: ['telemetry.resell'] }],
      ['purpose denied (and allowed)', { purposes: ['ai.train'], policy: { allow: ['ai.train'], deny: ['ai.train'], retentionDays: 90, redistribution: false } }],
      ['allow and deny overlap', { policy: { allow: ['telemetry.store', 'telemetry.dashboard', 'x.y'], deny: ['x.y'], retentionDays: 90, redistribution: false } }],
      ['retention beyond the policy', { constraints: { retentionDays: 91 } }],
    ];
    for (const [name, over] of bad) {
      const body = discoveryGrantBody(over);
      expect(codeOf(() => mintDiscovery('discovery-grant', body)), name).toBe(ErrorCode.DISCOVERY_POLICY);
      // Decoded from the wire (written by hand, not by our encoder): check() refuses the same.
      const b = { ...grantB(), purp: [...body.purposes], cons: { ret_d: body.constraints.retentionDays }, pol: { allow: [...body.policy.allow], deny: [...body.policy.deny], ret_d: body.policy.retentionDays, redist: false } };
      expect(refusal('discovery-grant', b), name).toBe(ErrorCode.DISCOVERY_POLICY);
    }
    expect(codeOf(() => mintDiscovery('discovery-grant', discoveryGrantBody({ constraints: { retentionDays: 90 } })))).toBe('no error');
  });
});

describe('receipt body (OI §11.5)', () => {
  it('encodes to the documented map; empty lists are omitted and decode back as empty', () => {
    expect(receiptB()).toEqual({ k: 'accept', g: new Uint8Array(32).fill(0x47), scope: ['rs485-1'], purp: ['telemetry.store'], rng: [['rs485-1', 3, 1, 120]], at_ms: 1_767_225_660_000 });
    expect(receiptCodec.decode(receiptB())).toEqual(receiptBody());
    const revoke: ReceiptBody = { kind: 'revoke', grantId: new Uint8Array(32).fill(1), scope: [], purposes: [], ranges: [], atMs: 5, deleted: 100, kept: 0 };
    const b = bOf(mintDiscovery('receipt', revoke));
    expect(b).toEqual({ k: 'revoke', g: new Uint8Array(32).fill(1), at_ms: 5, del: 100, kept: 0 });
    expect(receiptCodec.decode(b)).toEqual(revoke);
  });

  it('structural refusals are DecodeErrors', () => {
    const b = receiptB();
    const { rng: _rng, ...noRanges } = b;
    const { g: _g, ...noG } = b;
    const cases: [string, CborMap][] = [
      ['extra key', { ...b, note: 'x' }],
      ['unknown kind', { ...b, k: 'reject' }],
      ['g of 31 bytes', { ...b, g: new Uint8Array(31) }],
      ['empty scope list', { ...b, scope: [] }],
      ['empty purpose list', { ...b, purp: [] }],
      ['empty range list', { ...b, rng: [] }],
      ['65 slots', { ...b, scope: Array.from({ length: 65 }, (_, i) => `s${i}`) }],
      ['17 purposes', { ...b, purp: Array.from({ length: 17 }, (_, i) => `p${i}`) }],
      ['4097 ranges', { ...b, rng: Array.from({ length: 4097 }, () => ['a', 0, 1, 1]) }],
      ['slot twice', { ...b, scope: ['a', 'a'] }],
      ['range first > last', { ...b, rng: [['a', 0, 5, 4]] }],
      ['range of 3', { ...b, rng: [['a', 0, 5]] }],
      ['range of 5', { ...b, rng: [['a', 0, 1, 2, 3]] }],
      ['range slot empty', { ...b, rng: [['', 0, 1, 2]] }],
      ['negative seq', { ...b, rng: [['a', 0, -1, 2]] }],
      ['accept with del', { ...b, del: 1 }],
      ['accept with kept', { ...b, kept: 1 }],
      ['revoke with ranges', { ...b, k: 'revoke' }],
      ['no at_ms', { k: 'accept', g: b.g! }],
      ['no g', noG],
    ];
    for (const [name, m] of cases) expect(() => receiptCodec.decode(m), name).toThrow(DecodeError);
    expect(receiptCodec.decode({ ...noRanges, k: 'revoke', del: 3 }).deleted).toBe(3);
  });
});

describe('discovery-revocation body (OI §11.6)', () => {
  it('one grant and some slots, one grant entirely, or the whole relationship', () => {
    expect(bOf(mintDiscovery('discovery-revocation', revocationBody()))).toEqual({ g: new Uint8Array(32).fill(0x47), scope: ['tty-1'], at_ms: 1_767_225_700_000 });
    expect(bOf(mintDiscovery('discovery-revocation', { grantId: new Uint8Array(32), atMs: 1 }))).toEqual({ g: new Uint8Array(32), at_ms: 1 });
    const all = mintDiscovery('discovery-revocation', { atMs: 9 });
    expect(bOf(all)).toEqual({ at_ms: 9 });
    expect(openArtefact(provider, all, 'discovery-revocation').body).toEqual({ atMs: 9 });
  });

  it('an empty scope (which would revoke nothing) is refused at issue and at decode; extras refused', () => {
    expect(codeOf(() => mintDiscovery('discovery-revocation', { scope: [], atMs: 1 }))).toBe(CommonCode.DECODE_VALUE);
    for (const m of [{ scope: [], at_ms: 1 }, { at_ms: 1, x: 1 }, { g: new Uint8Array(33), at_ms: 1 }, { scope: ['a', 'a'], at_ms: 1 }, { scope: [''], at_ms: 1 }, {}]) {
      expect(() => discoveryRevocationCodec.decode(m as CborMap)).toThrow(DecodeError);
    }
  });
});

describe('common fields: issuer, audience, no subject', () => {
  it('each type requires an audience and forbids a subject (at issue and at decode)', () => {
    for (const type of ['discovery-grant', 'receipt', 'discovery-revocation'] as const) {
      const body = type === 'discovery-grant' ? discoveryGrantBody() : type === 'receipt' ? receiptBody() : revocationBody();
      expect(codeOf(() => mintDiscovery(type, body as never, { audience: undefined })), type).toBe(CommonCode.USAGE);
      expect(codeOf(() => mintDiscovery(type, body as never, { subject: operator.cid })), type).toBe(CommonCode.USAGE);
      // Hand-built body with a sub, signed correctly: still refused by the decoder.
      const bytes = mintDiscovery(type, body as never);
      const m = decodeCanonical(decodeEnvelope(provider, bytes).bodyBytes) as CborMap;
      const withSub = encodeCanonical({ ...m, sub: operator.cid });
      const signer = type === 'receipt' ? collector : publisher;
      const env = encodeCanonical({ body: withSub, sigs: [{ alg: 'ed25519', kid: signer.cid, sig: signer.signer.sign(artefactSignatureInput(type, withSub)) }] });
      expect(codeOf(() => openArtefact(provider, env, type)), type).toBe(CommonCode.DECODE_VALUE);
    }
  });

  it('non-canonical encodings of a valid body are refused (re-encode and compare), correctly signed or not', () => {
    const bytes = mintDiscovery('receipt', receiptBody({ scope: [], purposes: [], ranges: [] }));
    const m = decodeCanonical(decodeEnvelope(provider, bytes).bodyBytes) as CborMap;
    const g: Raw = { t: 'bytes', v: new Uint8Array(32).fill(0x47) };
    const atMs = (): Raw => ({ t: 'uint', v: 1_767_225_660_000 });
    const variants: [string, Raw][] = [
      ['g with a 2-byte length', { t: 'map', v: [[text('g'), { ...g, width: 2 } as Raw], [text('k'), text('accept')], [text('at_ms'), atMs()]] }],
      ['at_ms of 5 as a 9-byte integer', { t: 'map', v: [[text('g'), g], [text('k'), text('accept')], [text('at_ms'), { t: 'uint', v: 5, width: 8 }]] }],
      ['keys out of canonical order', { t: 'map', v: [[text('at_ms'), atMs()], [text('g'), g], [text('k'), text('accept')]] }],
      ['indefinite-length map', { t: 'map', indef: true, v: [[text('g'), g], [text('k'), text('accept')], [text('at_ms'), atMs()]] }],
    ];
    const canonical: Raw = { t: 'map', v: [[text('g'), g], [text('k'), text('accept')], [text('at_ms'), atMs()]] };
    const seal = (b: Raw): Uint8Array => {
      const r = raw({ ...m, b: 0 }) as Extract<Raw, { t: 'map' }>;
      const body = enc({ t: 'map', v: r.v.map(([k, v]) => [k, (k as { v: string }).v === 'b' ? b : v]) });
      return encodeCanonical({ body, sigs: [{ alg: 'ed25519', kid: collector.cid, sig: collector.signer.sign(artefactSignatureInput('receipt', body)) }] });
    };
    // The hand writer reproduces the canonical artefact byte for byte, so only the variation differs.
    expect(equal(seal(canonical), bytes)).toBe(true);
    for (const [name, b] of variants) expect(() => openArtefact(provider, seal(b), 'receipt'), name).toThrow(DecodeError);
  });
});

describe('validateDiscoveryGrant: bound to the authenticated publisher and collector (OI §9.1)', () => {
  const good = mintDiscovery('discovery-grant', discoveryGrantBody());

  it('accepts the grant from the authenticated publisher, for us, in its window', () => {
    const v = validateDiscoveryGrant(provider, good, grantCtx);
    expect(v.body).toEqual(discoveryGrantBody());
    expect(equal(v.issuer, publisher.cid) && equal(v.audience!, collector.cid)).toBe(true);
  });

  it('DISCOVERY_ISSUER: signed (validly) by another gateway than the one the session authenticated', () => {
    const other = mintDiscovery('discovery-grant', discoveryGrantBody(), {}, stranger);
    expect(codeOf(() => validateDiscoveryGrant(provider, other, grantCtx))).toBe(ErrorCode.DISCOVERY_ISSUER);
  });

  it('DISCOVERY_AUDIENCE: issued for another collector', () => {
    const forOther = mintDiscovery('discovery-grant', discoveryGrantBody(), { audience: stranger.cid });
    expect(codeOf(() => validateDiscoveryGrant(provider, forOther, grantCtx))).toBe(ErrorCode.DISCOVERY_AUDIENCE);
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, indexer: stranger.cid }))).toBe(ErrorCode.DISCOVERY_AUDIENCE);
  });

  it('window: ARTEFACT_NOT_YET_VALID and ARTEFACT_EXPIRED with the common skew rule', () => {
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, nowS: T0 - 301 }))).toBe(ErrorCode.ARTEFACT_NOT_YET_VALID);
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, nowS: T0 - 300 }))).toBe('no error');
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, nowS: T0 + 30 * DAY + 301 }))).toBe(ErrorCode.ARTEFACT_EXPIRED);
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, nowS: T0 + 30 * DAY + 300 }))).toBe('no error');
  });

  it('REVOKED: the grant object_id was revoked', () => {
    const id = decodeEnvelope(provider, good).objectId;
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, isRevoked: (x) => equal(x, id) }))).toBe(ErrorCode.REVOKED);
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, isRevoked: () => false }))).toBe('no error');
  });

  it('signatures: only the publisher key, exactly one signature, every bit covered', () => {
    // The CID the session authenticated, but a different key claimed for it: nothing verifies.
    expect(codeOf(() => validateDiscoveryGrant(provider, good, { ...grantCtx, publisher: { cid: publisher.cid, publicKey: stranger.publicKey } }))).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    const coSigned = mintDiscovery('discovery-grant', discoveryGrantBody(), {}, publisher, [root]);
    expect(codeOf(() => validateDiscoveryGrant(provider, coSigned, grantCtx))).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    const flipped = good.slice();
    flipped[flipped.length - 1]! ^= 1; // last byte of the signature
    expect(codeOf(() => validateDiscoveryGrant(provider, flipped, grantCtx))).toBe(ErrorCode.SIG_INVALID);
    // The root's signature means nothing here: consent is the publisher's own (OI §9.1).
    const byRoot = mintDiscovery('discovery-grant', discoveryGrantBody(), {}, root);
    expect(codeOf(() => validateDiscoveryGrant(provider, byRoot, grantCtx))).toBe(ErrorCode.DISCOVERY_ISSUER);
  });

  it('cheap checks come before the signature: a forged grant for another audience is refused by audience', () => {
    const forged = mintDiscovery('discovery-grant', discoveryGrantBody(), { audience: stranger.cid });
    forged[forged.length - 1]! ^= 1;
    expect(codeOf(() => validateDiscoveryGrant(provider, forged, grantCtx))).toBe(ErrorCode.DISCOVERY_AUDIENCE);
  });

  it('another artefact type is ARTEFACT_TYPE, even with the same signer', () => {
    expect(codeOf(() => validateDiscoveryGrant(provider, mintDiscovery('discovery-revocation', revocationBody()), grantCtx))).toBe(ErrorCode.ARTEFACT_TYPE);
  });
});

describe('validateReceipt (OI §11.5) and validateDiscoveryRevocation (OI §11.6)', () => {
  const grantId = new Uint8Array(32).fill(0x47);
  const rctx = { indexer: col, publisher: publisher.cid, grantId };
  const good = mintDiscovery('receipt', receiptBody());

  it('accepts a receipt from the authenticated collector, for us, answering the expected grant', () => {
    expect(validateReceipt(provider, good, rctx).body.ranges).toEqual([{ slot: 'rs485-1', epoch: 3, first: 1, last: 120 }]);
    const { grantId: _g, ...noGrant } = rctx;
    expect(codeOf(() => validateReceipt(provider, good, noGrant))).toBe('no error');
  });

  it('RECEIPT_ISSUER, DISCOVERY_AUDIENCE, RECEIPT_GRANT, SIG_UNKNOWN_SIGNER, SIG_INVALID', () => {
    expect(codeOf(() => validateReceipt(provider, mintDiscovery('receipt', receiptBody(), {}, stranger), rctx))).toBe(ErrorCode.RECEIPT_ISSUER);
    expect(codeOf(() => validateReceipt(provider, mintDiscovery('receipt', receiptBody(), { audience: stranger.cid }), rctx))).toBe(ErrorCode.DISCOVERY_AUDIENCE);
    expect(codeOf(() => validateReceipt(provider, good, { ...rctx, grantId: new Uint8Array(32) }))).toBe(ErrorCode.RECEIPT_GRANT);
    expect(codeOf(() => validateReceipt(provider, good, { ...rctx, indexer: { cid: collector.cid, publicKey: publisher.publicKey } }))).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    const flipped = good.slice();
    flipped[flipped.length - 2]! ^= 0x10;
    expect(codeOf(() => validateReceipt(provider, flipped, rctx))).toBe(ErrorCode.SIG_INVALID);
    // A receipt "from" the gateway itself (publisher signs a receipt to itself) is not the collector's.
    expect(codeOf(() => validateReceipt(provider, mintDiscovery('receipt', receiptBody(), {}, publisher), rctx))).toBe(ErrorCode.RECEIPT_ISSUER);
  });

  it('revocations: from the authenticated publisher for us, signed by it', () => {
    const rv = mintDiscovery('discovery-revocation', revocationBody());
    const ctx = { publisher: pub, indexer: collector.cid };
    expect(validateDiscoveryRevocation(provider, rv, ctx).body.scope).toEqual(['tty-1']);
    expect(codeOf(() => validateDiscoveryRevocation(provider, mintDiscovery('discovery-revocation', revocationBody(), {}, stranger), ctx))).toBe(ErrorCode.DISCOVERY_ISSUER);
    expect(codeOf(() => validateDiscoveryRevocation(provider, mintDiscovery('discovery-revocation', revocationBody(), { audience: stranger.cid }), ctx))).toBe(ErrorCode.DISCOVERY_AUDIENCE);
    expect(codeOf(() => validateDiscoveryRevocation(provider, rv, { ...ctx, publisher: { cid: publisher.cid, publicKey: collector.publicKey } }))).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    const flipped = rv.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(codeOf(() => validateDiscoveryRevocation(provider, flipped, ctx))).toBe(ErrorCode.SIG_INVALID);
  });
});

describe('property: whole artefacts round-trip through sign -> validate', () => {
  it('grants validate for the collector at any time inside their window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * DAY }), fc.integer({ min: 1, max: 36_500 }), (dt, ret) => {
        const body = discoveryGrantBody({ constraints: { retentionDays: Math.min(ret, 90) } });
        const v = validateDiscoveryGrant(provider, mintDiscovery('discovery-grant', body), { ...grantCtx, nowS: T0 + dt });
        expect(v.body).toEqual(body);
      }),
      { numRuns: 50 },
    );
  });
});
