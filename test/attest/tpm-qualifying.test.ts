// qualifyingData: 32 bytes (real TPMs refuse longer TPM2B_DATA), re-derived here straight from the
// profile text with node:crypto, identical on both providers, and distinct for distinct inputs.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { qualifyingData } from '../../src/attest/tpm/qualifying.js';
import { toHex } from '../../src/uzp/bytes.js';
import { PROVIDERS } from '../../src/uzp/crypto/index.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';

/** docs/PROFILE.md §TPM quote, written out byte by byte. */
function byHand(nonce: Uint8Array, binding: Uint8Array | undefined, digest: Uint8Array): string {
  const ctx = Buffer.from('uzp-gw/1 tpm-quote', 'utf8');
  const b = binding ?? new Uint8Array(0);
  const h = createHash('sha256');
  h.update(Buffer.from([ctx.length >> 8, ctx.length & 0xff]));
  h.update(ctx);
  h.update(Buffer.from([nonce.length]));
  h.update(nonce);
  h.update(Buffer.from([b.length]));
  h.update(b);
  h.update(digest);
  return h.digest('hex');
}

const nonce = new Uint8Array(16).fill(3);
const binding = new Uint8Array(32).fill(4);
const digest = new Uint8Array(32).fill(5);

describe('qualifyingData', () => {
  it('is SHA-256 over the length-prefixed inputs, 32 bytes, on both providers', () => {
    for (const provider of PROVIDERS) {
      const q = qualifyingData(provider, nonce, binding, digest);
      expect(q.length).toBe(32);
      expect(toHex(q)).toBe(byHand(nonce, binding, digest));
      expect(toHex(qualifyingData(provider, nonce, undefined, digest))).toBe(byHand(nonce, undefined, digest));
    }
  });

  it('changes with every input; an absent binding differs from any present one', () => {
    const base = toHex(qualifyingData(p, nonce, binding, digest));
    expect(toHex(qualifyingData(p, new Uint8Array(16).fill(9), binding, digest))).not.toBe(base);
    expect(toHex(qualifyingData(p, nonce, undefined, digest))).not.toBe(base);
    expect(toHex(qualifyingData(p, nonce, binding, new Uint8Array(32)))).not.toBe(base);
    // Random inputs against the by-hand encoding (the length prefixes keep input boundaries apart).
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (n, b, d) => {
        expect(toHex(qualifyingData(p, n, b, d))).toBe(byHand(n, b, d));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses lengths outside the profile with RangeError', () => {
    expect(() => qualifyingData(p, new Uint8Array(7), undefined, digest)).toThrow(RangeError);
    expect(() => qualifyingData(p, new Uint8Array(65), undefined, digest)).toThrow(RangeError);
    expect(() => qualifyingData(p, nonce, new Uint8Array(31), digest)).toThrow(RangeError);
    expect(() => qualifyingData(p, nonce, new Uint8Array(33), digest)).toThrow(RangeError);
    expect(() => qualifyingData(p, nonce, binding, new Uint8Array(31))).toThrow(RangeError);
    expect(() => qualifyingData(p, new Uint8Array(8), undefined, digest)).not.toThrow();
    expect(() => qualifyingData(p, new Uint8Array(64), undefined, digest)).not.toThrow();
  });
});
