// freeNow (src/uzp/bytes.ts): gives a buffer of its own back at once; leaves anything shared alone.
import { describe, it, expect } from 'vitest';
import { createCipheriv, randomBytes } from 'node:crypto';
import { FREE_NOW_MIN_BYTES, freeNow } from '../../src/uzp/bytes.js';

describe('freeNow', () => {
  it('frees a view that spans an ArrayBuffer of its own: every view of it reads as empty', () => {
    const b = new Uint8Array(FREE_NOW_MIN_BYTES);
    const other = new Uint8Array(b.buffer);
    freeNow(b);
    expect(b.byteLength).toBe(0);
    expect(other.byteLength).toBe(0);
    expect(b.buffer.byteLength).toBe(0);
  });

  it("frees node:crypto's cipher output (what a sealed block's ciphertext is)", () => {
    const c = createCipheriv('chacha20-poly1305', randomBytes(32), randomBytes(12), { authTagLength: 16 });
    const ct = c.update(new Uint8Array(64 * 1024));
    expect(ct.byteLength).toBe(64 * 1024);
    freeNow(ct);
    expect(ct.byteLength).toBe(0);
  });

  it('leaves alone a part of a larger buffer, a view at an offset, a small array and a pooled Buffer', () => {
    const whole = new Uint8Array(3 * FREE_NOW_MIN_BYTES).fill(7);
    const head = whole.subarray(0, 2 * FREE_NOW_MIN_BYTES);
    const tail = whole.subarray(FREE_NOW_MIN_BYTES);
    const small = new Uint8Array(FREE_NOW_MIN_BYTES - 1).fill(7);
    const pooled = Buffer.from('pooled: from the shared slab');
    for (const v of [head, tail, small, pooled]) freeNow(v);
    expect(head.byteLength).toBe(2 * FREE_NOW_MIN_BYTES);
    expect(tail.byteLength).toBe(2 * FREE_NOW_MIN_BYTES);
    expect(whole.every((x) => x === 7)).toBe(true);
    expect(small.byteLength).toBe(FREE_NOW_MIN_BYTES - 1);
    expect(pooled.toString()).toBe('pooled: from the shared slab');
  });
});
