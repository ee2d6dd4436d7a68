// Messages accepted by send() and not yet packed into data blocks. Bounded by the sender (in
// payload bytes, and in messages: empty ones cost no bytes).
// Messages are kept by reference, not copied: the one copy of a payload is into the block
// plaintext when it is packed (callers must not modify a message after send()).
//
// A ring of parallel arrays, not a list of objects: a bulk sender queues tens of thousands of
// small messages (2 MiB of 64-byte ones is 32,768), and an object per message outlived the young
// generation and was promoted before it was packed, while the list itself was regrown from empty
// after every drain (issue #14's throughput: push, compact and the GC were a third of the
// sender's session-layer CPU in a profile of 64-byte messages). Only the head message can be
// part-packed, so one offset serves the whole queue.

import { MIN_FRAGMENT, MSG_FLAG_CHANNEL_CLOSE, MSG_FLAG_FIN, MSG_HEADER_LENGTH } from './constants.js';
import { writeMsgHeader } from './frames.js';

const INITIAL_CAPACITY = 16;
/**
 * A drained ring larger than this is cut back to it: a burst does not pin its ring (65,536 slots at
 * the default bound, ~0.85 MB), and a bulk sender, which drains its queue on every turn, regrows
 * from 4,096 in three doublings rather than from 16 in twelve.
 */
const IDLE_CAPACITY_MAX = 4096;

export class SendQueue {
  private data: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(INITIAL_CAPACITY).fill(undefined);
  private channel = new Uint32Array(INITIAL_CAPACITY);
  /** 1 when the message closes its channel. */
  private closing = new Uint8Array(INITIAL_CAPACITY);
  private head = 0;
  private count = 0;
  /** Bytes of the head message already packed (earlier fragments). */
  private headOffset = 0;
  /** Payload bytes not yet packed. */
  bytes = 0;

  get messages(): number {
    return this.count;
  }

  push(channel: number, data: Uint8Array, closeChannel: boolean): void {
    if (this.count === this.data.length) this.resize(this.data.length * 2);
    const i = (this.head + this.count) & (this.data.length - 1);
    this.data[i] = data;
    this.channel[i] = channel;
    this.closing[i] = closeChannel ? 1 : 0;
    this.count++;
    this.bytes += data.length;
  }

  clear(): void {
    this.resize(INITIAL_CAPACITY, true);
    this.bytes = 0;
  }

  /**
   * Packs MSG frames into buf[off, limit): whole messages while they fit (coalescing), then at most
   * one fragment of the next message (FIN only on a message's last fragment). A fragment is started
   * in the tail of a non-empty block only if at least MIN_FRAGMENT bytes fit, and not at all in a
   * block at least half full when the whole message fits the next block: the receiver then gets it
   * in one piece instead of copying two fragments together, at the price of a block that is at
   * worst half empty (16 KiB messages in 32 KiB blocks went from every other message reassembled
   * to none; the receiver's mark-compacts in the e2e-throughput bench from ~7 to ~2 per 64 MiB).
   * Returns the new offset.
   */
  pack(buf: Uint8Array, off: number, limit: number): number {
    const start = off;
    const mask = this.data.length - 1;
    while (this.count > 0) {
      const h = this.head;
      const data = this.data[h]!;
      const remaining = data.length - this.headOffset;
      const room = limit - off - MSG_HEADER_LENGTH;
      if (room < 0) break;
      if (remaining <= room) {
        const flags = MSG_FLAG_FIN | (this.closing[h] === 1 ? MSG_FLAG_CHANNEL_CLOSE : 0);
        off = writeMsgHeader(buf, off, this.channel[h]!, flags, remaining);
        buf.set(this.headOffset === 0 ? data : data.subarray(this.headOffset), off);
        off += remaining;
        this.bytes -= remaining;
        this.data[h] = undefined;
        this.head = (h + 1) & mask;
        this.count--;
        this.headOffset = 0;
        continue;
      }
      if (room === 0 || (room < MIN_FRAGMENT && off > start)) break;
      if (2 * (off - start) >= limit - start && MSG_HEADER_LENGTH + remaining <= limit - start) break;
      off = writeMsgHeader(buf, off, this.channel[h]!, 0, room);
      buf.set(data.subarray(this.headOffset, this.headOffset + room), off);
      off += room;
      this.headOffset += room;
      this.bytes -= room;
      break;
    }
    if (this.count === 0 && this.data.length > IDLE_CAPACITY_MAX) this.resize(IDLE_CAPACITY_MAX, true);
    return off;
  }

  /** A new ring of `capacity` (a power of two) holding the queued messages in order, from slot 0. */
  private resize(capacity: number, empty = false): void {
    const data = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    const channel = new Uint32Array(capacity);
    const closing = new Uint8Array(capacity);
    if (!empty) {
      const mask = this.data.length - 1;
      for (let k = 0; k < this.count; k++) {
        const j = (this.head + k) & mask;
        data[k] = this.data[j];
        channel[k] = this.channel[j]!;
        closing[k] = this.closing[j]!;
      }
    } else {
      this.count = 0;
      this.headOffset = 0;
    }
    this.data = data;
    this.channel = channel;
    this.closing = closing;
    this.head = 0;
  }
}
