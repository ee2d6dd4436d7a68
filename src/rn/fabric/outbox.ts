// Hop messages to other RNs, batched (docs/PROFILE.md §Fabric "Batching"): everything this RN has
// for one RN within one turn of the event loop goes out as one NATS message — a header naming this
// RN, a concatenation of hop messages, a tag under the key the two RNs share (hop-keys.ts) — up
// to BATCH_BYTES, so 64-byte frames do not each pay a NATS message's parsing, subject matching and
// routing, nor a MAC. Each frame is written once, straight into the batch buffer.

import { toHex } from '../../uzp/bytes.js';
import { HopType } from './messages.js';

/** How a batch is framed: its header (version, sender) and its tag for the receiving RN. */
export interface BatchSeal {
  readonly header: Uint8Array;
  readonly tagLength: number;
  /** The tag of `batch` (every byte before the tag) for `rn`; undefined: `rn` is no peer now (the batch is dropped). */
  tag(rn: Uint8Array, batch: Uint8Array): Uint8Array | undefined;
  /** A batch was dropped (no tag). */
  dropped(): void;
}

/** A batch is sent at once when it reaches this size (well under NATS's default 1 MiB max_payload). */
export const BATCH_BYTES = 64 * 1024;

class Batch {
  buf: Uint8Array;
  view: DataView;
  length = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

export class HopOutbox {
  private readonly batches = new Map<string, { rn: Uint8Array; batch: Batch }>();
  /** Map keys of RN CIDs, made once per CID array (a RemotePeer keeps its own): not per frame. */
  private readonly keys = new WeakMap<Uint8Array, string>();
  private scheduled = false;

  constructor(
    private readonly publish: (rn: Uint8Array, bytes: Uint8Array, reply?: string) => void,
    private readonly seal: BatchSeal,
  ) {}

  /** DATA: `frame` (a RELAY frame) with its stitch id replaced by `stitch`, the receiver's. */
  data(rn: Uint8Array, stitch: number, offset: number, frame: Uint8Array): void {
    const b = this.batchFor(rn, 9 + frame.length);
    const o = b.length;
    b.buf[o] = HopType.DATA;
    b.view.setUint32(o + 1, Math.floor(offset / 0x1_0000_0000));
    b.view.setUint32(o + 5, offset >>> 0);
    b.buf.set(frame, o + 9);
    b.view.setUint32(o + 9 + 5, stitch);
    b.length += 9 + frame.length;
    this.after(rn, b);
  }

  credit(rn: Uint8Array, stitch: number, consumed: number): void {
    const b = this.batchFor(rn, 13);
    const o = b.length;
    b.buf[o] = HopType.CREDIT;
    b.view.setUint32(o + 1, stitch);
    b.view.setUint32(o + 5, Math.floor(consumed / 0x1_0000_0000));
    b.view.setUint32(o + 9, consumed >>> 0);
    b.length += 13;
    this.after(rn, b);
  }

  unstitch(rn: Uint8Array, stitch: number, code: number): void {
    const b = this.batchFor(rn, 6);
    const o = b.length;
    b.buf[o] = HopType.UNSTITCH;
    b.view.setUint32(o + 1, stitch);
    b.buf[o + 5] = code & 0xff;
    b.length += 6;
    this.after(rn, b);
  }

  /**
   * Sends hop messages `messages` to `rn` now, in batches of their own (closed at BATCH_BYTES as
   * any), each published with the NATS reply subject `reply`: a probe or a check (far-rns.ts), which
   * NATS answers there when nobody receives `rn`'s hop subject, and `rn` when it has no stitch some
   * CREDIT of it names (probe-answers.ts).
   */
  probe(rn: Uint8Array, messages: readonly Uint8Array[], reply: string): void {
    let b: Batch | undefined;
    let left = messages.reduce((n, m) => n + m.length, 0);
    for (const m of messages) {
      if (b !== undefined && b.length - this.seal.header.length + m.length > BATCH_BYTES) {
        this.send(rn, b, reply);
        b = undefined;
      }
      b ??= this.open(Math.max(m.length, Math.min(left, BATCH_BYTES)));
      left -= m.length;
      b.ensure(m.length);
      b.buf.set(m, b.length);
      b.length += m.length;
    }
    if (b !== undefined) this.send(rn, b, reply);
  }

  /** Hop messages `messages` as one batch to `rn`, tagged, not sent (the answer to a probe); undefined when `rn` is no peer now. */
  sealed(rn: Uint8Array, messages: readonly Uint8Array[]): Uint8Array | undefined {
    const b = this.open(messages.reduce((n, m) => n + m.length, 0));
    for (const m of messages) {
      b.buf.set(m, b.length);
      b.length += m.length;
    }
    const tag = this.seal.tag(rn, b.buf.subarray(0, b.length));
    if (tag === undefined) return undefined;
    b.buf.set(tag, b.length);
    return b.buf.subarray(0, b.length + tag.length);
  }

  /** Sends every pending batch now. */
  flush(): void {
    this.scheduled = false;
    for (const [k, { rn, batch }] of this.batches) {
      this.batches.delete(k);
      if (batch.length > this.seal.header.length) this.send(rn, batch);
    }
  }

  private send(rn: Uint8Array, b: Batch, reply?: string): void {
    const tag = this.seal.tag(rn, b.buf.subarray(0, b.length));
    if (tag === undefined) return this.seal.dropped();
    b.ensure(tag.length);
    b.buf.set(tag, b.length);
    this.publish(rn, b.buf.subarray(0, b.length + tag.length), reply);
  }

  private keyOf(rn: Uint8Array): string {
    let k = this.keys.get(rn);
    if (k === undefined) this.keys.set(rn, (k = toHex(rn)));
    return k;
  }

  /** A batch holding its header, with room for `size` bytes of hop messages and the tag. */
  private open(size: number): Batch {
    const batch = new Batch(this.seal.header.length + size + this.seal.tagLength);
    batch.buf.set(this.seal.header);
    batch.length = this.seal.header.length;
    return batch;
  }

  private batchFor(rn: Uint8Array, need: number): Batch {
    const k = this.keyOf(rn);
    let e = this.batches.get(k);
    // Room for BATCH_BYTES of messages (or one larger): no growth on the way.
    if (e === undefined) this.batches.set(k, (e = { rn, batch: this.open(Math.max(BATCH_BYTES, need)) }));
    e.batch.ensure(need);
    return e.batch;
  }

  private after(rn: Uint8Array, b: Batch): void {
    if (b.length - this.seal.header.length >= BATCH_BYTES) {
      this.batches.delete(this.keyOf(rn));
      this.send(rn, b);
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }
}
