// The send queue (a ring of parallel arrays): whatever the order of pushes and packs, and however the
// ring grows, wraps and shrinks, the frames it packs carry every message in order, whole or in
// fragments, with FIN on the last piece only and CHANNEL_CLOSE on the messages that asked for it.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SendQueue } from '../../../src/uzp/blocks/send-queue.js';
import { decodeFrames } from '../../../src/uzp/blocks/frames.js';
import { MSG_HEADER_LENGTH } from '../../../src/uzp/blocks/constants.js';

interface Sent {
  readonly channel: number;
  readonly data: Uint8Array;
  readonly close: boolean;
}

/** Packs one block of up to `limit` bytes and returns what it carried as messages and pieces. */
function packOne(q: SendQueue, limit: number): { frames: ReturnType<typeof decodeFrames>; used: number } {
  const buf = new Uint8Array(limit);
  const used = q.pack(buf, 0, limit);
  return { frames: used === 0 ? [] : decodeFrames(buf.subarray(0, used)), used };
}

/** Joins MSG frames back into messages, checking the flags of each piece on the way. */
class Reassembler {
  readonly messages: Sent[] = [];
  private partial: { channel: number; parts: Uint8Array[] } | null = null;

  add(frames: ReturnType<typeof decodeFrames>): void {
    for (const f of frames) {
      if (f.type !== 'msg') throw new Error(`unexpected frame ${f.type}`);
      if (this.partial !== null && this.partial.channel !== f.channel) throw new Error('a fragment of another message came between two fragments');
      const parts = [...(this.partial?.parts ?? []), f.data.slice()];
      if (!f.fin) {
        if (f.channelClose) throw new Error('CHANNEL_CLOSE on a fragment that is not the last');
        this.partial = { channel: f.channel, parts };
        continue;
      }
      this.partial = null;
      const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) (data.set(p, o), (o += p.length));
      this.messages.push({ channel: f.channel, data, close: f.channelClose });
    }
  }
}

const op = fc.oneof(
  fc.record({ push: fc.constant(true), channel: fc.integer({ min: 0, max: 0xffff_ffff }), length: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 3000 })), close: fc.boolean() }),
  fc.record({ push: fc.constant(false), limit: fc.integer({ min: MSG_HEADER_LENGTH, max: 4096 }) }),
);

describe('SendQueue', () => {
  it('packs every message in order, in fragments where needed, with the right flags (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const q = new SendQueue();
        const sent: Sent[] = [];
        const r = new Reassembler();
        let seq = 0;
        for (const o of ops) {
          if (o.push) {
            const data = new Uint8Array(o.length).fill(++seq & 0xff);
            q.push(o.channel, data, o.close);
            sent.push({ channel: o.channel, data, close: o.close });
          } else {
            r.add(packOne(q, o.limit).frames);
          }
          // A half-packed head is still queued and not yet reassembled.
          expect(q.messages).toBe(sent.length - r.messages.length);
        }
        // Drain what is left in blocks large enough to always make progress.
        for (let i = 0; q.messages > 0; i++) {
          if (i > 10_000) throw new Error('the queue does not drain');
          r.add(packOne(q, 1024).frames);
        }
        expect(q.bytes).toBe(0);
        expect(r.messages).toEqual(sent);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps its order across growth and wrap-around, and bytes counts what is not packed', () => {
    const q = new SendQueue();
    const r = new Reassembler();
    const sent: Sent[] = [];
    let seq = 0;
    // Push 5, pack 3, repeatedly: the head walks round the ring while it grows from 16 slots.
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < 5; k++) {
        const data = new Uint8Array(20).fill(++seq & 0xff);
        q.push(seq, data, false);
        sent.push({ channel: seq, data, close: false });
      }
      r.add(packOne(q, 3 * (MSG_HEADER_LENGTH + 20)).frames);
      expect(q.bytes).toBe(20 * q.messages);
    }
    while (q.messages > 0) r.add(packOne(q, 4096).frames);
    expect(r.messages).toEqual(sent);
  });

  it('cuts its ring back to 4,096 slots once a burst is drained, and works on', () => {
    const q = new SendQueue();
    const ring = () => (q as unknown as { data: unknown[] }).data.length;
    for (let i = 0; i < 10_000; i++) q.push(1, new Uint8Array(1), false);
    expect(ring()).toBe(16_384);
    while (q.messages > 0) packOne(q, 64 * 1024);
    expect(ring()).toBe(4096);
    q.push(7, Uint8Array.of(1, 2, 3), true);
    const { frames } = packOne(q, 100);
    expect(frames).toEqual([{ type: 'msg', channel: 7, fin: true, channelClose: true, data: Uint8Array.of(1, 2, 3) }]);
  });

  it('clear() forgets everything, including a half-packed head', () => {
    const q = new SendQueue();
    q.push(1, new Uint8Array(2000), false);
    packOne(q, 1000); // a fragment: the head is half packed
    q.clear();
    expect([q.messages, q.bytes]).toEqual([0, 0]);
    q.push(2, Uint8Array.of(9), false);
    expect(packOne(q, 100).frames).toEqual([{ type: 'msg', channel: 2, fin: true, channelClose: false, data: Uint8Array.of(9) }]);
  });
});
