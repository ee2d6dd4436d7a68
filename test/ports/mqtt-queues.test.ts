// The MQTT port's bounded queues without a broker: the publish window never has more than
// `window` publishes running nor more than `queueMax` waiting; the receive queue drops the oldest.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PublishWindow, ReceiveQueue } from '../../src/ports/mqtt-queues.js';
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
    expect(dropped).toEqual([false, false, false, true, true]);
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
    expect(q.push('b')).toBe(false);
    expect(q.length).toBe(0);
    await expect(q.shift()).rejects.toBe(e);
  });
});
