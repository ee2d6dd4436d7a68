// The MQTT port's bounded queues without a broker: the publish window never has more than
// `window` publishes running nor more than `queueMax` waiting; the receive queue drops the oldest
// over its count or its byte bound, never one it must keep, and lets the newest in under the bytes
// (counting the bytes held outside it); held acks count the bytes of their messages until acked.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HeldAcks, PublishWindow, ReceiveQueue } from '../../src/ports/mqtt-queues.js';
import { CodedError, CommonCode } from '../../src/lib/errors.js';

describe('PublishWindow', () => {
  it('runs at most `window` at once, queues at most `queueMax`, refuses the rest, loses nothing accepted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 40 }), async (window, queueMax, n) => {
        const w = new PublishWindow(window, queueMax);
        let running = 0;
        let peak = 0;
        const release: (() => void)[] = [];
        const results = Array.from({ length: n }, (_, i) =>
          w
            .submit(
              () =>
                new Promise<void>((res) => {
                  running++;
                  peak = Math.max(peak, running);
                  release.push(() => (running--, res()));
                }),
            )
            .then(
              () => i,
              (e: CodedError) => e.code,
            ),
        );
        expect(w.active).toBe(Math.min(n, window));
        expect(w.queued).toBe(Math.min(Math.max(0, n - window), queueMax));
        while (release.length > 0 || w.active > 0) {
          release.shift()?.();
          await new Promise((r) => setImmediate(r));
        }
        const out = await Promise.all(results);
        const accepted = Math.min(n, window + queueMax);
        expect(out.filter((x) => typeof x === 'number')).toEqual(Array.from({ length: accepted }, (_, i) => i));
        expect(out.filter((x) => x === CommonCode.BUFFER_FULL).length).toBe(n - accepted);
        expect(w.refused).toBe(n - accepted);
        expect(peak).toBeLessThanOrEqual(window);
      }),
      { numRuns: 200 },
    );
  });

  it('a failing publish frees its slot for the next one', async () => {
    const w = new PublishWindow(1, 1);
    const a = w.submit(() => Promise.reject(new Error('broker said no')));
    const b = w.submit(() => Promise.resolve());
    await expect(a).rejects.toThrow('broker said no');
    await expect(b).resolves.toBeUndefined();
    expect(w.active).toBe(0);
  });
});

describe('ReceiveQueue', () => {
  it('drops the oldest when full and counts it', () => {
    const q = new ReceiveQueue<number>(3);
    const dropped = [1, 2, 3, 4, 5].map((x) => q.push(x));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(q.dropped).toBe(2);
    expect([q.tryShift(), q.tryShift(), q.tryShift(), q.tryShift()]).toEqual([3, 4, 5, undefined]);
  });

  it('hands items to waiting consumers and rejects them on close', async () => {
    const q = new ReceiveQueue<string>(2);
    const first = q.shift();
    q.push('a');
    expect(await first).toBe('a');
    const pending = q.shift();
    const e = new Error('closed');
    q.close(e);
    await expect(pending).rejects.toBe(e);
    expect(q.push('b')).toBe(0);
    expect(q.length).toBe(0);
    await expect(q.shift()).rejects.toBe(e);
  });

  it('drops the oldest items until the bytes fit, several for one push; the newest always gets in', () => {
    const q = new ReceiveQueue<string>(100, () => false, { max: 10, of: (x) => x.length });
    expect(['aaa', 'bbb', 'ccc'].map((x) => q.push(x))).toEqual([0, 0, 0]);
    // 9 + 8 bytes: aaa, bbb and ccc go before 8 bytes fit.
    expect(q.push('dddddddd')).toBe(3);
    expect([q.length, q.byteLength]).toEqual([1, 8]);
    // Larger than the whole bound: the older item goes, the newest stays alone.
    expect(q.push('e'.repeat(16))).toBe(1);
    expect([q.length, q.byteLength, q.dropped]).toEqual([1, 16, 4]);
    expect(q.tryShift()).toBe('e'.repeat(16));
    expect(q.byteLength).toBe(0);
  });

  it('counts the bytes held outside it against the byte bound, and tells of every item taken, a waiting consumer\'s too', async () => {
    let outside = 0;
    const taken: string[] = [];
    const q = new ReceiveQueue<string>(100, () => false, { max: 10, of: (x) => x.length, outside: () => outside }, (x) => taken.push(x));
    expect(['aaa', 'bbb'].map((x) => q.push(x))).toEqual([0, 0]);
    outside = 5; // e.g. a message the consumer has taken, owed an ack
    // 3 + 3 + 2 + 5 = 13: aaa goes; 3 + 2 + 5 = 10 fits.
    expect(q.push('cc')).toBe(1);
    expect([q.tryShift(), q.tryShift(), taken]).toEqual(['bbb', 'cc', ['bbb', 'cc']]);
    const next = q.shift();
    q.push('d');
    expect([await next, taken]).toEqual(['d', ['bbb', 'cc', 'd']]);
  });

  it('property: within both bounds unless only kept items (and, under the bytes, the newest) hold it past them; delivered in order; every other item counted as dropped, never a kept one', () => {
    const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 40 }), kept: fc.boolean() }), fc.constant({ shift: true as const }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 60 }), fc.array(op, { maxLength: 80 }), (max, maxBytes, ops) => {
        type Item = { id: number; size: number; kept: boolean };
        const q = new ReceiveQueue<Item>(max, (x) => x.kept, { max: maxBytes, of: (x) => x.size });
        const pushed: Item[] = [];
        const shifted: Item[] = [];
        let dropped = 0;
        const take = (): boolean => {
          const before = q.byteLength;
          const x = q.tryShift();
          if (x === undefined) return false;
          expect(before - q.byteLength).toBe(x.size);
          shifted.push(x);
          return true;
        };
        for (const o of ops) {
          if ('shift' in o) {
            take();
            continue;
          }
          const item = { id: pushed.length, size: o.push, kept: o.kept };
          pushed.push(item);
          dropped += q.push(item);
          // Kept items are never dropped, so every kept one not yet delivered is in the queue.
          const kept = pushed.filter((x) => x.kept && !shifted.includes(x));
          const keptBytes = kept.reduce((n, x) => n + x.size, 0);
          expect(q.length).toBeGreaterThanOrEqual(kept.length);
          expect(q.length).toBeLessThanOrEqual(Math.max(max, kept.length));
          expect(q.byteLength).toBeLessThanOrEqual(Math.max(maxBytes, keptBytes + (item.kept ? 0 : item.size)));
        }
        while (take());
        expect(q.byteLength).toBe(0);
        expect(shifted.map((x) => x.id)).toEqual(shifted.map((x) => x.id).sort((a, b) => a - b));
        const gone = pushed.filter((x) => !shifted.includes(x));
        expect(gone.length).toBe(dropped);
        expect(q.dropped).toBe(dropped);
        expect(gone.every((x) => !x.kept)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('HeldAcks bytes', () => {
  it('counts the bytes of the messages owed an ack, and of those taken, until each is acked or the connection goes', () => {
    let released = 0;
    const acks = new HeldAcks(() => released++);
    const a = acks.hold(1, 100);
    const b = acks.hold(2, 50);
    expect([acks.bytes, acks.takenBytes]).toEqual([150, 0]);
    acks.taken(a);
    acks.taken(a);
    expect([acks.bytes, acks.takenBytes]).toEqual([150, 100]);
    a();
    a();
    expect([acks.bytes, acks.takenBytes, released]).toEqual([50, 0, 1]);
    acks.taken(b);
    acks.reset();
    expect([acks.bytes, acks.takenBytes]).toEqual([0, 0]);
    // Acks of the old connection free nothing more.
    b();
    acks.taken(b);
    expect([acks.bytes, acks.takenBytes, released]).toEqual([0, 0, 1]);
  });
});
