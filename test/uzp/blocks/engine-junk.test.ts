// receive() on junk and on mutated valid blocks: never throws, never delivers, counts every drop;
// the genuine blocks still deliver exactly once afterwards.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Pair, bytes, mulberry32 } from './harness.js';

function mutateBlock(rand: () => number, b: Uint8Array): Uint8Array {
  const r = rand();
  const pos = Math.floor(rand() * b.length);
  let m: Uint8Array;
  if (r < 0.35) {
    m = b.slice();
    m[pos] = m[pos]! ^ (1 << Math.floor(rand() * 8));
  } else if (r < 0.5) {
    m = b.slice(0, pos); // truncated
  } else if (r < 0.6) {
    m = new Uint8Array(b.length + 1 + Math.floor(rand() * 16)); // extended
    m.set(b);
    m.fill(Math.floor(rand() * 256), b.length);
  } else if (r < 0.75) {
    m = b.slice();
    m[0] = 0x10 | Math.floor(rand() * 4); // other space / phase
  } else if (r < 0.9) {
    m = b.slice();
    for (let i = 1; i < 9; i++) m[i] = rand() < 0.7 ? m[i]! : Math.floor(rand() * 256); // other number
  } else {
    m = b.slice();
    for (let i = pos; i < Math.min(m.length, pos + 8); i++) m[i] = Math.floor(rand() * 256);
  }
  return m;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

describe('BlockEngine.receive on hostile input', () => {
  it('10,000 random junk blocks: no throw, nothing delivered, every one dropped', () => {
    const p = new Pair();
    let n = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0x0e, max: 0x15 }), (junk, type) => {
        const b = junk.length > 0 ? Uint8Array.of(type, ...junk.subarray(1)) : junk;
        expect(() => p.b.engine.receive(b)).not.toThrow();
        n++;
      }),
      { numRuns: 10_000 },
    );
    expect(p.b.delivered).toEqual([]);
    expect(p.b.closes).toEqual([]);
    expect(p.b.engine.stats.dropped).toBe(n);
    expect(p.b.engine.stats.blocksReceived).toBe(0);
    // the window never moved: a genuine block 0 still delivers
    p.a.engine.send(1, bytes(3, 1));
    for (const b of p.a.engine.poll()) p.b.engine.receive(b);
    expect(p.b.delivered).toHaveLength(1);
  });

  it('12,000 mutations of genuine data and ack blocks: no throw, no delivery; the originals then deliver exactly once', () => {
    // 30 blocks in one flight: a window above the default 32 blocks.
    const p = new Pair({ limits: { maxBlockPlaintext: 200, sendWindowBlocks: 64 } });
    const sent = Array.from({ length: 30 }, (_, i) => bytes(10 + i * 13, i));
    for (const m of sent) p.a.engine.send(m.length, m);
    const data = p.a.engine.poll();
    // some genuine ack blocks from B to A, taken from a twin pair so B's own state stays fresh
    const twin = new Pair({ limits: { maxBlockPlaintext: 200, sendWindowBlocks: 64 } });
    for (const m of sent) twin.a.engine.send(m.length, m);
    for (const b of twin.a.engine.poll()) twin.b.engine.receive(b);
    twin.clock.t += 10;
    const acks = twin.b.engine.poll();
    expect(acks.length).toBeGreaterThan(0);

    const rand = mulberry32(2024);
    const genuine = [...data, ...acks];
    for (let i = 0; i < 12_000; i++) {
      const orig = genuine[i % genuine.length]!;
      const m = mutateBlock(rand, orig);
      if (sameBytes(m, orig)) continue;
      const target = i % genuine.length < data.length ? p.b : p.a;
      expect(() => target.engine.receive(m)).not.toThrow();
    }
    expect(p.b.delivered).toEqual([]);
    expect(p.a.delivered).toEqual([]);
    expect(p.a.closes).toEqual([]);
    expect(p.b.closes).toEqual([]);
    expect(p.a.engine.inspect().inFlightBlocks).toBe(data.length); // no forged ack got through
    for (const b of data) p.b.engine.receive(b);
    for (const b of data) p.b.engine.receive(b); // and replays of them
    expect(p.b.delivered.map((d) => d.data)).toEqual(sent);
    expect(p.b.delivered.map((d) => d.channel)).toEqual(sent.map((m) => m.length));
  });
});
