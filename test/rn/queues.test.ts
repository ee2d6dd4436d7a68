import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutboundQueue, STUCK_MEMORY_MS, type Sink } from '../../src/rn/queues.js';

/** A socket stand-in: accepts `room` frames, then asks for drain until drain() is called. */
class FakeSink implements Sink {
  readonly written: Uint8Array[] = [];
  constructor(public room: number) {}
  write(frame: Uint8Array): boolean {
    this.written.push(frame);
    this.room--;
    return this.room > 0;
  }
}

const f = (tag: number, size = 10): Uint8Array => new Uint8Array(size).fill(tag);
const limits = { controlMax: 4, dataMaxFrames: 5, dataMaxBytes: 1000 };

describe('RN outbound queues', () => {
  it('writes straight through while the socket does not need drain', () => {
    const s = new FakeSink(100);
    const q = new OutboundQueue(s, limits);
    q.pushData(f(1));
    q.pushControl(f(2));
    expect(s.written.map((x) => x[0])).toEqual([1, 2]);
    expect(q.queuedFrames).toBe(0);
  });

  it('stops writing when the socket asks for drain, control goes first after drain', () => {
    const s = new FakeSink(1);
    const q = new OutboundQueue(s, limits);
    q.pushData(f(1)); // fills the sink
    expect(q.needsDrain).toBe(true);
    q.pushData(f(2));
    q.pushData(f(3));
    q.pushControl(f(9));
    expect(s.written.map((x) => x[0])).toEqual([1]);
    s.room = 100;
    q.onDrain();
    expect(s.written.map((x) => x[0])).toEqual([1, 9, 2, 3]);
  });

  it('a small view of a large read is copied on the way through; a view that fills most of its read is not', () => {
    const s = new FakeSink(100);
    const q = new OutboundQueue(s, limits);
    const read = new Uint8Array(64 * 1024).fill(5);
    q.pushData(read.subarray(100, 109)); // a 9-byte RELAY in a 64 KiB read
    q.pushData([f(1, 5), read.subarray(0, 9)]);
    q.pushData(read.subarray(0, 60 * 1024)); // a block that fills its read
    // Before: the 9-byte views went to the socket as they were, each keeping its 64 KiB alive in
    // node's write buffer while the high-water mark counted 9 bytes.
    expect(s.written.map((w) => w.buffer.byteLength)).toEqual([9, 5, 9, 64 * 1024]);
    expect(s.written[3]!.buffer).toBe(read.buffer);
    expect([...s.written[0]!]).toEqual(new Array(9).fill(5));
  });

  it('a frame in pieces is written piece by piece when the socket has room, and queued as one copy when not', () => {
    const s = new FakeSink(100);
    const q = new OutboundQueue(s, limits);
    const read = new Uint8Array(64).fill(7); // a read the frame's second piece is a view of
    q.pushData([f(1, 5), read.subarray(0, 20)]);
    expect(s.written).toHaveLength(2);
    expect(s.written[1]!.buffer).toBe(read.buffer); // no copy on the way through
    s.room = 1;
    q.pushData(f(2)); // fills the sink
    q.pushData([f(3, 5), read.subarray(20, 40)]);
    expect(q.queuedDataBytes).toBe(25); // the bytes of the frame, not of the read it pointed into
    s.room = 100;
    q.onDrain();
    const last = s.written[s.written.length - 1]!;
    expect(last.length).toBe(25);
    expect(last.buffer).not.toBe(read.buffer);
    expect([...last]).toEqual([3, 3, 3, 3, 3, ...new Array(20).fill(7)]);
  });

  it('drops the oldest data frames beyond the frame bound and counts them', () => {
    const s = new FakeSink(1);
    const q = new OutboundQueue(s, limits);
    q.pushData(f(0));
    let dropped = 0;
    for (let i = 1; i <= 12; i++) dropped += q.pushData(f(i));
    expect(dropped).toBe(7);
    expect(q.dropped).toBe(7);
    s.room = 100;
    q.onDrain();
    expect(s.written.map((x) => x[0])).toEqual([0, 8, 9, 10, 11, 12]);
  });

  it('drops oldest to respect the byte bound', () => {
    const s = new FakeSink(1);
    const q = new OutboundQueue(s, { controlMax: 4, dataMaxFrames: 100, dataMaxBytes: 250 });
    q.pushData(f(0));
    for (let i = 1; i <= 5; i++) q.pushData(f(i, 100));
    expect(q.queuedDataBytes).toBe(200);
    s.room = 100;
    q.onDrain();
    expect(s.written.map((x) => x[0])).toEqual([0, 4, 5]);
  });

  it('reports congestion above half the byte cap and relieves below a quarter', () => {
    const s = new FakeSink(1);
    const q = new OutboundQueue(s, { controlMax: 4, dataMaxFrames: 100, dataMaxBytes: 1000 });
    q.pushData(f(0, 10)); // written, sink now needs drain
    for (let i = 1; i <= 5; i++) q.pushData(f(i, 100));
    expect(q.congested).toBe(false); // 500 of 1000 bytes: not above half
    q.pushData(f(6, 100));
    expect(q.congested).toBe(true);
    let relieved = 0;
    q.onRelieved(() => relieved++);
    s.room = 3; // drains 3 frames, 300 bytes left: still above a quarter
    q.onDrain();
    expect(relieved).toBe(0);
    s.room = 100;
    q.onDrain();
    expect(relieved).toBe(1);
    expect(q.congested).toBe(false);
    q.onDrain();
    expect(relieved).toBe(1); // once per registration
  });

  it('a stuck receiver stops counting as congested until it drains, and for STUCK_MEMORY_MS after', () => {
    const s = new FakeSink(1);
    let now = 0;
    const q = new OutboundQueue(s, { controlMax: 4, dataMaxFrames: 100, dataMaxBytes: 1000 }, () => now);
    q.pushData(f(0, 10));
    for (let i = 1; i <= 7; i++) q.pushData(f(i, 100));
    expect(q.congested).toBe(true);
    q.markStuck();
    expect(q.congested).toBe(false);
    s.room = 100;
    q.onDrain();
    for (let i = 1; i <= 7; i++) q.pushData(f(i, 100));
    expect(q.congested).toBe(false); // written straight through
    s.room = 0;
    q.pushData(f(8, 10));
    for (let i = 1; i <= 6; i++) q.pushData(f(i, 100));
    // Before: congested again at once, so a receiver cycling read-a-little / stop paused its senders'
    // whole links again and again.
    expect(q.congested).toBe(false);
    now += STUCK_MEMORY_MS;
    expect(q.congested).toBe(true); // the memory has passed: congestion counts again
  });

  it('clearing the queue relieves waiters (a closed receiver never keeps senders paused)', () => {
    const q = new OutboundQueue(new FakeSink(0), limits);
    let relieved = 0;
    q.onRelieved(() => relieved++);
    q.clear();
    expect(relieved).toBe(1);
  });

  it('control overflow is reported, never dropped silently', () => {
    const s = new FakeSink(1);
    const q = new OutboundQueue(s, limits);
    q.pushControl(f(0));
    for (let i = 0; i < 4; i++) expect(q.pushControl(f(i + 1))).toBe(true);
    expect(q.pushControl(f(99))).toBe(false);
  });

  it('invariants under any sequence of pushes and drains (property)', () => {
    type Op = { op: 'data'; size: number } | { op: 'control' } | { op: 'drain'; room: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('data' as const), size: fc.integer({ min: 3, max: 400 }) }),
      fc.record({ op: fc.constant('control' as const) }),
      fc.record({ op: fc.constant('drain' as const), room: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const s = new FakeSink(2);
        const lim = { controlMax: 1000, dataMaxFrames: 6, dataMaxBytes: 900 };
        const q = new OutboundQueue(s, lim);
        let seq = 0;
        const sentData: number[] = [];
        const sentControl: number[] = [];
        for (const o of ops) {
          if (o.op === 'drain') {
            s.room = o.room;
            q.onDrain();
          } else {
            const b = new Uint8Array(o.op === 'data' ? o.size : 3);
            new DataView(b.buffer).setUint16(0, seq);
            b[2] = o.op === 'data' ? 1 : 2;
            (o.op === 'data' ? sentData : sentControl).push(seq++);
            if (o.op === 'data') q.pushData(b);
            else q.pushControl(b);
          }
          expect(q.queuedDataBytes).toBeLessThanOrEqual(lim.dataMaxBytes + 400);
        }
        s.room = 1e9;
        q.onDrain();
        const got = s.written.map((b) => ({ seq: new DataView(b.buffer).getUint16(0), kind: b[2] }));
        // Control frames: all delivered, in order.
        expect(got.filter((g) => g.kind === 2).map((g) => g.seq)).toEqual(sentControl);
        // Data frames: an in-order subsequence; delivered + dropped = sent.
        const data = got.filter((g) => g.kind === 1).map((g) => g.seq);
        expect([...data].sort((a, b) => a - b)).toEqual(data);
        expect(data.every((d) => sentData.includes(d))).toBe(true);
        expect(data.length + q.dropped).toBe(sentData.length);
        // The newest data frame is never the one dropped.
        if (sentData.length > 0) expect(data[data.length - 1]).toBe(sentData[sentData.length - 1]);
      }),
      { numRuns: 500 },
    );
  });
});
