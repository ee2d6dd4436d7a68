import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { CryptoError, ErrorCode } from '../../../src/uzp/errors.js';
import { CID_LENGTH, cidOf, cidToString, parseCid } from '../../../src/uzp/identity/cid.js';
import { generateIdentity, identityFromSeed } from '../../../src/uzp/identity/identity.js';
import { blake3SingleBlock } from './blake3-ref.js';
import { DecodeError } from '../../../src/lib/errors.js';

// RFC 8032 §7.1 TEST 1.
const RFC8032_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC8032_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

describe('reference BLAKE3 (test helper)', () => {
  it('matches the published BLAKE3 hash of the empty input', () => {
    // From the official BLAKE3 test_vectors.json (input_len 0, first 32 bytes of "hash").
    expect(toHex(blake3SingleBlock(new Uint8Array(0)))).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });
  it('agrees with the provider on random inputs up to 64 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        expect(toHex(blake3SingleBlock(b))).toBe(toHex(nodeProvider.blake3(b)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('CID', () => {
  it('is BLAKE3-256 of the Ed25519 public key (RFC 8032 test 1 key, hand-checked)', () => {
    const id = identityFromSeed(nodeProvider, fromHex(RFC8032_SEED));
    expect(toHex(id.publicKey)).toBe(RFC8032_PUBLIC);
    expect(toHex(id.cid)).toBe(toHex(blake3SingleBlock(fromHex(RFC8032_PUBLIC))));
    expect(id.cid.length).toBe(CID_LENGTH);
  });

  it('string form round-trips and is 64 lowercase hex characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        const s = cidToString(b);
        expect(s).toMatch(/^[0-9a-f]{64}$/);
        expect(toHex(parseCid(s))).toBe(toHex(b));
      }),
    );
  });

  it('parseCid is strict', () => {
    const good = 'ab'.repeat(32);
    for (const bad of ['', 'ab'.repeat(31), 'ab'.repeat(33), 'AB'.repeat(32), 'zz'.repeat(32), ' ' + good.slice(1), good + '\n']) {
      expect(() => parseCid(bad)).toThrow(DecodeError);
    }
    expect(() => parseCid(123 as unknown as string)).toThrow(DecodeError);
  });

  it('parseCid throws only DecodeError on junk', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          parseCid(s);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('cidOf refuses keys of the wrong length', () => {
    expect(() => cidOf(nodeProvider, new Uint8Array(31))).toThrow(CryptoError);
    // toThrow with the code: the old try/catch passed silently when nothing threw.
    expect(() => cidOf(nodeProvider, new Uint8Array(33))).toThrow(expect.objectContaining({ code: ErrorCode.CRYPTO_BAD_KEY }));
  });
});

describe('Identity', () => {
  it('identityFromSeed is deterministic and signs verifiably', () => {
    const a = identityFromSeed(nodeProvider, fromHex(RFC8032_SEED));
    const b = identityFromSeed(nodeProvider, fromHex(RFC8032_SEED));
    expect(toHex(a.cid)).toBe(toHex(b.cid));
    const msg = new TextEncoder().encode('hello');
    expect(nodeProvider.ed25519Verify(a.publicKey, msg, a.signer.sign(msg))).toBe(true);
  });
  it('identityFromSeed copies the seed and refuses bad lengths', () => {
    const seed = fromHex(RFC8032_SEED);
    const id = identityFromSeed(nodeProvider, seed);
    seed.fill(0);
    expect(toHex(id.seed)).toBe(RFC8032_SEED);
    expect(() => identityFromSeed(nodeProvider, new Uint8Array(16))).toThrow(CryptoError);
  });
  it('generateIdentity gives distinct identities', () => {
    const a = generateIdentity(nodeProvider);
    const b = generateIdentity(nodeProvider);
    expect(toHex(a.cid)).not.toBe(toHex(b.cid));
    expect(toHex(a.cid)).toBe(toHex(cidOf(nodeProvider, a.publicKey)));
  });
});
