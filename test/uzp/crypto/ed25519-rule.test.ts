// The profile's Ed25519 key rule and small-order-R table (src/uzp/crypto/ed25519-rule.ts, our own
// BigInt decoding) against @noble/curves's strict decoding and order check, the implementation the
// rule used before: same verdict on random bytes, on real keys, on real keys plus a torsion point
// (mixed order: accepted), on every small-order point and on their non-canonical encodings.

import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519KeyAcceptable, isSmallOrderR, SMALL_ORDER_ENCODINGS } from '../../../src/uzp/crypto/ed25519-rule.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const P = (1n << 255n) - 19n;

/** The rule as @noble states it: strict RFC 8032 decoding, then not of small order. */
function nobleVerdict(pub: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(pub, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** The 8-torsion subgroup, from an order-8 point's multiples. */
const torsion = (() => {
  const t = ed25519.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
  const out = [];
  let q = ed25519.Point.ZERO;
  for (let i = 0; i < 8; i++, q = q.add(t)) out.push(q);
  return out;
})();

/** `y + p` in the 255 bits when that still fits: a non-canonical encoding of the same y. */
function nonCanonical(enc: Uint8Array): Uint8Array | null {
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? enc[i]! & 0x7f : enc[i]!);
  const y2 = y + P;
  if (y2 >= 1n << 255n) return null;
  const out = new Uint8Array(32);
  for (let i = 0, v = y2; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  out[31]! |= enc[31]! & 0x80;
  return out;
}

describe('Ed25519 key rule (ed25519-rule.ts)', () => {
  it('the small-order table is the 8-torsion subgroup, canonically encoded', () => {
    expect([...SMALL_ORDER_ENCODINGS].sort()).toEqual(torsion.map((q) => hex(q.toBytes())).sort());
    for (const q of torsion) {
      expect(isSmallOrderR(q.toBytes())).toBe(true);
      expect(ed25519KeyAcceptable(q.toBytes())).toBe(false);
    }
  });

  it('refuses every non-canonical encoding of a small-order point and x = 0 with the sign bit set, as noble does', () => {
    const encs = torsion.map((q) => q.toBytes());
    const variants: Uint8Array[] = [];
    for (const e of encs) {
      const nc = nonCanonical(e);
      if (nc !== null) variants.push(nc);
      const flipped = Uint8Array.from(e);
      flipped[31]! ^= 0x80;
      variants.push(flipped);
    }
    expect(variants.length).toBeGreaterThan(8);
    for (const v of variants) expect(ed25519KeyAcceptable(v), hex(v)).toBe(nobleVerdict(v));
    expect(variants.every((v) => !ed25519KeyAcceptable(v) || !isSmallOrderR(v) || SMALL_ORDER_ENCODINGS.includes(hex(v)))).toBe(true);
  });

  it('accepts real keys, and real keys plus a torsion point (mixed order), as noble does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 7 }), (seed, t) => {
        const A = ed25519.Point.fromBytes(ed25519.getPublicKey(seed));
        const mixed = A.add(torsion[t]!).toBytes();
        expect(ed25519KeyAcceptable(A.toBytes())).toBe(true);
        expect(ed25519KeyAcceptable(mixed)).toBe(nobleVerdict(mixed));
        expect(ed25519KeyAcceptable(mixed)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('gives noble’s verdict on random bytes, on y >= p, and on wrong lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        expect(ed25519KeyAcceptable(b)).toBe(nobleVerdict(b));
      }),
      { numRuns: 2_000 },
    );
    // y = p .. 2^255 - 1 (19 values), both signs: all non-canonical.
    for (let k = 0n; k < 19n; k++) {
      for (const sign of [0, 0x80]) {
        const out = new Uint8Array(32);
        for (let i = 0, v = P + k; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
        out[31]! |= sign;
        expect(ed25519KeyAcceptable(out)).toBe(false);
        expect(nobleVerdict(out)).toBe(false);
      }
    }
    for (const n of [0, 31, 33, 64]) expect(ed25519KeyAcceptable(new Uint8Array(n).fill(9))).toBe(false);
  });
});
