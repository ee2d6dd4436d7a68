import { describe, expect, it } from 'vitest';
import { NONCE_STATE_ENTRIES, VERIFIED_CACHE_BYTES, VERIFIED_CACHE_ENTRIES } from '../../../src/uzp/artefacts/constants.js';
import { NonceTracker } from '../../../src/uzp/artefacts/nonces.js';
import type { Envelope } from '../../../src/uzp/artefacts/types.js';
import { VerifiedCache } from '../../../src/uzp/artefacts/verified-cache.js';

const cid = (n: number) => new Uint8Array(32).fill(n);

describe('VerifiedCache', () => {
  const env = (n: number) => ({ n }) as unknown as Envelope<unknown>;
  const key = (n: number, len = 8) => VerifiedCache.keyOf('grant', new Uint8Array(len).fill(n));
  it('is bounded in entries and evicts the least recently used entry', () => {
    const c = new VerifiedCache(3);
    c.add(key(1), env(1));
    c.add(key(2), env(2));
    c.add(key(3), env(3));
    expect(c.get(key(1))).toEqual(env(1)); // 1 is now the most recent
    c.add(key(4), env(4)); // evicts 2
    expect(c.size).toBe(3);
    expect(c.get(key(2))).toBeUndefined();
    expect([c.get(key(1)), c.get(key(3)), c.get(key(4))]).toEqual([env(1), env(3), env(4)]);
  });
  it('never grows beyond its capacity (default 1024) or its byte bound', () => {
    const c = new VerifiedCache();
    expect([c.capacity, c.maxBytes]).toEqual([VERIFIED_CACHE_ENTRIES, VERIFIED_CACHE_BYTES]);
    for (let i = 0; i < VERIFIED_CACHE_ENTRIES + 500; i++) c.add(VerifiedCache.keyOf('grant', new Uint8Array([i >> 8, i & 255])), env(i));
    expect(c.size).toBe(VERIFIED_CACHE_ENTRIES);
    const small = new VerifiedCache(100, 64);
    for (let i = 0; i < 10; i++) small.add(key(i, 20), env(i)); // 26-char keys: two fit in 64
    expect(small.size).toBe(2);
    expect(small.get(key(9, 20))).toEqual(env(9));
    small.add(key(1, 100), env(1)); // larger than the whole bound: not kept, nothing evicted
    expect([small.size, small.get(key(1, 100))]).toEqual([2, undefined]);
    expect(() => new VerifiedCache(0)).toThrow(RangeError);
    expect(() => new VerifiedCache(1, 0)).toThrow(RangeError);
  });
  it('keys by type and every byte', () => {
    const a = VerifiedCache.keyOf('grant', new Uint8Array([0, 255, 128]));
    expect(a).not.toBe(VerifiedCache.keyOf('pcert', new Uint8Array([0, 255, 128])));
    expect(a).not.toBe(VerifiedCache.keyOf('grant', new Uint8Array([0, 255, 129])));
    expect(a).toBe(VerifiedCache.keyOf('grant', new Uint8Array([9, 0, 255, 128]).subarray(1)));
  });
});

describe('NonceTracker', () => {
  it('keeps the highest nonce per triple and refuses lower ones', () => {
    const t = new NonceTracker();
    expect(t.isStale(cid(1), cid(2), cid(3), 0)).toBe(false);
    t.record(cid(1), cid(2), cid(3), 5);
    t.record(cid(1), cid(2), cid(3), 3);
    expect(t.get(cid(1), cid(2), cid(3))).toBe(5);
    expect(t.isStale(cid(1), cid(2), cid(3), 4)).toBe(true);
    expect(t.isStale(cid(1), cid(2), cid(3), 5)).toBe(false);
    expect(t.isStale(cid(1), cid(3), cid(2), 0)).toBe(false);
  });
  it('is bounded (default 65,536 triples), evicting the least recently used', () => {
    expect(new NonceTracker().capacity).toBe(NONCE_STATE_ENTRIES);
    const t = new NonceTracker(2);
    t.record(cid(1), cid(1), cid(1), 9);
    t.record(cid(2), cid(2), cid(2), 9);
    t.record(cid(1), cid(1), cid(1), 9); // refresh 1
    t.record(cid(3), cid(3), cid(3), 9); // evicts 2
    expect(t.size).toBe(2);
    expect(t.get(cid(2), cid(2), cid(2))).toBeUndefined();
    expect(t.get(cid(1), cid(1), cid(1))).toBe(9);
  });
});
