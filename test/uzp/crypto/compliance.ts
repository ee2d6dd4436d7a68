// Reusable compliance suite: every CryptoProvider must pass it (js-libp2p style). It registers
// vitest tests; call runProviderCompliance(provider) from a *.test.ts file, once per provider.
// Official vectors come from test/vectors/*.json (sources in test/vectors/README.md).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { shake128 } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { CryptoError, ErrorCode } from '../../../src/uzp/errors.js';
import type { AeadAlgorithm, CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import {
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_LENGTH,
  MLKEM768_SECRET_LENGTH,
  MLKEM768_SEED_LENGTH,
  MLKEM768_SHARED_LENGTH,
} from '../../../src/uzp/crypto/provider.js';
import { isCodedError } from '../../../src/lib/errors.js';
import { concat } from '../../../src/uzp/bytes.js';

// ---------------------------------------------------------------------------------------------
// vector loading

export function loadVectors<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../../vectors/${file}`, import.meta.url), 'utf8')) as T;
}

export const hex = (s: string): Uint8Array => {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) throw new Error(`bad hex in a vector file: ${s.slice(0, 20)}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
};
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export type InputSpec = { hex: string } | { ascii: string } | { repeat: string; count: number };
export function input(spec: InputSpec): Uint8Array {
  if ('hex' in spec) return hex(spec.hex);
  if ('ascii' in spec) return new TextEncoder().encode(spec.ascii);
  return new Uint8Array(spec.count).fill(parseInt(spec.repeat, 16));
}

export interface AeadVector {
  name: string;
  key: string;
  nonce: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}
export interface Ed25519Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
export interface Rfc7748File {
  x25519: { name: string; scalar: string; u: string; output: string }[];
  iterated: { start: string; results: { iterations: number; output: string }[] };
  dh: { alicePrivate: string; alicePublic: string; bobPrivate: string; bobPublic: string; shared: string };
  lowOrder: { u: string[] };
}

/** The RFC 7748 field prime p = 2^255 - 19. */
export const P25519 = 2n ** 255n - 19n;

/** Low-order u-coordinates from rfc7748.json, each as 32 little-endian bytes, plus the same with bit 255 set. */
export function lowOrderEncodings(): { label: string; u: Uint8Array }[] {
  const file = loadVectors<Rfc7748File>('rfc7748.json');
  const out: { label: string; u: Uint8Array }[] = [];
  for (const s of file.lowOrder.u) {
    const m = /^p([+-]\d+)?$/.exec(s);
    const n = m ? P25519 + BigInt(m[1] ?? '0') : BigInt(s);
    const u = new Uint8Array(32);
    for (let i = 0, v = n; i < 32; i++, v >>= 8n) u[i] = Number(v & 0xffn);
    out.push({ label: s, u });
    const high = u.slice();
    high[31]! |= 0x80; // RFC 7748 §5: bit 255 is masked, so this is the same u
    out.push({ label: `${s} with bit 255 set`, u: high });
  }
  return out;
}

/** Expects `fn` to throw a CryptoError with `code`. */
export function expectCryptoError(fn: () => unknown, code: ErrorCode = ErrorCode.CRYPTO_BAD_KEY): CryptoError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a CryptoError').toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
  return caught as CryptoError;
}

const ALGORITHMS: readonly AeadAlgorithm[] = ['chacha20-poly1305', 'aes-256-gcm'];
const SLOW = process.env['UZP_SLOW_TESTS'] === '1';

export interface ComplianceOptions {
  /** fast-check runs for properties that do curve arithmetic (pure-JS curves are ~50x slower). */
  curveRuns?: number;
}

// ---------------------------------------------------------------------------------------------

export function runProviderCompliance(p: CryptoProvider, options: ComplianceOptions = {}): void {
  const curveRuns = options.curveRuns ?? 100;

  describe(`${p.name} provider: AEAD`, () => {
    const files: [string, AeadAlgorithm][] = [
      ['rfc8439.json', 'chacha20-poly1305'],
      ['aes256gcm.json', 'aes-256-gcm'],
    ];
    for (const [file, alg] of files) {
      for (const v of loadVectors<{ aead: AeadVector[] }>(file).aead) {
        it(`${alg}: ${v.name}`, () => {
          const aead = p.aead(alg, hex(v.key));
          expect(aead.algorithm).toBe(alg);
          const sealed = aead.seal(hex(v.nonce), hex(v.plaintext), hex(v.aad));
          expect(toHex(sealed)).toBe(v.ciphertext + v.tag);
          // In pieces (node: ciphertext, then tag): exactly the same bytes once joined.
          const pieces = aead.sealPieces(hex(v.nonce), hex(v.plaintext), hex(v.aad));
          expect(pieces.length).toBeGreaterThanOrEqual(1);
          expect(pieces.map(toHex).join('')).toBe(v.ciphertext + v.tag);
          const opened = aead.open(hex(v.nonce), hex(v.ciphertext + v.tag), hex(v.aad));
          expect(opened).not.toBeNull();
          expect(toHex(opened!)).toBe(v.plaintext);
        });
      }
    }

    for (const alg of ALGORITHMS) {
      it(`${alg}: round trip on random inputs`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 64 }), (key, nonce, pt, ad) => {
            const aead = p.aead(alg, key);
            const sealed = aead.seal(nonce, pt, ad);
            expect(sealed.length).toBe(pt.length + 16);
            expect(aead.open(nonce, sealed, ad)).toEqual(pt);
            expect(concat(...aead.sealPieces(nonce, pt, ad))).toEqual(sealed);
          }),
          { numRuns: 300 },
        );
      });

      it(`${alg}: open rejects any single flipped bit of ciphertext, tag, nonce or AD`, () => {
        fc.assert(
          fc.property(
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
            fc.uint8Array({ minLength: 12, maxLength: 12 }),
            fc.uint8Array({ maxLength: 100 }),
            fc.uint8Array({ maxLength: 40 }),
            fc.nat(),
            (key, nonce, pt, ad, pick) => {
              const aead = p.aead(alg, key);
              const sealed = aead.seal(nonce, pt, ad);
              // One bit anywhere in nonce || ciphertext || tag || AD.
              const total = (nonce.length + sealed.length + ad.length) * 8;
              const bit = pick % total;
              const [n2, s2, a2] = [nonce.slice(), sealed.slice(), ad.slice()];
              let byte = bit >> 3;
              const mask = 1 << (bit & 7);
              if (byte < n2.length) n2[byte]! ^= mask;
              else if ((byte -= n2.length) < s2.length) s2[byte]! ^= mask;
              else a2[byte - s2.length]! ^= mask;
              expect(aead.open(n2, s2, a2)).toBeNull();
            },
          ),
          { numRuns: 1000 },
        );
      });

      it(`${alg}: open returns null (never throws) on 10,000 junk inputs`, () => {
        const aead = p.aead(alg, new Uint8Array(32).fill(7));
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 20 }), (nonce, sealed, ad) => {
            expect(aead.open(nonce, sealed, ad)).toBeNull(); // a forgery has odds 2^-128
          }),
          { numRuns: 10_000 },
        );
        // Non-bytes from a confused caller are refused the same way.
        expect(aead.open(undefined as never, new Uint8Array(32), new Uint8Array(0))).toBeNull();
      });

      it(`${alg}: wrong-length key or nonce is a typed CryptoError`, () => {
        for (let n = 0; n <= 64; n++) {
          if (n !== 32) expectCryptoError(() => p.aead(alg, new Uint8Array(n)));
        }
        expectCryptoError(() => p.aead(alg, 'k'.repeat(32) as never));
        const aead = p.aead(alg, new Uint8Array(32));
        for (const n of [0, 8, 11, 13, 16, 24]) expectCryptoError(() => aead.seal(new Uint8Array(n), new Uint8Array(1), new Uint8Array(0)));
        for (const n of [0, 8, 11, 13, 16, 24]) expectCryptoError(() => aead.sealPieces(new Uint8Array(n), new Uint8Array(1), new Uint8Array(0)));
        expectCryptoError(() => aead.sealPieces(new Uint8Array(12), 'p' as never, new Uint8Array(0)));
      });

      it(`${alg}: the AEAD keeps its own copy of the key`, () => {
        const key = new Uint8Array(32).fill(1);
        const aead = p.aead(alg, key);
        const nonce = new Uint8Array(12);
        const before = aead.seal(nonce, new Uint8Array(5), new Uint8Array(0));
        key.fill(0); // the caller wipes its key
        expect(aead.seal(nonce, new Uint8Array(5), new Uint8Array(0))).toEqual(before);
      });
    }

    it('an unknown algorithm is refused', () => {
      expectCryptoError(() => p.aead('aes-128-gcm' as never, new Uint8Array(32)));
    });
  });

  describe(`${p.name} provider: hashes and KDF`, () => {
    const sh = loadVectors<{
      sha256: { name: string; message: InputSpec; digest: string }[];
      hmacSha256: { name: string; key: InputSpec; data: InputSpec; mac: string }[];
    }>('sha256-hmac.json');
    for (const v of sh.sha256) {
      it(`SHA-256: ${v.name}`, () => expect(toHex(p.sha256(input(v.message)))).toBe(v.digest));
    }
    for (const v of sh.hmacSha256) {
      it(`HMAC-SHA-256: ${v.name}`, () => {
        const mac = p.hmacSha256(input(v.key), input(v.data));
        expect(mac.length).toBe(32);
        expect(toHex(mac.subarray(0, v.mac.length / 2))).toBe(v.mac);
      });
    }

    for (const v of loadVectors<{ hkdfSha256: { name: string; ikm: string; salt: string; info: string; L: number; prk: string; okm: string }[] }>('rfc5869.json').hkdfSha256) {
      it(`HKDF-SHA-256: ${v.name}`, () => {
        const prk = p.hkdfExtract(hex(v.salt), hex(v.ikm));
        expect(toHex(prk)).toBe(v.prk);
        expect(toHex(p.hkdfExpand(prk, hex(v.info), v.L))).toBe(v.okm);
      });
    }

    it('HKDF-Expand enforces RFC 5869 §2.3 bounds with typed errors', () => {
      const prk = new Uint8Array(32).fill(3);
      expect(p.hkdfExpand(prk, new Uint8Array(0), 0)).toEqual(new Uint8Array(0));
      expect(p.hkdfExpand(prk, new Uint8Array(0), 255 * 32).length).toBe(8160);
      for (const bad of [8161, -1, 1.5, Number.NaN, Infinity]) expectCryptoError(() => p.hkdfExpand(prk, new Uint8Array(0), bad));
      expectCryptoError(() => p.hkdfExpand(new Uint8Array(31), new Uint8Array(0), 32)); // PRK < HashLen
      // Prefix property: a shorter output is a prefix of a longer one.
      expect(p.hkdfExpand(prk, Uint8Array.of(1), 40).subarray(0, 33)).toEqual(p.hkdfExpand(prk, Uint8Array.of(1), 33));
    });

    it('HKDF-Extract: an empty salt means HashLen zero bytes (RFC 5869 §2.2)', () => {
      const ikm = Uint8Array.of(1, 2, 3);
      expect(p.hkdfExtract(new Uint8Array(0), ikm)).toEqual(p.hkdfExtract(new Uint8Array(32), ikm));
    });

    const b3 = loadVectors<{ cases: { input_len: number; hash: string }[] }>('blake3.json');
    for (const v of b3.cases) {
      it(`BLAKE3: official vector, input_len ${v.input_len}`, () => {
        const data = new Uint8Array(v.input_len).map((_, i) => i % 251);
        expect(toHex(p.blake3(data))).toBe(v.hash.slice(0, 64));
        expect(toHex(p.blake3(data, v.hash.length / 2))).toBe(v.hash);
      });
    }
    it('BLAKE3: a bad output length is a typed CryptoError', () => {
      for (const n of [0, -1, 1.5, (1 << 16) + 1]) expectCryptoError(() => p.blake3(new Uint8Array(1), n));
    });
    it('BLAKE3 incremental: the official vectors, fed in uneven pieces, equal the one-shot hash', () => {
      for (const v of b3.cases) {
        const data = new Uint8Array(v.input_len).map((_, i) => i % 251);
        const h = p.blake3Hasher();
        // Pieces of 1, 2, 3… bytes: every chunk (1024) and block (64) boundary is crossed mid-piece somewhere.
        for (let o = 0, k = 1; o < data.length; o += k, k++) h.update(data.subarray(o, o + k));
        expect(toHex(h.digest()), `input_len ${v.input_len}`).toBe(v.hash.slice(0, 64));
      }
    });
    it('BLAKE3 incremental: use after digest and non-bytes input are typed CryptoErrors', () => {
      const h = p.blake3Hasher();
      expectCryptoError(() => h.update('abc' as never));
      h.update(Uint8Array.of(1));
      h.digest();
      expectCryptoError(() => h.update(Uint8Array.of(2)));
      expectCryptoError(() => h.digest());
    });
  });

  describe(`${p.name} provider: X25519`, () => {
    const v = loadVectors<Rfc7748File>('rfc7748.json');
    for (const t of v.x25519) {
      it(t.name, () => expect(toHex(p.x25519(hex(t.scalar), hex(t.u)))).toBe(t.output));
    }
    for (const r of v.iterated.results) {
      it(`RFC 7748 §5.2 iterated X25519, ${r.iterations} iteration(s)`, () => {
        let k = hex(v.iterated.start);
        let u = hex(v.iterated.start);
        for (let i = 0; i < r.iterations; i++) [k, u] = [p.x25519(k, u), k];
        expect(toHex(k)).toBe(r.output);
      });
    }
    it('RFC 7748 §6.1 Diffie-Hellman: public keys and the shared secret, both ways', () => {
      const d = v.dh;
      expect(toHex(p.x25519PublicKey(hex(d.alicePrivate)))).toBe(d.alicePublic);
      expect(toHex(p.x25519PublicKey(hex(d.bobPrivate)))).toBe(d.bobPublic);
      expect(toHex(p.x25519(hex(d.alicePrivate), hex(d.bobPublic)))).toBe(d.shared);
      expect(toHex(p.x25519(hex(d.bobPrivate), hex(d.alicePublic)))).toBe(d.shared);
    });

    it('every low-order u-coordinate (and its bit-255 twin) is refused with CRYPTO_LOW_ORDER (RFC 7748 §6.1)', () => {
      const priv = p.x25519Generate().privateKey;
      const cases = lowOrderEncodings();
      expect(cases.length).toBe(14);
      for (const c of cases) {
        const e = expectCryptoError(() => p.x25519(priv, c.u), ErrorCode.CRYPTO_LOW_ORDER);
        expect(e.fault, c.label).toBe('peer');
      }
    });

    it('generated key pairs agree (DH is symmetric)', () => {
      fc.assert(
        fc.property(fc.constant(0), () => {
          const a = p.x25519Generate();
          const b = p.x25519Generate();
          expect(a.privateKey.length).toBe(32);
          expect(p.x25519PublicKey(a.privateKey)).toEqual(a.publicKey);
          expect(p.x25519(a.privateKey, b.publicKey)).toEqual(p.x25519(b.privateKey, a.publicKey));
        }),
        { numRuns: Math.max(5, curveRuns / 5) },
      );
    });

    it('wrong-length keys are CRYPTO_BAD_KEY, never CRYPTO_LOW_ORDER', () => {
      const good = p.x25519Generate();
      for (const n of [0, 1, 31, 33, 64]) {
        expectCryptoError(() => p.x25519(new Uint8Array(n).fill(9), good.publicKey));
        expectCryptoError(() => p.x25519(good.privateKey, new Uint8Array(n).fill(9)));
        expectCryptoError(() => p.x25519PublicKey(new Uint8Array(n).fill(9)));
      }
      expectCryptoError(() => p.x25519(good.privateKey, 'not bytes' as never));
    });
  });

  describe(`${p.name} provider: Ed25519`, () => {
    const vectors = loadVectors<{ ed25519: Ed25519Vector[] }>('rfc8032.json').ed25519;
    for (const v of vectors) {
      it(`${v.name}: public key, signature and verification`, () => {
        const seed = hex(v.secretKey);
        expect(toHex(p.ed25519PublicKey(seed))).toBe(v.publicKey);
        const s = p.signer(seed);
        expect(toHex(s.publicKey)).toBe(v.publicKey);
        expect(toHex(s.sign(hex(v.message)))).toBe(v.signature);
        expect(p.ed25519Verify(hex(v.publicKey), hex(v.message), hex(v.signature))).toBe(true);
      });

      it(`${v.name}: a flipped bit in signature, key or message fails verification`, () => {
        const [pub, msg, sig] = [hex(v.publicKey), hex(v.message), hex(v.signature)];
        const flip = (b: Uint8Array, i: number): Uint8Array => {
          const c = b.slice();
          c[i]! ^= 1 << i % 8;
          return c;
        };
        for (let i = 0; i < sig.length; i++) expect(p.ed25519Verify(pub, msg, flip(sig, i)), `sig byte ${i}`).toBe(false);
        for (let i = 0; i < pub.length; i++) expect(p.ed25519Verify(flip(pub, i), msg, sig), `key byte ${i}`).toBe(false);
        for (let i = 0; i < Math.min(msg.length, 16); i++) expect(p.ed25519Verify(pub, flip(msg, i), sig), `msg byte ${i}`).toBe(false);
        expect(p.ed25519Verify(pub, Uint8Array.of(...msg, 0), sig)).toBe(false);
      });
    }

    it('S + L (a malleated, non-canonical S) is refused (RFC 8032 §5.1.7)', () => {
      const v = vectors[1]!;
      const sig = hex(v.signature);
      let s = 0n;
      for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
      s += 2n ** 252n + 27742317777372353535851937790883648493n;
      for (let i = 32; i < 64; i++, s >>= 8n) sig[i] = Number(s & 0xffn);
      expect(p.ed25519Verify(hex(v.publicKey), hex(v.message), sig)).toBe(false);
    });

    it('ed25519-speccheck: each case gets the verdict recorded in the vector (docs/PROFILE.md §Crypto rules 1-5)', () => {
      const spec = loadVectors<{ cases: { message: string; pub_key: string; signature: string; valid: boolean; rule: string }[] }>('ed25519-speccheck.json').cases;
      expect(spec).toHaveLength(15);
      for (const [i, c] of spec.entries()) expect(p.ed25519Verify(hex(c.pub_key), hex(c.message), hex(c.signature)), `case ${i}: ${c.rule}`).toBe(c.valid);
      // the rule text agrees with the verdict: only the accepted case says so
      expect(spec.filter((c) => c.valid).map((c) => c.rule.startsWith('accepted'))).toEqual([true]);
    });

    it('public keys of small order are refused (profile rule)', () => {
      // The 8-torsion points, as the speccheck suite uses them (c7176a...fa is one of them).
      const spec = loadVectors<{ cases: { message: string; pub_key: string; signature: string }[] }>('ed25519-speccheck.json').cases;
      const small = spec.filter((c) => c.pub_key.startsWith('c7176a') || c.pub_key.startsWith('ecffff'));
      expect(small.length).toBe(6);
      for (const c of small) expect(p.ed25519Verify(hex(c.pub_key), hex(c.message), hex(c.signature))).toBe(false);
      expect(p.ed25519Verify(new Uint8Array(32), new Uint8Array(0), new Uint8Array(64))).toBe(false);
      expect(p.ed25519Verify(Uint8Array.of(1, ...new Uint8Array(31)), new Uint8Array(0), Uint8Array.of(1, ...new Uint8Array(63)))).toBe(false);
    });

    it('sign then verify on random seeds and messages; signatures are deterministic', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 200 }), (seed, msg) => {
          const s = p.signer(seed);
          const sig = s.sign(msg);
          expect(sig.length).toBe(64);
          expect(s.sign(msg)).toEqual(sig);
          expect(p.ed25519Verify(s.publicKey, msg, sig)).toBe(true);
        }),
        { numRuns: curveRuns },
      );
    });

    it('verify returns a boolean and never throws on junk (lengths, types, random points)', () => {
      const bytes = (n: number) => fc.oneof(fc.uint8Array({ minLength: n, maxLength: n }), fc.uint8Array({ maxLength: n + 2 }));
      fc.assert(
        fc.property(bytes(32), fc.uint8Array({ maxLength: 40 }), bytes(64), (pub, msg, sig) => {
          expect(p.ed25519Verify(pub, msg, sig)).toBe(false);
        }),
        { numRuns: curveRuns * 10 },
      );
      for (const junk of [undefined, null, 'x'.repeat(32), [1, 2, 3], 42]) {
        expect(p.ed25519Verify(junk as never, new Uint8Array(0), new Uint8Array(64))).toBe(false);
        expect(p.ed25519Verify(new Uint8Array(32), junk as never, new Uint8Array(64))).toBe(false);
        expect(p.ed25519Verify(new Uint8Array(32), new Uint8Array(0), junk as never)).toBe(false);
      }
    });

    it('a signer keeps working after the caller wipes its seed', () => {
      const v = vectors[2]!;
      const seed = hex(v.secretKey);
      const s = p.signer(seed);
      seed.fill(0);
      expect(toHex(s.sign(hex(v.message)))).toBe(v.signature);
    });

    it('generated key pairs sign and verify; wrong-length seeds are CRYPTO_BAD_KEY', () => {
      const kp = p.ed25519Generate();
      expect(kp.privateKey.length).toBe(32);
      expect(p.ed25519PublicKey(kp.privateKey)).toEqual(kp.publicKey);
      expect(p.ed25519Verify(kp.publicKey, Uint8Array.of(1), p.signer(kp.privateKey).sign(Uint8Array.of(1)))).toBe(true);
      for (const n of [0, 31, 33, 64]) {
        expectCryptoError(() => p.ed25519PublicKey(new Uint8Array(n)));
        expectCryptoError(() => p.signer(new Uint8Array(n)));
      }
    });
  });

  describe(`${p.name} provider: ML-KEM-768 (FIPS 203)`, () => {
    const v = loadVectors<{ rng: { streamPrefix: string }; accumulated: { iterations: number; digest: string }[] }>('fips203-mlkem768.json');

    it('the deterministic RNG of the accumulated vectors starts as C2SP/CCTV says', () => {
      expect(toHex(shake128.create({}).xof(16))).toBe(v.rng.streamPrefix);
    });

    for (const acc of v.accumulated) {
      const run = acc.iterations <= 100 || SLOW ? it : it.skip; // 10,000 iterations: UZP_SLOW_TESTS=1
      run(`accumulated KeyGen/Encaps/Decaps over ${acc.iterations} iterations`, { timeout: 600_000 }, () => {
        const s = shake128.create({});
        const o = shake128.create({ dkLen: 32 });
        for (let i = 0; i < acc.iterations; i++) {
          const kp = p.mlkem768Generate(s.xof(64));
          o.update(kp.publicKey);
          const { cipherText, sharedSecret } = p.mlkem768Encapsulate(kp.publicKey, s.xof(32));
          o.update(cipherText).update(sharedSecret);
          expect(p.mlkem768Decapsulate(cipherText, kp.privateKey)).toEqual(sharedSecret);
          o.update(p.mlkem768Decapsulate(s.xof(1088), kp.privateKey)); // implicit rejection
        }
        expect(toHex(o.digest())).toBe(acc.digest);
      });
    }

    it('sizes match FIPS 203 Table 3 and random round trips agree, with either form of the decapsulation key', () => {
      const kp = p.mlkem768Generate();
      expect(kp.publicKey.length).toBe(MLKEM768_PUBLIC_LENGTH);
      // The private key is the seed d || z it was generated from (FIPS 203 §3.3, §7.1).
      expect(kp.privateKey.length).toBe(MLKEM768_SEED_LENGTH);
      const expanded = ml_kem768.keygen(kp.privateKey);
      expect(expanded.publicKey).toEqual(kp.publicKey);
      expect(expanded.secretKey.length).toBe(MLKEM768_SECRET_LENGTH);
      const { cipherText, sharedSecret } = p.mlkem768Encapsulate(kp.publicKey);
      expect(cipherText.length).toBe(MLKEM768_CIPHERTEXT_LENGTH);
      expect(sharedSecret.length).toBe(MLKEM768_SHARED_LENGTH);
      expect(sharedSecret.buffer.byteLength).toBe(32); // an exact copy, not a view into more
      expect(p.mlkem768Decapsulate(cipherText, kp.privateKey)).toEqual(sharedSecret);
      expect(p.mlkem768Decapsulate(cipherText, expanded.secretKey)).toEqual(sharedSecret);
      // A key from elsewhere (not generated here, so imported): the same secret.
      expect(p.mlkem768Decapsulate(cipherText, kp.privateKey.slice())).toEqual(sharedSecret);
    });

    it('malformed inputs are typed CryptoErrors (lengths, FIPS 203 §7.2 modulus check, §7.3 hash check)', () => {
      const kp = p.mlkem768Generate(new Uint8Array(64).fill(1));
      expectCryptoError(() => p.mlkem768Generate(new Uint8Array(32)));
      expectCryptoError(() => p.mlkem768Encapsulate(kp.publicKey.subarray(1)));
      expectCryptoError(() => p.mlkem768Encapsulate(kp.publicKey, new Uint8Array(31)));
      // The first 12-bit coefficient set to 4095 >= q = 3329: the modulus check must refuse it.
      const bad = kp.publicKey.slice();
      bad[0] = 0xff;
      bad[1] = bad[1]! | 0x0f;
      expectCryptoError(() => p.mlkem768Encapsulate(bad));
      const { cipherText } = p.mlkem768Encapsulate(kp.publicKey);
      expectCryptoError(() => p.mlkem768Decapsulate(cipherText.subarray(1), kp.privateKey));
      expectCryptoError(() => p.mlkem768Decapsulate(cipherText, kp.privateKey.subarray(1)));
      const corrupt = ml_kem768.keygen(kp.privateKey).secretKey.slice();
      corrupt[1152 + 5]! ^= 1; // inside the embedded ek: H(ek) no longer matches
      expectCryptoError(() => p.mlkem768Decapsulate(cipherText, corrupt));
    });
  });

  describe(`${p.name} provider: errors and randomness`, () => {
    it('refusals are UzpErrors with fault "peer" and an exact message', () => {
      const e = expectCryptoError(() => p.aead('chacha20-poly1305', new Uint8Array(1)));
      expect(isCodedError(e)).toBe(true);
      expect(e.fault).toBe('peer');
      expect(e.message).toBe('chacha20-poly1305 key: expected 32 bytes, got 1');
      expect(expectCryptoError(() => p.ed25519PublicKey(new Uint8Array(31))).message).toBe('ed25519 seed: expected 32 bytes, got 31');
    });
    it('randomBytes returns fresh bytes of the requested length', () => {
      expect(p.randomBytes(0).length).toBe(0);
      const a = p.randomBytes(32);
      expect(a.length).toBe(32);
      expect(a).not.toEqual(p.randomBytes(32));
    });
  });
}
