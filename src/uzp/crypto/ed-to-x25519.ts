// An Ed25519 identity key used for X25519 as well: the 1-RTT attachment seals the EP's first flight
// to the RN's identity key (docs/PROFILE.md §1-RTT attachment), which the EP already trusts through
// the RN Set Statement, so no second RN key has to be announced, signed or rotated.
//
// Public key: Ed25519's point (x, y) and X25519's u-coordinate are related by the birational map of
// RFC 7748 §4.1, u = (1 + y) / (1 - y) mod p. Private key: the X25519 scalar is the first half of
// SHA-512(seed), which X25519 clamps exactly as RFC 8032 §5.1.5 prunes it for Ed25519, so
// X25519(scalar, base point) is that u (libsodium's crypto_sign_ed25519_*_to_curve25519 does the
// same; using one key pair for both is analysed in Thormarker, "On using the same key pair for
// Ed25519 and an X25519 based KEM", 2021).

import { CryptoError, ErrorCode } from '../errors.js';
import type { CryptoProvider } from './provider.js';
import { ED25519_PUBLIC_LENGTH, X25519_KEY_LENGTH } from './provider.js';

const P = 2n ** 255n - 19n;

function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = b % P;
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % P;
    x = (x * x) % P;
  }
  return r;
}

function fromLe(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

function toLe(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/**
 * The X25519 public key (u-coordinate) of an Ed25519 public key. Throws CRYPTO_BAD_KEY for a y that
 * is not reduced or maps to no u (y = 1, the identity point). Does not check that the point is on the
 * curve: keys given here come from a signed RN Set Statement.
 */
export function x25519PublicFromEd25519(edPublicKey: Uint8Array): Uint8Array {
  if (edPublicKey.length !== ED25519_PUBLIC_LENGTH) {
    throw new CryptoError(`ed25519 public key: ${edPublicKey.length} bytes, expected ${ED25519_PUBLIC_LENGTH}`, ErrorCode.CRYPTO_BAD_KEY);
  }
  const y = fromLe(edPublicKey) & ((1n << 255n) - 1n); // the top bit is x's sign
  if (y >= P || y === 1n) throw new CryptoError('ed25519 public key: no X25519 counterpart', ErrorCode.CRYPTO_BAD_KEY);
  const u = ((1n + y) * modPow((1n - y + P) % P, P - 2n)) % P;
  return toLe(u, X25519_KEY_LENGTH);
}

/** The X25519 private key (scalar, clamped by X25519 itself) of an Ed25519 seed: SHA-512(seed)[0..32]. */
export function x25519PrivateFromEd25519Seed(p: CryptoProvider, seed: Uint8Array): Uint8Array {
  return p.sha512(seed).slice(0, X25519_KEY_LENGTH);
}
