// Exactly-once, in-order delivery between two engines over a network that loses, duplicates and
// reorders, with key updates, fragmentation and small windows mixed in (fast-check, seeded).

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Pair, bytes, type LinkConditions } from './harness.js';

const conditions: fc.Arbitrary<LinkConditions> = fc.record({
  loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
  dup: fc.double({ min: 0, max: 0.3, noNaN: true }),
  delayMs: fc.integer({ min: 1, max: 50 }),
  jitterMs: fc.integer({ min: 0, max: 80 }),
});

const message = fc.record({
  channel: fc.integer({ min: 0, max: 3 }),
  size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 41, max: 3000 })),
  closeChannel: fc.boolean(),
});

const scenario = fc.record({
  seed: fc.integer(),
  ab: conditions,
  ba: conditions,
  fromA: fc.array(message, { maxLength: 60 }),
  fromB: fc.array(message, { maxLength: 30 }),
  maxBlockPlaintext: fc.integer({ min: 64, max: 2048 }),
  sendWindowBlocks: fc.integer({ min: 1, max: 32 }),
  extraRecvBuffer: fc.integer({ min: 0, max: 16 }),
  keySoftLimit: fc.integer({ min: 16, max: 64 }),
  ackEveryBlocks: fc.integer({ min: 1, max: 10 }),
  aead: fc.constantFrom('chacha20-poly1305' as const, 'aes-256-gcm' as const),
});

describe('BlockEngine over a lossy, duplicating, reordering network', () => {
  it('delivers every message exactly once, in send order, in both directions', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = new Pair(
          {
            aead: s.aead,
            limits: {
              maxBlockPlaintext: s.maxBlockPlaintext,
              sendWindowBlocks: s.sendWindowBlocks,
              recvBufferBlocks: s.sendWindowBlocks + s.extraRecvBuffer,
              keySoftLimit: s.keySoftLimit,
              ackEveryBlocks: s.ackEveryBlocks,
              sendBufferBytes: 16 * 1024,
              maxMessageBytes: 4096,
              maxRetransmits: 60,
            },
          },
          s.seed,
        );
        p.conditions = { ab: s.ab, ba: s.ba };
        const sentA = s.fromA.map((m, i) => ({ channel: m.channel, data: bytes(m.size, i), closeChannel: m.closeChannel }));
        const sentB = s.fromB.map((m, i) => ({ channel: m.channel, data: bytes(m.size, 1000 + i), closeChannel: m.closeChannel }));
        p.a.backlog.push(...sentA);
        p.b.backlog.push(...sentB);
        const done = (): boolean =>
          p.b.delivered.length >= sentA.length &&
          p.a.delivered.length >= sentB.length &&
          p.a.engine.inspect().inFlightBlocks === 0 &&
          p.b.engine.inspect().inFlightBlocks === 0;
        const finished = p.run(done, 20_000);
        expect(p.a.closes).toEqual([]);
        expect(p.b.closes).toEqual([]);
        expect(finished).toBe(true);
        expect(p.b.delivered).toEqual(sentA.map((m) => ({ channel: m.channel, data: m.data, channelClosed: m.closeChannel })));
        expect(p.a.delivered).toEqual(sentB.map((m) => ({ channel: m.channel, data: m.data, channelClosed: m.closeChannel })));
        // bounds held throughout the run's end state
        for (const side of [p.a, p.b]) {
          const i = side.engine.inspect();
          expect(i.inFlightSpan).toBeLessThanOrEqual(s.sendWindowBlocks);
          expect(i.recvBufferedBlocks).toBe(0);
          expect(i.reassemblyBytes).toBe(0);
          expect(i.queuedBytes).toBe(0);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('survives a burst outage followed by retransmitAll() (re-stitch) without loss or duplication', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 80 }), (seed, count) => {
        const p = new Pair({ limits: { maxBlockPlaintext: 256, sendWindowBlocks: 16 } }, seed);
        const sent = Array.from({ length: count }, (_, i) => ({ channel: i % 2, data: bytes(100 + (i % 7) * 50, i), closeChannel: false }));
        p.a.backlog.push(...sent);
        // the RN dies: everything in both directions is lost for a while
        p.tap = () => false;
        p.run(() => p.clock.t > 300);
        p.tap = undefined;
        p.a.engine.retransmitAll();
        p.b.engine.retransmitAll();
        expect(p.run(() => p.b.delivered.length >= count && p.a.engine.inspect().inFlightBlocks === 0)).toBe(true);
        expect(p.b.delivered.map((d) => d.data)).toEqual(sent.map((m) => m.data));
      }),
      { numRuns: 50 },
    );
  });
});
