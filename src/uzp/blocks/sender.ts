// Our sending side of the block engine (draft §7): packs queued messages into numbered data
// blocks, seals acks, retransmits on timeout (RFC 9002 §6 loss detection, RFC 6298 RTO), takes the
// peer's ACKs, and carries the CLOSE frame of a graceful close. It never changes the engine's
// state: a failure is returned as an error and the engine decides what closing means.
// Created once per engine; every method is per poll or per block, so nothing here allocates
// beyond the SentBlock record of each new block.

import { ErrorCode, ProtocolError, type UzpError } from '../errors.js';
import { StateError } from '../../lib/errors.js';
import type { AckFrame } from './ack.js';
import { CLOSE_HEADER_LENGTH, FRAME_PING, MIN_BLOCK_PLAINTEXT, MSG_HEADER_LENGTH, QUEUED_MESSAGE_MIN_CHARGE, SPACE_ACK, SPACE_DATA, type Space } from './constants.js';
import type { BlockEngineOptions, BlockEngineStats } from './engine-types.js';
import { encodeReason, writeClose } from './frames.js';
import { InFlight, type AckSink, type SentBlock } from './inflight.js';
import type { BlockLimits } from './limits.js';
import type { SealedBlock } from './protect.js';
import { freeNow, totalLength } from '../bytes.js';
import { RttEstimator } from './rtt.js';
import type { BlockSealer } from './sealer.js';
import { SendQueue } from './send-queue.js';

/** First size of the block scratch; it grows to what waits, at least doubling (BlockSender.growScratch). */
const SCRATCH_MIN_BYTES = 1024;

export class BlockSender implements AckSink {
  readonly queue = new SendQueue();
  readonly inflight: InFlight;
  readonly rtt: RttEstimator;
  /**
   * The block plaintext is built here, grown on demand up to maxBlockPlaintext: a session that sends a
   * few small messages never zero-fills 64 KiB (16 fresh pages, each a page fault of 13-25 µs on the
   * bench's VM, on every connect's path: docs/BENCH.md, fifteenth stop).
   */
  private scratch = new Uint8Array(SCRATCH_MIN_BYTES);
  private nextAckNumber = 0;
  /** The length of the last message offer() refused (onWritable is owed once it fits), or null. */
  private refused: number | null = null;
  /** The queue's bound in messages, besides sendBufferBytes: empty messages cost no bytes. */
  private readonly maxQueuedMessages: number;
  private pingPending = false;
  private closeCode = 0;
  private closeReason: Uint8Array | undefined;
  private closeSent = false;
  /** The engine closed: pack nothing more (onWritable may close it in the middle of packNew). */
  private stopped = false;
  /** One-shot CLOSE to the peer after a local failure (not retransmitted). */
  private finalBlock: SealedBlock | undefined;
  /** Largest block plaintext packed now: maxBlockPlaintext, or less on a path that carries less (capBlockPlaintext). */
  private blockCap: number;

  constructor(
    private readonly l: BlockLimits,
    readonly sealer: BlockSealer,
    private readonly stats: BlockEngineStats,
    /** Kept whole so that onWritable is called as a method of the options, as the driver wrote it. */
    private readonly o: Pick<BlockEngineOptions, 'onWritable'>,
  ) {
    this.maxQueuedMessages = Math.max(1, Math.floor(l.sendBufferBytes / QUEUED_MESSAGE_MIN_CHARGE));
    this.inflight = new InFlight(l.sendWindowBlocks, this);
    this.rtt = new RttEstimator(l.initialRtoMs, l.minRtoMs, l.maxRtoMs, l.ackDelayMs);
    this.blockCap = l.maxBlockPlaintext;
  }

  /**
   * Blocks packed from now on carry at most `n` bytes of plaintext (never more than
   * maxBlockPlaintext, never less than MIN_BLOCK_PLAINTEXT). A sender may always build blocks smaller than
   * the receiver accepts (docs/PROFILE.md, Transport parameters); the session sets this to what the
   * RN carrying it relays (its max_frame), so a conforming RN that announces less than a block
   * still carries the session. Blocks already sealed keep their size.
   */
  capBlockPlaintext(n: number): void {
    this.blockCap = Math.min(this.l.maxBlockPlaintext, Math.max(MIN_BLOCK_PLAINTEXT, Math.floor(n)));
  }

  /** Queues a checked message; false, queuing nothing, when the send buffer has no room. */
  offer(channel: number, message: Uint8Array, closeChannel: boolean): boolean {
    if (!this.fits(message.length)) {
      this.refused = message.length;
      return false;
    }
    this.queue.push(channel, message, closeChannel);
    return true;
  }

  /** Whether a message of `length` bytes may be queued now. */
  private fits(length: number): boolean {
    return this.queue.bytes + length <= this.l.sendBufferBytes && this.queue.messages < this.maxQueuedMessages;
  }

  /** Graceful close: a CLOSE frame follows the queued messages. */
  close(code: number, reason: string): void {
    this.closeCode = code;
    // Cut so that the CLOSE frame always fits in one block.
    this.closeReason = encodeReason(reason, this.blockCap - CLOSE_HEADER_LENGTH);
  }

  /** RFC 9001 §6.5: the update waits for an acked block under the current key; a PING provides one. */
  requestKeyUpdate(): void {
    this.sealer.updateRequested = true;
    this.pingPending = true;
  }

  /** Our CLOSE was sent and every data block, the CLOSE included, is acknowledged. */
  get closeAcked(): boolean {
    return this.closeSent && this.inflight.count === 0;
  }

  /** Due retransmissions, then new data packed from the queue. */
  transmit(out: SealedBlock[], now: number): UzpError | undefined {
    const rto = this.inflight.earliestDeadline;
    if (rto !== undefined && now >= rto) {
      const err = this.retransmitDue(out, now);
      if (err !== undefined) return err;
    }
    return this.packNew(out, now);
  }

  /** Seals an ACK frame as the next block of the ack space. */
  sendAck(out: SealedBlock[], ack: Uint8Array): UzpError | undefined {
    const block = this.seal(SPACE_ACK, this.nextAckNumber, ack, false);
    if (block === undefined) return this.keyLimitError();
    this.nextAckNumber++;
    this.emit(out, block);
    return undefined;
  }

  /** The one-shot CLOSE sealed by seal() after a failure, if any. */
  flushFinal(out: SealedBlock[]): void {
    if (this.finalBlock === undefined) return;
    this.emit(out, this.finalBlock);
    this.finalBlock = undefined;
  }

  private emit(out: SealedBlock[], block: SealedBlock): void {
    out.push(block);
    this.stats.blocksSent++;
    this.stats.bytesSent += totalLength(block);
  }

  /** Seals under the current send key (BlockSealer); undefined at the hard limit. */
  private seal(space: Space, number: number, pt: Uint8Array, fresh: boolean): SealedBlock | undefined {
    const block = this.sealer.seal(space, number, pt, fresh);
    this.afterSeal();
    return block;
  }

  /** Picks up what a seal did to the keys: the update counter, and a PING to confirm a new key. */
  private afterSeal(): void {
    this.stats.keyUpdates = this.sealer.updates;
    if (this.sealer.needsPing) {
      this.sealer.needsPing = false;
      this.pingPending = true;
    }
  }

  private keyLimitError(): UzpError {
    const sealed = this.sealer.keys.sealed;
    return new ProtocolError(ErrorCode.SESSION_KEY_LIMIT, `block engine: ${sealed} blocks sealed under one key without a confirmed key update`, 'local');
  }

  /** Grows the scratch to hold `need` bytes (at most a block) and returns the packing limit. */
  private growScratch(need: number): number {
    const max = this.blockCap;
    const want = Math.min(max, need);
    if (this.scratch.length < want) this.scratch = new Uint8Array(Math.min(max, Math.max(want, 2 * this.scratch.length)));
    return Math.min(max, this.scratch.length); // the first scratch may be larger than a small block
  }

  private packNew(out: SealedBlock[], now: number): UzpError | undefined {
    while (!this.stopped && this.inflight.windowOpen) {
      const wantClose = this.closeReason !== undefined && !this.closeSent;
      if (this.queue.messages === 0 && !this.pingPending && !wantClose) break;
      // Room for all that waits (or a whole block): pack then lays out exactly what it would in a full-size buffer.
      const limit = this.growScratch(this.queue.bytes + this.queue.messages * MSG_HEADER_LENGTH + (wantClose ? CLOSE_HEADER_LENGTH + this.closeReason!.length : 0) + 1);
      let off = this.queue.pack(this.scratch, 0, limit);
      if (wantClose && this.queue.messages === 0 && off + CLOSE_HEADER_LENGTH + this.closeReason!.length <= limit) {
        off = writeClose(this.scratch, off, this.closeCode, this.closeReason!);
        this.closeSent = true;
      }
      if (off === 0) {
        if (!this.pingPending) break; // cannot happen (CLOSE always fits an empty block); never spin
        this.scratch[off++] = FRAME_PING;
      }
      this.pingPending = false;
      const number = this.inflight.next;
      const block = this.seal(SPACE_DATA, number, this.scratch.subarray(0, off), true);
      if (block === undefined) return this.keyLimitError();
      const generation = this.sealer.keys.current.generation;
      const sent: SentBlock = {
        number,
        block,
        generation,
        firstGeneration: generation,
        sentAt: now,
        deadline: now + this.rtt.rto,
        timeouts: 0,
        retransmitted: false,
        forced: false,
        fastRetransmitted: false,
      };
      this.sealer.keys.retain(generation);
      this.inflight.add(sent);
      this.emit(out, block);
      if (this.refused !== null && this.fits(this.refused)) {
        this.refused = null;
        this.o.onWritable(); // may queue more: the loop packs it
      }
    }
    return undefined;
  }

  private retransmitDue(out: SealedBlock[], now: number): UzpError | undefined {
    const f = this.inflight;
    let earliest: number | undefined;
    for (let n = f.base; n < f.next; n++) {
      const b = f.get(n);
      if (b === undefined) continue;
      if (b.deadline <= now) {
        if (!b.forced) {
          if (b.timeouts >= this.l.maxRetransmits) {
            return new ProtocolError(ErrorCode.LINK_TIMEOUT, `block engine: block ${n} unacknowledged after ${b.timeouts} retransmissions`, 'peer');
          }
          b.timeouts++;
        }
        b.forced = false;
        if (b.generation !== this.sealer.keys.current.generation) {
          const err = this.reseal(b);
          if (err !== undefined) return err;
        }
        b.sentAt = now;
        b.retransmitted = true;
        b.deadline = now + this.rtt.backoff(b.timeouts);
        this.stats.retransmits++;
        this.emit(out, b.block);
      }
      if (earliest === undefined || b.deadline < earliest) earliest = b.deadline;
    }
    f.earliestDeadline = earliest;
    return undefined;
  }

  /** The key phase changed since `b` was sealed: reseal it under the current key. */
  private reseal(b: SentBlock): UzpError | undefined {
    const r = this.sealer.reseal(b);
    this.afterSeal();
    if (r === true) return undefined;
    if (r === false) return this.keyLimitError();
    return new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, `block engine: cannot reopen block ${b.number} for reseal`);
  }

  /** AckSink: one of our data blocks was acknowledged. */
  blockAcked(b: SentBlock): void {
    const keys = this.sealer.keys;
    keys.release(b.generation);
    if (b.firstGeneration === keys.current.generation) keys.confirmed = true;
    // Sent once and acknowledged: the link wrote it (the peer has it) and nothing sends it again,
    // so its ciphertext's memory goes back now rather than at a full collection (bytes.ts freeNow).
    // A retransmitted block may still sit in a socket's queue: it is left to the collector.
    if (!b.retransmitted) for (const piece of b.block) freeNow(piece);
  }

  /** The peer's ACK frame (authenticated and decoded). */
  processAck(a: AckFrame, now: number): UzpError | undefined {
    if (a.largest >= this.inflight.next) {
      return new ProtocolError(ErrorCode.BLOCK_PROTOCOL, `ACK of block ${a.largest}, never sent (next is ${this.inflight.next})`);
    }
    const ranges = a.ranges;
    const newest = this.inflight.ackRange(ranges[0]!.first, ranges[0]!.last);
    for (let i = 1; i < ranges.length; i++) this.inflight.ackRange(ranges[i]!.first, ranges[i]!.last);
    if (newest !== undefined && !newest.retransmitted) {
      // Karn: only never-retransmitted blocks; the peer's reported ack delay is not path time.
      const sample = now - newest.sentAt;
      const delay = a.ackDelayUs / 1000;
      this.rtt.sample(sample >= delay ? sample - delay : sample);
      this.stats.rttMs = this.rtt.smoothed;
    }
    this.inflight.detectLosses(now);
    return undefined;
  }

  /** The engine closed: drop everything queued or in flight and send nothing more. */
  clear(): void {
    this.stopped = true;
    this.queue.clear();
    this.inflight.clear();
  }

  /**
   * After a failure (and clear()): seals one CLOSE with a generic code, sent once by flushFinal.
   * Nothing at the key hard limit, where no block can be sealed.
   */
  sealFinalClose(code: number): void {
    this.growScratch(CLOSE_HEADER_LENGTH);
    const end = writeClose(this.scratch, 0, code, new Uint8Array(0));
    this.finalBlock = this.seal(SPACE_DATA, this.inflight.next, this.scratch.subarray(0, end), false);
  }
}
