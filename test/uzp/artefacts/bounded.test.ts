import { describe, expect, it } from 'vitest';
import { NONCE_STATE_ENTRIES, SIG_CACHE_ENTRIES } from '../../../src/uzp/artefacts/constants.js';
import { NonceTracker } from '../../../src/uzp/artefacts/nonces.js';
import { SigCache } from '../../../src/uzp/artefacts/sigcache.js';

const k = (n: number) => `key-${n}`;
const cid = (n: number) => new Uint8Array(32).fill(n);

describe('SigCache', () => {
  it('is bounded and evicts the least recently used entry', () => {
    const c = new SigCache(3);
    c.add(k(1));
    c.add(k(2));
    c.add(k(3));
    expect(c.has(k(1))).toBe(true); // 1 is now the most recent
    c.add(k(4)); // evicts 2
    expect(c.size).toBe(3);
    expect(c.has(k(2))).toBe(false);
    expect([c.has(k(1)), c.has(k(3)), c.has(k(4))]).toEqual([true, true, true]);
  });
  it('never grows beyond its capacity (default 1024)', () => {
    const c = new SigCache();
    expect(c.capacity).toBe(SIG_CACHE_ENTRIES);
    for (let i = 0; i < SIG_CACHE_ENTRIES + 500; i++) c.add(k(i));
    expect(c.size).toBe(SIG_CACHE_ENTRIES);
    expect(c.has(k(0))).toBe(false);
    expect(c.has(k(SIG_CACHE_ENTRIES + 499))).toBe(true);
    expect(() => new SigCache(0)).toThrow(RangeError);
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
