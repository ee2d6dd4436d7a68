// Data blocks sent and not yet acknowledged: a ring indexed by block number over
// [base, next), base = lowest unacknowledged. The span next - base is the send window, so a lost
// block at the bottom holds the window until it is acknowledged (in-order delivery needs it anyway).

import { PACKET_THRESHOLD } from './constants.js';
import type { SealedBlock } from './protect.js';

export interface SentBlock {
  readonly number: number;
  /** The bytes on the wire; replaced when a retransmission reseals under a newer key. */
  block: SealedBlock;
  /** Key generation that sealed `block`. */
  generation: number;
  /**
   * Generation of the first seal. Only an ack of a block first sealed under the current key proves
   * the peer holds that key: a reused number may be acked for an older transmission.
   */
  readonly firstGeneration: number;
  sentAt: number;
  /** When the retransmission timer of this block fires. */
  deadline: number;
  /** RTO expiries so far: drives backoff and the maxRetransmits limit. */
  timeouts: number;
  /** Sent more than once: no RTT sample from its ack (Karn). */
  retransmitted: boolean;
  /** Due now without an RTO expiry (reordering threshold or retransmitAll): no backoff, no limit count. */
  forced: boolean;
  /** Already declared lost once by the reordering threshold. */
  fastRetransmitted: boolean;
}

/** Told about every block as it is acknowledged (the engine: key references and key confirmation). */
export interface AckSink {
  blockAcked(b: SentBlock): void;
}

export class InFlight {
  private readonly ring: (SentBlock | undefined)[];
  base = 0;
  next = 0;
  count = 0;
  largestAcked = -1;
  private lossCursor = 0;
  /** Earliest deadline of any block in flight; may be early (stale after acks), never late. */
  earliestDeadline: number | undefined;

  constructor(
    private readonly size: number,
    private readonly sink: AckSink,
  ) {
    this.ring = new Array<SentBlock | undefined>(size).fill(undefined);
  }

  get span(): number {
    return this.next - this.base;
  }

  get windowOpen(): boolean {
    return this.next - this.base < this.size;
  }

  get(n: number): SentBlock | undefined {
    return n >= this.base && n < this.next ? this.ring[n % this.size] : undefined;
  }

  /** Records a newly sealed block; its number must be `next`. */
  add(b: SentBlock): void {
    this.ring[b.number % this.size] = b;
    this.next = b.number + 1;
    this.count++;
    this.noteDeadline(b.deadline);
  }

  noteDeadline(d: number): void {
    if (this.earliestDeadline === undefined || d < this.earliestDeadline) this.earliestDeadline = d;
  }

  /** Acknowledges [first, last] (already checked to be < next); returns the block `last` if this newly acked it. */
  ackRange(first: number, last: number): SentBlock | undefined {
    let newlyLast: SentBlock | undefined;
    const lo = Math.max(first, this.base);
    for (let n = lo; n <= last; n++) {
      const i = n % this.size;
      const b = this.ring[i];
      if (b === undefined) continue;
      this.ring[i] = undefined;
      this.count--;
      if (n === last) newlyLast = b;
      this.sink.blockAcked(b);
    }
    if (last > this.largestAcked) this.largestAcked = last;
    while (this.base < this.next && this.ring[this.base % this.size] === undefined) this.base++;
    if (this.count === 0) this.earliestDeadline = undefined;
    return newlyLast;
  }

  /**
   * RFC 9002 §6.1.1: a block PACKET_THRESHOLD numbers below the largest acknowledged one is lost.
   * Each block is declared lost this way at most once (a retransmission reuses the number, so the
   * threshold cannot tell it from the original); after that only its RTO applies.
   */
  detectLosses(now: number): void {
    const limit = Math.min(this.largestAcked - PACKET_THRESHOLD, this.next - 1);
    let n = Math.max(this.lossCursor, this.base);
    for (; n <= limit; n++) {
      const b = this.ring[n % this.size];
      if (b === undefined || b.fastRetransmitted) continue;
      b.fastRetransmitted = true;
      b.forced = true;
      b.deadline = now;
      this.noteDeadline(now);
    }
    if (n > this.lossCursor) this.lossCursor = n;
  }

  /** After a re-stitch: every block is due now. */
  forceAll(now: number): void {
    for (let n = this.base; n < this.next; n++) {
      const b = this.ring[n % this.size];
      if (b === undefined) continue;
      b.forced = true;
      b.deadline = now;
    }
    if (this.count > 0) this.earliestDeadline = now;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.base = this.next;
    this.count = 0;
    this.earliestDeadline = undefined;
  }
}
