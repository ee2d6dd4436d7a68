// The profile's Ed25519 public-key rule and small-order-R rule (docs/PROFILE.md §Crypto, rules 2
// and 3), in one place for both providers, with no curve library: the node provider verifies
// through OpenSSL and needs only these two checks, and @noble/curves's ed25519 module cost the
// gateway ~2.4 MB of RSS for them (docs/BENCH.md "gateway-rss", thirteenth stop). BigInt field
// arithmetic mod p = 2^255 - 19; speed is not the point: the node provider runs the key rule once
// per key (its KeyObject cache), and small-order R is a table lookup.

import { ED25519_PUBLIC_LENGTH } from './provider.js';

/** p = 2^255 - 19. */
const P = (1n << 255n) - 19n;
/** d = -121665 / 121666 mod p (RFC 8032 §5.1). */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
/** sqrt(-1) = 2^((p - 1) / 4) mod p (RFC 8032 §5.1.3 step 3). */
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

const mod = (a: bigint): bigint => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

/** x^(2^k) mod p: k squarings. */
function pow2(x: bigint, k: number): bigint {
  let r = x;
  for (let i = 0; i < k; i++) r = (r * r) % P;
  return r;
}

/**
 * x^((p - 5) / 8) = x^(2^252 - 3), by the addition chain of ref10 (and @noble/curves): 251
 * squarings and 11 multiplications, where square-and-multiply would take ~250 multiplications more.
 */
function powP58(x: bigint): bigint {
  const x2 = (x * x) % P;
  const b2 = (x2 * x) % P; // x^3
  const b4 = (pow2(b2, 2) * b2) % P; // x^15
  const b5 = (pow2(b4, 1) * x) % P; // x^31
  const b10 = (pow2(b5, 5) * b5) % P;
  const b20 = (pow2(b10, 10) * b10) % P;
  const b40 = (pow2(b20, 20) * b20) % P;
  const b80 = (pow2(b40, 40) * b40) % P;
  const b160 = (pow2(b80, 80) * b80) % P;
  const b240 = (pow2(b160, 80) * b80) % P;
  const b250 = (pow2(b240, 10) * b10) % P;
  return (pow2(b250, 2) * x) % P;
}

/**
 * RFC 8032 §5.1.3 decoding, strict: the y-coordinate below p, a square root that exists, and no
 * encoding of x = 0 with the sign bit set. Returns the affine point, or null.
 */
function decode(pub: Uint8Array): { x: bigint; y: bigint } | null {
  if (pub.length !== ED25519_PUBLIC_LENGTH) return null;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? pub[i]! & 0x7f : pub[i]!);
  const sign = (pub[31]! >> 7) & 1;
  if (y >= P) return null; // step 1: a non-canonical y
  const yy = (y * y) % P;
  const u = mod(yy - 1n);
  const v = mod(D * yy + 1n);
  // Step 2: x = u v^3 (u v^7)^((p - 5) / 8).
  const v3 = (((v * v) % P) * v) % P;
  const v7 = (((v3 * v3) % P) * v) % P;
  let x = (((u * v3) % P) * powP58((u * v7) % P)) % P;
  // Step 3: v x^2 is u (x is a root), -u (x * sqrt(-1) is), or neither (no point).
  const vxx = (((v * x) % P) * x) % P;
  if (vxx === mod(-u)) x = (x * SQRT_M1) % P;
  else if (vxx !== u) return null;
  // Step 4.
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return { x, y };
}

/** Is 8A the identity? Three doublings in extended coordinates (a = -1; Hisil-Wong-Carter-Dawson 2008, dbl-2008-hwcd). */
function isSmallOrder(A: { x: bigint; y: bigint }): boolean {
  let X = A.x;
  let Y = A.y;
  let Z = 1n;
  for (let i = 0; i < 3; i++) {
    const a = (X * X) % P;
    const b = (Y * Y) % P;
    const c = (2n * Z * Z) % P;
    const dd = mod(-a);
    const e = mod((X + Y) * (X + Y) - a - b);
    const g = mod(dd + b);
    const f = mod(g - c);
    const h = mod(dd - b);
    X = (e * f) % P;
    Y = (g * h) % P;
    Z = (f * g) % P;
  }
  return X === 0n && Y === Z;
}

/**
 * The Ed25519 public-key rule of this profile, applied by BOTH providers before verifying: the key
 * must be a canonical encoding (y < p, RFC 8032 §5.1.3 step 1; x = 0 only with sign bit 0) of a
 * curve point that is not of small order. Small-order keys let one signature verify for many
 * messages (no non-repudiation), and OpenSSL accepts them while a cofactored verifier might not, so
 * we refuse them outright. Points with a small-order component but large order are accepted.
 */
export function ed25519KeyAcceptable(pub: Uint8Array): boolean {
  const A = decode(pub);
  return A !== null && !isSmallOrder(A);
}

/**
 * The canonical encodings of the 8 points of small order (the 8-torsion subgroup: the identity,
 * (0, -1), the two points of order 4 and the four of order 8; test/uzp/crypto/ed25519-rule.test.ts
 * derives them again with @noble/curves). A signature whose R is one of them is refused by BOTH
 * providers: OpenSSL 3.5 (Node 24) refuses it while OpenSSL 3.0 (Node 20) and a plain cofactorless
 * check accept it (ed25519-speccheck case 5), and the providers must give one verdict on every
 * runtime. A non-canonical R never verifies anyway (the equation compares canonical bytes), so the
 * canonical encodings are all there is to check.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];

/** Is `r` (the first half of a signature) the encoding of a small-order point? (profile rule 3) */
export function isSmallOrderR(r: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.includes(Buffer.from(r.buffer, r.byteOffset, 32).toString('hex'));
}
