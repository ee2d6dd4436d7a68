// parseEnrollRequest: a fixed request of the RFC 8032 TEST 1 key (vector), the refusals with their
// codes, and properties: a round trip with createEnrollRequest/encodeEnrollRequest for any key,
// name and role, and any altered field refused (FILE_INVALID or SIG_INVALID, nothing else).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEnrollRequest, encodeEnrollRequest, parseEnrollRequest } from '../../src/files/enroll-request.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { CodedError } from '../../src/lib/errors.js';
import { ROLES } from '../../src/uzp/artefacts/pcert.js';
import type { Role } from '../../src/uzp/artefacts/types.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';
import { codeOf } from '../helpers/errors.js';

// RFC 8032 §7.1 TEST 1.
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
/** BLAKE3-256(PUBLIC). */
const CID = '6c31041268f471609c79f5f2dbcc38e4a4ab2f4d416109a4e09fcf50fd0f0062';
/** Ed25519 (deterministic) over the enroll-request input of {cid, pk, name: "gw-17", role: "gateway"}. */
const POP = '69777e4ac60dfbb94465fc3bd32434211b05d89a19101683bc54aa7faede50ebc5ca8a4c9adead4e067cbade8f3536ce3fac4bfd8e1365fabe3745bd509fec06';
const VECTOR = `{"kind":"uzp-gw/enroll-request","public":"${PUBLIC}","cid":"${CID}","name":"gw-17","role":"gateway","pop":"${POP}"}`;

const id = identityFromSeed(provider, fromHex(SEED));
const parse = (text: string): ReturnType<typeof parseEnrollRequest> => parseEnrollRequest(provider, text, 'req.json');

function decodeCode(text: string): string {
  try {
    parse(text);
    return 'ok';
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

describe('enrollment request vectors', () => {
  it('the RFC 8032 TEST 1 key: public key, CID and proof of possession as pinned', () => {
    expect(toHex(id.publicKey)).toBe(PUBLIC);
    const r = parse(VECTOR);
    expect({ publicKey: toHex(r.publicKey), cid: toHex(r.cid), name: r.name, role: r.role, pop: toHex(r.pop) }).toEqual({ publicKey: PUBLIC, cid: CID, name: 'gw-17', role: 'gateway', pop: POP });
    // What createEnrollRequest makes of the same key, name and role is exactly this request.
    expect(JSON.parse(encodeEnrollRequest(createEnrollRequest(id, { name: 'gw-17', role: 'gateway' })))).toEqual(JSON.parse(VECTOR));
  });

  it('name and role are optional, and signed when present', () => {
    const bare = parse(encodeEnrollRequest(createEnrollRequest(id)));
    expect(toHex(bare.cid)).toBe(CID);
    expect('name' in bare || 'role' in bare).toBe(false);
    // The vector's pop does not cover a request without its name.
    const o = JSON.parse(VECTOR);
    delete o.name;
    expect(codeOf(() => parse(JSON.stringify(o)))).toBe(ErrorCode.SIG_INVALID);
  });

  it('refusals: malformed -> FILE_INVALID, cid or pop that do not match -> SIG_INVALID', () => {
    const v = JSON.parse(VECTOR);
    const cases: [unknown, string][] = [
      [{ ...v, kind: 'uzp-gw/trust-anchor' }, FileErrorCode.FILE_INVALID],
      [{ ...v, extra: 1 }, FileErrorCode.FILE_INVALID],
      [{ ...v, public: PUBLIC.toUpperCase() }, FileErrorCode.FILE_INVALID],
      [{ ...v, public: PUBLIC.slice(2) }, FileErrorCode.FILE_INVALID],
      [{ ...v, cid: 7 }, FileErrorCode.FILE_INVALID],
      [{ ...v, pop: POP.slice(0, 126) }, FileErrorCode.FILE_INVALID],
      [{ ...v, name: '' }, FileErrorCode.FILE_INVALID],
      [{ ...v, name: 'n'.repeat(257) }, FileErrorCode.FILE_INVALID],
      [{ ...v, role: 'admin' }, FileErrorCode.FILE_INVALID],
      [{ ...v, role: null }, FileErrorCode.FILE_INVALID],
      [[v], FileErrorCode.FILE_INVALID],
      [{ ...v, cid: '00'.repeat(32) }, ErrorCode.SIG_INVALID],
      [{ ...v, pop: '00'.repeat(64) }, ErrorCode.SIG_INVALID],
      [{ ...v, name: 'gw-18' }, ErrorCode.SIG_INVALID],
      [{ ...v, role: 'operator' }, ErrorCode.SIG_INVALID],
    ];
    for (const [o, code] of cases) expect(codeOf(() => parse(JSON.stringify(o))), JSON.stringify(o).slice(0, 100)).toBe(code);
    expect(codeOf(() => parse(VECTOR.slice(0, -1)))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parse(VECTOR.replace('"name"', '"role":"rn","name"')))).toBe(FileErrorCode.FILE_INVALID); // duplicated key
    expect(() => parse(JSON.stringify({ ...v, pop: '00'.repeat(64) }))).toThrow(/req\.json: proof of possession does not verify/);
  });
});

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nameArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => s.length <= 256);
const roleArb = fc.constantFrom<Role>(...ROLES);

describe('enrollment request properties', () => {
  it('parse(encode(create(key, name, role))) gives back the key, CID, name, role and pop', () => {
    fc.assert(
      fc.property(seedArb, fc.option(nameArb, { nil: undefined }), fc.option(roleArb, { nil: undefined }), (seed, name, role) => {
        const who = identityFromSeed(provider, seed);
        const req = createEnrollRequest(who, { ...(name !== undefined ? { name } : {}), ...(role !== undefined ? { role } : {}) });
        const r = parse(encodeEnrollRequest(req));
        expect(r).toEqual(req);
        expect(toHex(r.cid)).toBe(toHex(who.cid));
        expect(r.name).toBe(name);
        expect(r.role).toBe(role);
      }),
      { numRuns: 300 },
    );
  });

  it('any change of one field of a valid request is refused: FILE_INVALID or SIG_INVALID', () => {
    const fields = ['kind', 'public', 'cid', 'name', 'role', 'pop'] as const;
    const valueArb = fc.oneof(
      fc.jsonValue({ maxDepth: 1 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b)),
      fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => toHex(b)),
      nameArb,
      roleArb,
    );
    fc.assert(
      fc.property(seedArb, nameArb, roleArb, fc.constantFrom(...fields), valueArb, (seed, name, role, field, value) => {
        const o = JSON.parse(encodeEnrollRequest(createEnrollRequest(identityFromSeed(provider, seed), { name, role })));
        fc.pre(JSON.stringify(o[field]) !== JSON.stringify(value));
        o[field] = value;
        const code = decodeCode(JSON.stringify(o));
        expect([FileErrorCode.FILE_INVALID, ErrorCode.SIG_INVALID]).toContain(code);
      }),
      { numRuns: 500 },
    );
  });

  it('a request signed by another key than the one it names is SIG_INVALID', () => {
    fc.assert(
      fc.property(seedArb, seedArb, roleArb, (a, b, role) => {
        fc.pre(toHex(a) !== toHex(b));
        const ra = createEnrollRequest(identityFromSeed(provider, a), { role });
        const rb = createEnrollRequest(identityFromSeed(provider, b), { role });
        expect(codeOf(() => parse(encodeEnrollRequest({ ...ra, pop: rb.pop })))).toBe(ErrorCode.SIG_INVALID);
        expect(codeOf(() => parse(encodeEnrollRequest({ ...ra, publicKey: rb.publicKey })))).toBe(ErrorCode.SIG_INVALID);
      }),
      { numRuns: 100 },
    );
  });
});
