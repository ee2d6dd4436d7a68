// parseTrustAnchor: a fixed anchor of the RFC 8032 TEST 2 key (vector), the refusals, and
// properties: a round trip with encodeTrustAnchor for any key and domain name, and any change of
// one field refused with FILE_INVALID (the only code a trust anchor file fails with).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileErrorCode } from '../../src/files/errors.js';
import { encodeTrustAnchor, MAX_DOMAIN, parseTrustAnchor, type TrustAnchor } from '../../src/files/trust-anchor.js';
import { CodedError } from '../../src/lib/errors.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';
import { codeOf } from '../helpers/errors.js';

// RFC 8032 §7.1 TEST 2 public key, and its CID (BLAKE3-256).
const PUBLIC = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const CID = '1027e035b26b605dc6d4b78d07dc29660fcc3498b598a2e57c4e6b1b673a1e95';
const VECTOR = `{"kind":"uzp-gw/trust-anchor","domain":"plant.example","root_public":"${PUBLIC}","root_cid":"${CID}"}`;

const parse = (text: string): TrustAnchor => parseTrustAnchor(provider, text, 'anchor.json');

function decodeCode(text: string): string {
  try {
    parse(text);
    return 'ok';
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

describe('trust anchor vectors', () => {
  it('decodes the pinned anchor of the RFC 8032 TEST 2 key', () => {
    const a = parse(VECTOR);
    expect({ domain: a.domain, rootPublicKey: toHex(a.rootPublicKey), rootCid: toHex(a.rootCid) }).toEqual({ domain: 'plant.example', rootPublicKey: PUBLIC, rootCid: CID });
    const id = identityFromSeed(provider, fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'));
    expect(toHex(id.publicKey)).toBe(PUBLIC);
    expect(JSON.parse(encodeTrustAnchor({ domain: 'plant.example', rootPublicKey: id.publicKey, rootCid: id.cid }))).toEqual(JSON.parse(VECTOR));
  });

  it('refuses every malformed anchor with FILE_INVALID, naming the file and the field', () => {
    const v = JSON.parse(VECTOR);
    const cases: unknown[] = [
      { ...v, kind: 'uzp-gw/enroll-request' },
      { ...v, extra: true },
      { ...v, domain: '' },
      { ...v, domain: 'd'.repeat(MAX_DOMAIN + 1) },
      { ...v, domain: 7 },
      { kind: v.kind, root_public: PUBLIC, root_cid: CID },
      { ...v, root_public: PUBLIC.toUpperCase() },
      { ...v, root_public: `${PUBLIC}00` },
      { ...v, root_cid: CID.slice(1) },
      { ...v, root_cid: '00'.repeat(32) },
      { ...v, root_cid: PUBLIC },
      null,
      [],
      'anchor',
    ];
    for (const o of cases) expect(codeOf(() => parse(JSON.stringify(o))), JSON.stringify(o)).toBe(FileErrorCode.FILE_INVALID);
    expect(parse(JSON.stringify({ ...v, domain: 'd'.repeat(MAX_DOMAIN) })).domain.length).toBe(MAX_DOMAIN);
    expect(() => parse(JSON.stringify({ ...v, root_cid: '00'.repeat(32) }))).toThrow('anchor.json: "root_cid" is not BLAKE3-256 of "root_public"');
    expect(() => parse(JSON.stringify({ ...v, domain: '' }))).toThrow('anchor.json: field "domain" must be a text of 1..253 characters');
    expect(codeOf(() => parse(VECTOR.replace('"domain"', '"domain":"x","domain"')))).toBe(FileErrorCode.FILE_INVALID);
  });
});

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const domainArb = fc.oneof(fc.domain(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 })).filter((d) => d.length >= 1 && d.length <= MAX_DOMAIN);

describe('trust anchor properties', () => {
  it('parse(encode(anchor)) gives back any key and domain', () => {
    fc.assert(
      fc.property(seedArb, domainArb, (seed, domain) => {
        const id = identityFromSeed(provider, seed);
        const a = { domain, rootPublicKey: id.publicKey, rootCid: id.cid };
        expect(parse(encodeTrustAnchor(a))).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });

  it('any change of one field is refused with FILE_INVALID (a new domain name aside, which is not signed)', () => {
    const valueArb = fc.oneof(fc.jsonValue({ maxDepth: 1 }), seedArb.map((b) => toHex(b)), fc.constant(PUBLIC), fc.constant(CID));
    fc.assert(
      fc.property(seedArb, fc.constantFrom('kind', 'root_public', 'root_cid', 'domain'), valueArb, (seed, field, value) => {
        const id = identityFromSeed(provider, seed);
        const o = JSON.parse(encodeTrustAnchor({ domain: 'd.example', rootPublicKey: id.publicKey, rootCid: id.cid }));
        fc.pre(JSON.stringify(o[field]) !== JSON.stringify(value));
        o[field] = value;
        const code = decodeCode(JSON.stringify(o));
        if (field === 'domain' && typeof value === 'string' && value.length >= 1 && value.length <= MAX_DOMAIN) expect(code).toBe('ok');
        else expect(code).toBe(FileErrorCode.FILE_INVALID);
      }),
      { numRuns: 600 },
    );
  });

  it('a root_cid of another key is refused', () => {
    fc.assert(
      fc.property(seedArb, seedArb, (a, b) => {
        fc.pre(toHex(a) !== toHex(b));
        const ia = identityFromSeed(provider, a);
        const ib = identityFromSeed(provider, b);
        expect(codeOf(() => parse(encodeTrustAnchor({ domain: 'x', rootPublicKey: ia.publicKey, rootCid: ib.cid })))).toBe(FileErrorCode.FILE_INVALID);
      }),
      { numRuns: 100 },
    );
  });
});
