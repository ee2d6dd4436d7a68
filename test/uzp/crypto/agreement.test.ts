// The provider rule (docs/PROFILE.md §Crypto): node and noble produce identical bytes on the same
// inputs, return the same verdicts, and refuse the same inputs with the same typed errors.
// Two gateways on different providers must never disagree about a signature or a key.

import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { nobleProvider as B } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider as N } from '../../../src/uzp/crypto/node.js';
import type { AeadAlgorithm } from '../../../src/uzp/crypto/provider.js';
import { hex, loadVectors } from './compliance.js';
import { CodedError } from '../../../src/lib/errors.js';

/** RFC 8410 §4 SubjectPublicKeyInfo prefix for a raw Ed25519 key. */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce12 = fc.uint8Array({ minLength: 12, maxLength: 12 });

/** Runs `f` on both providers; both must return equal values, or both throw the same typed error. */
function same<T>(f: (p: typeof N) => T): T | undefined {
  const run = (p: typeof N): { ok: true; v: T } | { ok: false; e: unknown } => {
    try {
      return { ok: true, v: f(p) };
    } catch (e) {
      return { ok: false, e };
    }
  };
  const [a, b] = [run(N), run(B)];
  if (a.ok && b.ok) {
    expect(b.v).toEqual(a.v);
    return a.v;
  }
  expect(a.ok, 'one provider threw and the other did not').toBe(b.ok);
  const [ea, eb] = [(a as { e: unknown }).e, (b as { e: unknown }).e];
  expect(ea).toBeInstanceOf(CodedError);
  expect(eb).toBeInstanceOf(CodedError);
  expect((eb as CodedError).code).toBe((ea as CodedError).code);
  expect((eb as CodedError).message).toBe((ea as CodedError).message);
  return undefined;
}

describe('node and noble agree: AEAD, hashes, KDF', () => {
  for (const alg of ['chacha20-poly1305', 'aes-256-gcm'] as AeadAlgorithm[]) {
    it(`${alg}: seal is byte-identical and each opens the other's output`, () => {
      fc.assert(
        fc.property(key32, nonce12, fc.uint8Array({ maxLength: 1100 }), fc.uint8Array({ maxLength: 100 }), (key, nonce, pt, ad) => {
          const sealed = same((p) => p.aead(alg, key).seal(nonce, pt, ad))!;
          expect(B.aead(alg, key).open(nonce, sealed, ad)).toEqual(pt);
          expect(N.aead(alg, key).open(nonce, sealed, ad)).toEqual(pt);
        }),
        { numRuns: 300 },
      );
    });

    it(`${alg}: open verdicts agree on mutated input`, () => {
      fc.assert(
        fc.property(key32, nonce12, fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (key, nonce, pt, at, x) => {
          const sealed = N.aead(alg, key).seal(nonce, pt, new Uint8Array(0));
          sealed[at % sealed.length]! ^= x;
          same((p) => p.aead(alg, key).open(nonce, sealed, new Uint8Array(0)));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('SHA-256, HMAC, HKDF-Extract/Expand and BLAKE3 agree on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 600 }), (a, b, info, len) => {
        same((p) => p.sha256(a));
        same((p) => p.hmacSha256(a, b));
        const prk = same((p) => p.hkdfExtract(a, b))!;
        same((p) => p.hkdfExpand(prk, info, len));
        same((p) => p.hkdfExpand(a, info, len)); // short PRKs: both refuse, identically
        same((p) => p.blake3(a, 1 + (len % 200)));
      }),
      { numRuns: 300 },
    );
  });

  it('refusals are identical: codes and messages', () => {
    for (const n of [0, 16, 31, 33]) {
      same((p) => p.aead('chacha20-poly1305', new Uint8Array(n)));
      same((p) => p.x25519(new Uint8Array(n), new Uint8Array(32)));
      same((p) => p.x25519(new Uint8Array(32).fill(1), new Uint8Array(n)));
      same((p) => p.ed25519PublicKey(new Uint8Array(n)));
      same((p) => p.signer(new Uint8Array(n)));
    }
    for (const bad of [-1, 8161, 2.5]) same((p) => p.hkdfExpand(new Uint8Array(32), new Uint8Array(0), bad));
    same((p) => p.aead('chacha20-poly1305', new Uint8Array(32)).seal(new Uint8Array(8), new Uint8Array(0), new Uint8Array(0)));
    same((p) => p.aead('rc4' as never, new Uint8Array(32)));
  });
});

describe('node and noble agree: X25519', () => {
  it('public keys and shared secrets are identical', () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        const pubB = same((p) => p.x25519PublicKey(b))!;
        same((p) => p.x25519(a, pubB));
      }),
      { numRuns: 100 },
    );
  });

  it('arbitrary 32-byte u-coordinates (twist points, non-canonical, high bit): same bytes or the same refusal', () => {
    fc.assert(
      fc.property(key32, key32, (a, u) => {
        same((p) => p.x25519(a, u));
      }),
      { numRuns: 100 },
    );
  });
});

describe('node and noble agree: Ed25519', () => {
  it('public keys and signatures are identical (RFC 8032 signing is deterministic)', () => {
    fc.assert(
      fc.property(key32, fc.uint8Array({ maxLength: 300 }), (seed, msg) => {
        const pub = same((p) => p.ed25519PublicKey(seed))!;
        const sig = same((p) => p.signer(seed).sign(msg))!;
        expect(same((p) => p.ed25519Verify(pub, msg, sig))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('verify verdicts agree on randomly mutated signatures, keys and messages', () => {
    const s = N.signer(new Uint8Array(32).fill(5));
    const msg = Uint8Array.of(1, 2, 3);
    const sig = s.sign(msg);
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, x) => {
        const parts = [s.publicKey.slice(), msg.slice(), sig.slice()] as const;
        const target = parts[which];
        target[at % target.length]! ^= x;
        same((p) => p.ed25519Verify(parts[0], parts[1], parts[2]));
      }),
      { numRuns: 300 },
    );
  });

  it('ed25519-speccheck edge cases: identical verdicts = OpenSSL cofactorless verdict minus small-order keys and small-order R', () => {
    const cases = loadVectors<{ cases: { message: string; pub_key: string; signature: string }[] }>('ed25519-speccheck.json').cases;
    expect(cases.length).toBe(15);
    let stockDisagreements = 0;
    const accepted: number[] = [];
    for (const [i, c] of cases.entries()) {
      const [pub, msg, sig] = [hex(c.pub_key), hex(c.message), hex(c.signature)];
      const openssl = nodeVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: 'der', type: 'spki' }), sig);
      let smallOrNonCanonical = true;
      try {
        smallOrNonCanonical = ed25519.Point.fromBytes(pub, false).isSmallOrder();
      } catch {
        // not a canonical encoding of a curve point
      }
      let smallR = false;
      try {
        smallR = ed25519.Point.fromBytes(sig.subarray(0, 32), false).isSmallOrder();
      } catch {
        // a non-canonical R never satisfies the equation
      }
      const ours = same((p) => p.ed25519Verify(pub, msg, sig));
      expect(ours, `case ${i}`).toBe(openssl && !smallOrNonCanonical && !smallR);
      if (ours) accepted.push(i);
      if (ed25519.verify(sig, msg, pub, { zip215: false }) !== openssl) stockDisagreements++;
    }
    // Not a tautology: stock OpenSSL and noble's cofactored verify disagree on several of these.
    expect(stockDisagreements).toBeGreaterThan(0);
    // The profile's verdicts, whatever OpenSSL the runtime brings (3.0 in Node 20, 3.5 in Node 24):
    // only case 6 (mixed-order A and R, cofactorless equation holds) verifies.
    expect(accepted).toEqual([6]);
  });

  // Crafted cases that separate cofactored from cofactorless verification (RFC 8032 §5.1.7 allows
  // either). Both providers must take the cofactorless path, as OpenSSL does.
  const Point = ed25519.Point;
  const L = Point.Fn.ORDER;
  const le = (b: Uint8Array): bigint => b.reduceRight((n, x) => (n << 8n) | BigInt(x), 0n);
  const leBytes = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint => le(sha512(Uint8Array.of(...R, ...A, ...M))) % L;

  it('R with a torsion component: cofactored verify accepts, both providers refuse', () => {
    const seed = new Uint8Array(32).fill(11);
    const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(seed);
    const T = Point.fromHex(ED25519_TORSION_SUBGROUP[1]!); // order 8
    for (let i = 0; i < 8; i++) {
      const M = Uint8Array.of(i);
      const r = 1000n + BigInt(i);
      const R = Point.BASE.multiply(r).add(T).toBytes();
      const S = (r + challenge(R, A, M) * a) % L;
      const sig = Uint8Array.of(...R, ...leBytes(S));
      expect(ed25519.verify(sig, M, A, { zip215: false }), 'the cofactored check accepts this').toBe(true);
      expect(same((p) => p.ed25519Verify(A, M, sig))).toBe(false);
    }
  });

  it('mixed-order public key (A + T, T of order 2): identical verdicts, and both outcomes occur', () => {
    const seed = new Uint8Array(32).fill(12);
    const { scalar: a, point } = ed25519.utils.getExtendedPublicKey(seed);
    const T2 = Point.fromHex(ED25519_TORSION_SUBGROUP[4]!); // (0, -1), order 2
    const A = point.add(T2).toBytes();
    const seen = new Set<boolean>();
    for (let i = 0; i < 32; i++) {
      const M = Uint8Array.of(i, 1);
      const r = 5000n + BigInt(i);
      const R = Point.BASE.multiply(r).toBytes();
      const k = challenge(R, A, M);
      const sig = Uint8Array.of(...R, ...leBytes((r + k * a) % L));
      // Cofactorless: [S]B - [k]A' = R - [k]T2, which equals R exactly when k is even.
      const v = same((p) => p.ed25519Verify(A, M, sig))!;
      expect(v).toBe(k % 2n === 0n);
      seen.add(v);
    }
    expect(seen.size).toBe(2);
  });
});
