// Received data blocks: everything below `nextExpected` has been delivered; authenticated blocks
// above it wait in a ring (bounded by recvBufferBlocks, indexed by number) for the gap to fill.
// The same state yields the ACK ranges, and this class schedules when the next ack block is due.

import { ACK_MAX_RANGES } from './constants.js';
import { writeAckHeader, writeAckRange } from './ack.js';

export class ReceiveBuffer {
  private readonly ring: (Uint8Array | undefined)[];
  nextExpected = 0;
  buffered = 0;
  /** Largest data block number received, and when (for ack_delay). */
  largest = -1;
  private largestAt = 0;
  /** New ack-eliciting blocks since the last ack block. */
  private pending = 0;
  ackDeadline: number | undefined;

  constructor(
    private readonly size: number,
    private readonly ackDelayMs: number,
    private readonly ackEveryBlocks: number,
  ) {
    this.ring = new Array<Uint8Array | undefined>(size).fill(undefined);
  }

  /** Numbers this far ahead cannot be buffered; they are dropped before any decryption. */
  beyond(n: number): boolean {
    return n >= this.nextExpected + this.size;
  }

  /**
   * Stores an authenticated, validated, new block. Acks immediately when it arrived out of order
   * (a gap opened or filled: the sender needs to know soon) or when asked (CLOSE), otherwise after
   * ackEveryBlocks blocks or ackDelayMs, whichever first.
   */
  insert(n: number, pt: Uint8Array, now: number, ackNow: boolean): void {
    if (n < this.nextExpected || this.beyond(n)) return; // excluded by the replay check and beyond()
    const i = n % this.size;
    if (this.ring[i] === undefined) this.buffered++;
    this.ring[i] = pt;
    const outOfOrder = n !== this.largest + 1;
    if (n > this.largest) {
      this.largest = n;
      this.largestAt = now;
    }
    this.pending++;
    if (ackNow || outOfOrder || this.pending >= this.ackEveryBlocks) this.ackDeadline = now;
    else this.ackDeadline ??= now + this.ackDelayMs;
  }

  /** A duplicate arrived: our ack may have been lost; ack again, but coalesced (a flood of replays gets few acks). */
  duplicate(now: number): void {
    if (this.largest >= 0) this.ackDeadline ??= now + this.ackDelayMs;
  }

  /** Ack everything we have now (after a re-stitch). */
  ackNow(now: number): void {
    if (this.largest >= 0) this.ackDeadline = now;
  }

  /** The next block in order, if it has arrived; advances nextExpected. */
  shift(): Uint8Array | undefined {
    const i = this.nextExpected % this.size;
    const pt = this.ring[i];
    if (pt === undefined) return undefined;
    this.ring[i] = undefined;
    this.buffered--;
    this.nextExpected++;
    return pt;
  }

  private has(n: number): boolean {
    return n < this.nextExpected || this.ring[n % this.size] !== undefined;
  }

  /**
   * Writes the ACK frame into `buf` and returns its length (requires largest >= 0). Ranges from the
   * highest down; when there are more than 64, the lowest out-of-order ranges are left out (never
   * merged: that would acknowledge blocks we do not have) and the last range is always the
   * delivered prefix [0, nextExpected - 1], which lets the sender advance its window.
   */
  writeAck(buf: Uint8Array, now: number): number {
    const floor = this.nextExpected;
    let off = 14; // header written last, once the count is known
    let count = 0;
    let n = this.largest;
    for (;;) {
      const hi = n;
      while (n >= floor && this.ring[n % this.size] !== undefined) n--;
      if (n < floor) {
        off = writeAckRange(buf, off, 0, hi); // this run reaches into the delivered prefix
        count++;
        break;
      }
      off = writeAckRange(buf, off, n + 1, hi);
      count++;
      while (n >= floor && !this.has(n)) n--;
      if (n < 0) break; // nothing delivered yet and no more out-of-order blocks
      if (n >= floor && count === ACK_MAX_RANGES - 1) {
        if (floor > 0) {
          off = writeAckRange(buf, off, 0, floor - 1);
          count++;
        }
        break;
      }
    }
    writeAckHeader(buf, this.largest, (now - this.largestAt) * 1000, count);
    this.pending = 0;
    this.ackDeadline = undefined;
    return off;
  }

  /** Drops buffered blocks (closed engine); acks from now on cover only the delivered prefix. */
  clear(): void {
    this.ring.fill(undefined);
    this.buffered = 0;
    if (this.largest >= this.nextExpected) this.largest = this.nextExpected - 1;
  }
}
