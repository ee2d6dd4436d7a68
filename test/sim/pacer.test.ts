// The pacing relay on a fake clock: exact delivery times, batching per timer tick, faults,
// unplug, backpressure. (Real-time accuracy over real PTYs is in virtual-line.test.ts.)

import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import type { ByteDuplex } from '../../src/sim/duplex.js';
import { PacedRelay } from '../../src/sim/pacer.js';
import { codeOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { CommonCode } from '../../src/lib/errors.js';

/** A synchronous test end: `send` makes it emit bytes, `got` records what the relay wrote to it. */
class End extends EventEmitter implements ByteDuplex {
  got: { at: number; bytes: number[] }[] = [];
  paused = false;
  constructor(private readonly clock: FakeClock) {
    super();
  }
  write(chunk: Uint8Array): boolean {
    this.got.push({ at: this.clock.now(), bytes: [...chunk] });
    return true;
  }
  send(bytes: number[]): void {
    this.emit('data', Buffer.from(bytes));
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  get all(): number[] {
    return this.got.flatMap((g) => g.bytes);
  }
}

function setup(baud = 10_000, framing?: '8N1' | '8E1', hw?: number) {
  const clock = new FakeClock(0);
  const a = new End(clock);
  const b = new End(clock);
  const relay = new PacedRelay({ baud, clock, ...(framing ? { framing } : {}), ...(hw ? { highWaterBytes: hw } : {}) }, a, b);
  return { clock, a, b, relay };
}

describe('paced relay timing (fake clock)', () => {
  it('delivers each byte one character time after the line is free (10 bits at 10 kbaud = 1 ms)', () => {
    const { clock, a, b } = setup();
    a.send([1, 2, 3]);
    clock.advance(0.999);
    expect(b.got).toEqual([]);
    clock.advance(0.001);
    expect(b.all).toEqual([1]);
    clock.advance(2);
    expect(b.got).toEqual([
      { at: 1, bytes: [1] },
      { at: 2, bytes: [2] },
      { at: 3, bytes: [3] },
    ]);
  });

  it('an 8E1 character is 11 bits', () => {
    const { clock, a, b } = setup(11_000, '8E1');
    a.send([7, 8]);
    clock.advance(2);
    expect(b.got.map((g) => g.at)).toEqual([1, 2]);
  });

  it('bytes arriving while the line is busy queue behind it; an idle line starts at once', () => {
    const { clock, a, b } = setup();
    a.send([1, 2]);
    clock.advance(0.5);
    a.send([3]); // line busy until 2 ms: due at 3 ms
    clock.advance(10);
    a.send([4]); // line idle since 3 ms: due at 11.5 ms
    clock.advance(5);
    expect(b.got.map((g) => g.at)).toEqual([1, 2, 3, 11.5]);
  });

  it('both directions are independent lines (full duplex)', () => {
    const { clock, a, b } = setup();
    a.send([1, 2]);
    b.send([9]);
    clock.advance(5);
    expect(b.got.map((g) => g.at)).toEqual([1, 2]);
    expect(a.got).toEqual([{ at: 1, bytes: [9] }]);
  });

  it('a late timer delivers everything due in one chunk, and the rate stays exact on average', () => {
    const clock = new FakeClock(0);
    const a = new End(clock);
    const b = new End(clock);
    // A clock whose timers fire 3.3 ms late, like a loaded event loop.
    const late = { now: () => clock.now(), setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms + 3.3) };
    const relay = new PacedRelay({ baud: 10_000, clock: late }, a, b);
    a.send(Array.from({ length: 100 }, (_, i) => i));
    clock.advance(200);
    expect(b.all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(b.got.length).toBeLessThan(100); // batched
    // Batching never delivers early: byte k (1-based count so far) never arrives before k ms.
    let count = 0;
    for (const g of b.got) {
      count += g.bytes.length;
      expect(g.at).toBeGreaterThanOrEqual(count);
    }
    // And lateness does not accumulate: the last byte is due at 100 ms, delivered by 100 + 3.3 + 1.
    expect(b.got[b.got.length - 1]!.at).toBeLessThanOrEqual(104.3);
    expect(relay.stats('aToB').delivered).toBe(100);
  });

  it('batchMs: batches at least that far apart, never a byte early, the last byte of a burst exactly on time', () => {
    const clock = new FakeClock(0);
    const a = new End(clock);
    const b = new End(clock);
    // 0.25 ms characters (40 kbaud, 10 bits), 1 ms batches: a precise clock would wake per character.
    new PacedRelay({ baud: 40_000, clock, batchMs: 1 }, a, b);
    a.send(Array.from({ length: 10 }, (_, i) => i)); // due at 0.25, 0.5, ... 2.5 ms
    clock.advance(10);
    expect(b.all).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const at = b.got.map((g) => g.at);
    for (let i = 1; i < at.length - 1; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(1);
    expect(at[at.length - 1]).toBe(2.5); // the frame's end is not late
    let count = 0;
    for (const g of b.got) {
      count += g.bytes.length;
      expect(g.at).toBeGreaterThanOrEqual(count * 0.25);
    }
    expect(b.got.length).toBeLessThanOrEqual(4);
    expect(codeOf(() => new PacedRelay({ baud: 9600, batchMs: -1 }))).toBe(CommonCode.USAGE);
  });

  it('setBaud changes the rate of bytes that enter afterwards', () => {
    const { clock, a, b, relay } = setup();
    relay.setBaud(5_000);
    expect(relay.charMs).toBe(2);
    a.send([1]);
    clock.advance(2);
    expect(b.got).toEqual([{ at: 2, bytes: [1] }]);
  });
});

describe('paced relay faults and unplug (fake clock)', () => {
  it('drops and flips at exact positions relative to the injection; dropped bytes still take line time', () => {
    const { clock, a, b, relay } = setup();
    a.send([0, 1]);
    relay.inject('aToB', { dropAt: [1], flipAt: [{ at: 2, mask: 0xf0 }] });
    a.send([10, 11, 12, 13]);
    clock.advance(10);
    expect(b.got).toEqual([
      { at: 1, bytes: [0] },
      { at: 2, bytes: [1] },
      { at: 3, bytes: [10] },
      { at: 5, bytes: [12 ^ 0xf0] },
      { at: 6, bytes: [13] },
    ]);
    expect(relay.stats('aToB')).toMatchObject({ received: 6, delivered: 5, dropped: 1, flipped: 1 });
  });

  it('seeded probabilistic faults are reproducible', () => {
    const run = (): number[] => {
      const { clock, a, b, relay } = setup();
      relay.inject('aToB', { dropProbability: 0.3, flipProbability: 0.3, seed: 7 });
      a.send(Array.from({ length: 200 }, (_, i) => i & 0xff));
      clock.advance(300);
      return b.all;
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(first.length).toBeLessThan(200);
  });

  it('clearFaults stops further faults', () => {
    const { clock, a, b, relay } = setup();
    relay.inject('aToB', { dropProbability: 1 });
    a.send([1]);
    relay.clearFaults('aToB');
    a.send([2]);
    clock.advance(5);
    expect(b.all).toEqual([2]);
  });

  it('validates faults with USAGE errors', () => {
    const { relay } = setup();
    expect(codeOf(() => relay.inject('aToB', { dropAt: [-1] }))).toBe(CommonCode.USAGE);
    expect(codeOf(() => relay.inject('aToB', { flipAt: [{ at: 0, mask: 0 }] }))).toBe(CommonCode.USAGE);
    expect(codeOf(() => relay.inject('aToB', { dropProbability: 1.5 }))).toBe(CommonCode.USAGE);
  });

  it('unplugging an end loses what was on its way to it; replugging starts clean', () => {
    const { clock, a, b, relay } = setup();
    a.send([1, 2, 3, 4]);
    clock.advance(2);
    relay.detach('b');
    clock.advance(5);
    expect(b.all).toEqual([1, 2]);
    expect(relay.stats('aToB').lost).toBe(2);
    a.send([5]); // into a cut cable
    clock.advance(5);
    expect(relay.stats('aToB').lost).toBe(3);
    b.send([99]); // b is not heard while unplugged
    clock.advance(5);
    expect(a.got).toEqual([]);
    const b2 = new End(clock);
    relay.attach('b', b2);
    a.send([6]);
    clock.advance(5);
    expect(b2.all).toEqual([6]);
  });

  it('pauses a source that outruns the line and resumes it when the queue halves', () => {
    const { clock, a, b, relay } = setup(10_000, undefined, 10);
    a.send(Array.from({ length: 12 }, (_, i) => i));
    expect(a.paused).toBe(true);
    clock.advance(6); // 6 delivered, 6 still queued: above half of 10
    expect(a.paused).toBe(true);
    clock.advance(1); // 5 queued: resumed
    expect(a.paused).toBe(false);
    clock.advance(10);
    expect(b.all.length).toBe(12);
    expect(relay.stats('aToB').overflowed).toBe(0);
  });

  it('drops and counts what a source without flow control sends beyond the high-water mark', () => {
    const clock = new FakeClock(0);
    const b = new End(clock);
    const src = Object.assign(new EventEmitter(), { write: () => true }) as EventEmitter & ByteDuplex;
    const relay = new PacedRelay({ baud: 10_000, clock, highWaterBytes: 10 }, src, b);
    src.emit('data', Buffer.alloc(15));
    clock.advance(20);
    expect(b.all.length).toBe(10);
    expect(relay.stats('aToB').overflowed).toBe(5);
  });

  it('idle() resolves once the line has delivered everything; close() cancels timers', async () => {
    const { clock, a, relay } = setup();
    a.send([1, 2, 3]);
    let idle = false;
    const p = relay.idle('aToB').then(() => (idle = true));
    clock.advance(2);
    await Promise.resolve();
    expect(idle).toBe(false);
    clock.advance(1);
    await p;
    expect(idle).toBe(true);
    a.send([4]);
    relay.close();
    expect(clock.pending).toBe(0);
  });
});
