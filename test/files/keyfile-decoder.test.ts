// parseKeyFile properties: a round trip with encodeKeyFile for any seed, and the one code every
// refusal carries (KEY_FILE_INVALID, naming the file) whatever is wrong: mismatched halves,
// wrong types, junk text. A key file that parses is always a consistent identity.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileErrorCode } from '../../src/files/errors.js';
import { encodeKeyFile, parseKeyFile } from '../../src/files/keyfile.js';
import { CodedError } from '../../src/lib/errors.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { identityFromSeed, type Identity } from '../../src/uzp/identity/identity.js';
import { cidOf } from '../../src/uzp/identity/cid.js';

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const parse = (text: string): Identity => parseKeyFile(provider, text, '/keys/gw.key');

function decode(text: string): Identity | CodedError {
  try {
    return parse(text);
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`, { cause: e });
    return e;
  }
}

function expectRefused(text: string): void {
  const r = decode(text);
  expect(r).toBeInstanceOf(CodedError);
  expect((r as CodedError).code).toBe(FileErrorCode.KEY_FILE_INVALID);
  expect((r as CodedError).message.startsWith('/keys/gw.key')).toBe(true);
}

describe('key file properties', () => {
  it('parse(encode(identity)) gives back the seed, public key and CID of any seed', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const id = identityFromSeed(provider, seed);
        const back = parse(encodeKeyFile(id));
        expect(toHex(back.seed)).toBe(toHex(seed));
        expect(toHex(back.publicKey)).toBe(toHex(id.publicKey));
        expect(toHex(back.cid)).toBe(toHex(cidOf(provider, id.publicKey)));
        // The identity signs as the original does.
        const msg = new Uint8Array([1, 2, 3]);
        expect(provider.ed25519Verify(id.publicKey, msg, back.signer.sign(msg))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a public key or CID of another seed is refused (a corrupted or edited file)', () => {
    fc.assert(
      fc.property(seedArb, seedArb, fc.constantFrom('public', 'cid', 'seed'), (a, b, field) => {
        fc.pre(toHex(a) !== toHex(b));
        const o = JSON.parse(encodeKeyFile(identityFromSeed(provider, a)));
        o[field] = JSON.parse(encodeKeyFile(identityFromSeed(provider, b)))[field];
        expectRefused(JSON.stringify(o));
      }),
      { numRuns: 200 },
    );
  });

  it('any other value in any field, or any extra or missing field, is refused with KEY_FILE_INVALID', () => {
    const valueArb = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      seedArb.map((b) => toHex(b).toUpperCase()),
      fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => toHex(b)),
      fc.stringMatching(/^[0-9a-g]{64}$/),
    );
    fc.assert(
      fc.property(seedArb, fc.constantFrom('kind', 'seed', 'public', 'cid', 'extra'), fc.option(valueArb, { nil: undefined }), (seed, field, value) => {
        const o = JSON.parse(encodeKeyFile(identityFromSeed(provider, seed)));
        fc.pre(JSON.stringify(o[field]) !== JSON.stringify(value));
        if (value === undefined) delete o[field];
        else o[field] = value;
        fc.pre(field !== 'extra' || value !== undefined);
        expectRefused(JSON.stringify(o));
      }),
      { numRuns: 1000 },
    );
  });

  it('junk text and truncations are refused with KEY_FILE_INVALID only', () => {
    const good = encodeKeyFile(identityFromSeed(provider, new Uint8Array(32).fill(9)));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.json({ maxDepth: 3 }), fc.nat({ max: good.length - 2 }).map((n) => good.slice(0, n))), (text) => {
        expectRefused(text);
      }),
      { numRuns: 2000 },
    );
    // Only the final newline may go.
    expect(toHex(parse(good.trimEnd()).seed)).toBe('09'.repeat(32));
  });
});
