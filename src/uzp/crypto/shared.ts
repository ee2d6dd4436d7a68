// Code both providers share, so that they refuse exactly the same inputs with exactly the same
// typed errors (docs/PROFILE.md §Crypto: "one rule, two implementations"):
//   * length checks and their messages,
//   * the HKDF length rule,
//   (the Ed25519 public-key and small-order-R rules are in ed25519-rule.ts),
//   * BLAKE3, which node:crypto does not offer,
//   * ML-KEM-768's input checks (FIPS 203 §7.2, §7.3) and its @noble path (the node provider uses
//     OpenSSL's ML-KEM where the runtime has it: OpenSSL 3.5 in Node 24).

import { createRequire } from 'node:module';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { equal } from '../bytes.js';
import { CryptoError, ErrorCode } from '../errors.js';
import {
  BLAKE3_LENGTH,
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_LENGTH,
  MLKEM768_SECRET_LENGTH,
  MLKEM768_SEED_LENGTH,
  SHA256_LENGTH,
  type AeadAlgorithm,
  type Blake3Hasher,
  type KeyPair,
} from './provider.js';

// @noble's ML-KEM and SHA3 are loaded on first use: the node provider takes OpenSSL's ML-KEM where
// the runtime has it (OpenSSL 3.5, Node 24), so a gateway there never runs them; loaded eagerly they
// cost ~1.5 MB of RSS (docs/BENCH.md "gateway-rss", thirteenth stop). require() of these ES modules:
// node >= 22.12 loads an ES module without top-level await synchronously, and the callers are sync.
const load = createRequire(import.meta.url);
let mlkemModule: typeof import('@noble/post-quantum/ml-kem.js') | undefined;
const mlKem768 = (): typeof import('@noble/post-quantum/ml-kem.js').ml_kem768 => (mlkemModule ??= load('@noble/post-quantum/ml-kem.js') as typeof import('@noble/post-quantum/ml-kem.js')).ml_kem768;
let sha3Module: typeof import('@noble/hashes/sha3.js') | undefined;
const sha3_256 = (data: Uint8Array): Uint8Array => (sha3Module ??= load('@noble/hashes/sha3.js') as typeof import('@noble/hashes/sha3.js')).sha3_256(data);

/** FIPS 203 §7.2: ML-KEM.Encaps_internal takes the 32-byte message m. */
const MLKEM768_MESSAGE_LENGTH = 32;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
const HKDF_SHA256_MAX_LENGTH = 255 * SHA256_LENGTH;
/** Longest BLAKE3 XOF output we hand out in one call (draft §3 CIDs use 32; this is a sanity cap). */
const BLAKE3_MAX_LENGTH = 1 << 16;

/** Throws CryptoError (CRYPTO_BAD_KEY) unless `b` is a Uint8Array of exactly `n` bytes. */
export function checkLength(b: unknown, n: number, what: string): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new CryptoError(`${what}: expected ${n} bytes, got ${b === null ? 'null' : typeof b}`);
  if (b.length !== n) throw new CryptoError(`${what}: expected ${n} bytes, got ${b.length}`);
}

export function checkBytes(b: unknown, what: string): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new CryptoError(`${what}: expected bytes, got ${b === null ? 'null' : typeof b}`);
}

export function checkAeadAlgorithm(a: unknown): asserts a is AeadAlgorithm {
  if (a !== 'chacha20-poly1305' && a !== 'aes-256-gcm') throw new CryptoError(`unsupported AEAD algorithm ${JSON.stringify(a)}`);
}

/**
 * RFC 5869 §2.3 input rules, enforced identically by both providers: PRK is "at least HashLen
 * octets" and 0 <= L <= 255 * HashLen. (@noble/hashes enforces both; OpenSSL would not.)
 */
export function checkHkdfExpand(prk: unknown, info: unknown, length: unknown): asserts prk is Uint8Array {
  checkBytes(prk, 'hkdf expand prk');
  checkBytes(info, 'hkdf expand info');
  if (prk.length < SHA256_LENGTH) throw new CryptoError(`hkdf expand prk: expected at least ${SHA256_LENGTH} bytes, got ${prk.length}`);
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new CryptoError(`hkdf expand: length must be an integer in 0..${HKDF_SHA256_MAX_LENGTH}, got ${String(length)}`);
  }
}

export function isAllZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

export function lowOrderError(cause?: unknown): CryptoError {
  return new CryptoError('x25519: low-order public key (all-zero shared secret)', ErrorCode.CRYPTO_LOW_ORDER, cause === undefined ? undefined : { cause });
}

export function blake3(data: Uint8Array, length = BLAKE3_LENGTH): Uint8Array {
  checkBytes(data, 'blake3 input');
  if (!Number.isSafeInteger(length) || length < 1 || length > BLAKE3_MAX_LENGTH) {
    throw new CryptoError(`blake3: length must be an integer in 1..${BLAKE3_MAX_LENGTH}, got ${length}`);
  }
  return nobleBlake3(data, { dkLen: length });
}

/** Incremental BLAKE3-256 (CryptoProvider.blake3Hasher); use after digest is a CryptoError, not noble's plain Error. */
export function blake3Hasher(): Blake3Hasher {
  const h = nobleBlake3.create({ dkLen: BLAKE3_LENGTH });
  let done = false;
  return {
    update(data: Uint8Array): void {
      checkBytes(data, 'blake3 input');
      if (done) throw new CryptoError('blake3: update after digest');
      h.update(data);
    },
    digest(): Uint8Array {
      if (done) throw new CryptoError('blake3: digest called twice');
      done = true;
      return h.digest();
    },
  };
}

/** FIPS 203 ML-KEM-768 key generation; `seed` (64 bytes d || z) makes it deterministic for vectors. */
export function mlkem768Generate(seed?: Uint8Array): KeyPair {
  if (seed !== undefined) checkLength(seed, MLKEM768_SEED_LENGTH, 'ml-kem-768 seed');
  const d = seed?.slice() ?? randomSeed();
  return { publicKey: mlKem768().keygen(d).publicKey, privateKey: d };
}

function randomSeed(): Uint8Array {
  const d = new Uint8Array(MLKEM768_SEED_LENGTH);
  crypto.getRandomValues(d);
  return d;
}

/** FIPS 203 q. */
const MLKEM_Q = 3329;
/** ByteEncode12 of the three polynomials of t-hat: the part of ek the §7.2 modulus check covers. */
const MLKEM768_T_BYTES = 1152;

/**
 * FIPS 203 §7.2 input checks on an encapsulation key, ours so that both providers (and OpenSSL,
 * which may check differently or not at all) refuse the same keys with the same error: the length,
 * and every 12-bit coefficient of t-hat below q (ByteDecode12 then ByteEncode12 gives the input back).
 */
export function checkMlkemEncapsulationKey(ek: unknown): asserts ek is Uint8Array {
  checkLength(ek, MLKEM768_PUBLIC_LENGTH, 'ml-kem-768 public key');
  for (let i = 0; i < MLKEM768_T_BYTES; i += 3) {
    const c0 = ek[i]! | ((ek[i + 1]! & 0x0f) << 8);
    const c1 = (ek[i + 1]! >> 4) | (ek[i + 2]! << 4);
    if (c0 >= MLKEM_Q || c1 >= MLKEM_Q) throw new CryptoError(`ml-kem-768 encapsulation key rejected: coefficient ${(i / 3) * 2 + (c0 >= MLKEM_Q ? 0 : 1)} is not below q = ${MLKEM_Q} (FIPS 203 §7.2)`, ErrorCode.CRYPTO_BAD_KEY);
  }
}

/**
 * FIPS 203 §7.3 input checks on a decapsulation key, in either form: the 64-byte seed d || z, or the
 * expanded dkPKE || ek || H(ek) || z whose embedded hash must match its embedded ek.
 */
export function checkMlkemDecapsulationKey(dk: unknown): asserts dk is Uint8Array {
  checkBytes(dk, 'ml-kem-768 secret key');
  if (dk.length === MLKEM768_SEED_LENGTH) return;
  checkLength(dk, MLKEM768_SECRET_LENGTH, 'ml-kem-768 secret key');
  const ek = dk.subarray(MLKEM768_T_BYTES, MLKEM768_T_BYTES + MLKEM768_PUBLIC_LENGTH);
  const h = dk.subarray(MLKEM768_T_BYTES + MLKEM768_PUBLIC_LENGTH, MLKEM768_T_BYTES + MLKEM768_PUBLIC_LENGTH + 32);
  if (!equal(sha3_256(ek), h)) throw new CryptoError('ml-kem-768 secret key rejected: H(ek) does not match the key it embeds (FIPS 203 §7.3)', ErrorCode.CRYPTO_BAD_KEY);
}

/** The checks, then @noble: `m` (32 bytes) makes it deterministic for vectors. */
export function mlkem768Encapsulate(publicKey: Uint8Array, seed?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  checkMlkemEncapsulationKey(publicKey);
  if (seed !== undefined) checkLength(seed, MLKEM768_MESSAGE_LENGTH, 'ml-kem-768 encapsulation seed');
  const out = mlKem768().encapsulate(publicKey, seed);
  // noble returns the secret as a view into a 64-byte buffer; hand out an exact copy.
  return { cipherText: out.cipherText, sharedSecret: out.sharedSecret.slice() };
}

/** The checks, then @noble (a seed-form key is expanded first). A wrong ciphertext never throws: FIPS 203 §6.3 implicit rejection. */
export function mlkem768Decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkLength(cipherText, MLKEM768_CIPHERTEXT_LENGTH, 'ml-kem-768 ciphertext');
  checkMlkemDecapsulationKey(secretKey);
  const dk = secretKey.length === MLKEM768_SEED_LENGTH ? mlKem768().keygen(secretKey).secretKey : secretKey;
  return mlKem768().decapsulate(cipherText, dk);
}
