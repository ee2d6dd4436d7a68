// The block engine of one session (draft §7): numbered AEAD blocks carrying frames, selective ACK,
// retransmission on timeout, replay window, key update and key-use limits, bounded buffers.
// Pure and synchronous: no sockets, no timers. The session driver feeds received relay payloads to
// receive(), sends whatever poll() returns, and calls poll() again at nextDeadline().
// Wire format: docs/PROFILE.md.

import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import { decodeAck, type AckFrame } from './ack.js';
import {
  ACK_MAX_LENGTH,
  CLOSE_HEADER_LENGTH,
  CloseCode,
  FRAME_PING,
  MSG_FLAG_CHANNEL_CLOSE,
  MSG_FLAG_FIN,
  SPACE_ACK,
  SPACE_DATA,
  type Space,
} from './constants.js';
import { WALK_HAS_CLOSE, encodeReason, walkFrames, writeClose, type FrameVisitor } from './frames.js';
import { InFlight, type AckSink, type SentBlock } from './inflight.js';
import { resolveLimits, type BlockLimits } from './limits.js';
import { newStats, type BlockEngineInspection, type BlockEngineOptions, type BlockEngineStats } from './engine-types.js';
import { BlockOpener, DROP_DUPLICATE } from './opener.js';
import { BlockSealer } from './sealer.js';
import { Reassembly } from './reassembly.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { RttEstimator } from './rtt.js';
import { SendQueue } from './send-queue.js';
import { CommonCode, isCodedError, StateError } from '../../lib/errors.js';

export type { BlockLimits } from './limits.js';
export type { BlockEngineOptions, BlockEngineStats, BlockEngineInspection } from './engine-types.js';

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
const STATE_NAMES = ['open', 'closing', 'closed'] as const;

export class BlockEngine implements FrameVisitor, AckSink {
  readonly stats: BlockEngineStats = newStats();

  private readonly l: BlockLimits;
  private state = OPEN;
  private closeNotified = false;

  private readonly sealer: BlockSealer;
  private readonly opener: BlockOpener;

  // sending
  private readonly scratch: Uint8Array;
  private readonly ackScratch = new Uint8Array(ACK_MAX_LENGTH);
  private readonly queue = new SendQueue();
  private readonly inflight: InFlight;
  private readonly rtt: RttEstimator;
  private nextAckNumber = 0;
  private refusedBytes = 0;
  private pingPending = false;
  private closeCode = 0;
  private closeReason: Uint8Array | undefined;
  private closeSent = false;
  /** One-shot CLOSE to the peer after a local failure (not retransmitted). */
  private finalBlock: Uint8Array | undefined;

  // receiving
  private readonly recv: ReceiveBuffer;
  private readonly reassembly: Reassembly;
  private delivering = false;

  constructor(private readonly o: BlockEngineOptions) {
    this.l = resolveLimits(o.limits);
    if (o.direction !== 0 && o.direction !== 1) throw new RangeError(`direction must be 0 or 1, got ${String(o.direction)}`);
    this.sealer = new BlockSealer(o.provider, o.aead, o.sendSecret, o.adContext, o.direction, this.l.keySoftLimit, this.l.keyHardLimit);
    this.opener = new BlockOpener(o.provider, o.aead, o.recvSecret, o.adContext, o.direction === 0 ? 1 : 0, this.l.maxBlockPlaintext);
    this.scratch = new Uint8Array(this.l.maxBlockPlaintext);
    this.inflight = new InFlight(this.l.sendWindowBlocks, this);
    this.rtt = new RttEstimator(this.l.initialRtoMs, this.l.minRtoMs, this.l.maxRtoMs, this.l.ackDelayMs);
    this.recv = new ReceiveBuffer(this.l.recvBufferBlocks, this.l.ackDelayMs, this.l.ackEveryBlocks);
    this.reassembly = new Reassembly(this.l.maxMessageBytes);
  }

  // ---------------------------------------------------------------- application side

  /**
   * Queues a message (kept by reference until packed: do not modify it afterwards). Returns false,
   * queuing nothing, when the send buffer has no room; onWritable follows once it has.
   * Throws StateError SESSION_CLOSED after close, BUFFER_FULL for a message over maxMessageBytes,
   * CHANNEL_UNKNOWN for a channel that is not a u32.
   */
  send(channel: number, message: Uint8Array, closeChannel = false): boolean {
    if (this.state !== OPEN) throw new StateError(ErrorCode.SESSION_CLOSED, 'send: the block engine is closed');
    if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff_ffff) {
      throw new StateError(ErrorCode.CHANNEL_UNKNOWN, `send: channel must be a u32, got ${channel}`);
    }
    if (message.length > this.l.maxMessageBytes) {
      throw new StateError(CommonCode.BUFFER_FULL, `send: message of ${message.length} bytes exceeds maxMessageBytes ${this.l.maxMessageBytes}`);
    }
    if (this.queue.bytes + message.length > this.l.sendBufferBytes) {
      this.refusedBytes = message.length;
      return false;
    }
    this.queue.push(channel, message, closeChannel);
    return true;
  }

  /**
   * Graceful close: messages already queued are still sent, then a CLOSE frame; onClose(undefined)
   * once all of it is acknowledged (or the peer's own CLOSE arrives). No-op unless open.
   */
  close(code: number, reason = ''): void {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new StateError(CommonCode.USAGE, `close: code must be a u16, got ${code}`);
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    this.closeCode = code;
    // Cut so that the CLOSE frame always fits in one block.
    this.closeReason = encodeReason(reason, this.l.maxBlockPlaintext - CLOSE_HEADER_LENGTH);
  }

  /**
   * Asks for a key update of our sending direction. It happens at the next block we seal once the
   * peer has acknowledged a block under the current key (RFC 9001 §6.5); a PING makes sure there
   * is such a block.
   */
  updateKey(): void {
    if (this.state === CLOSED) return;
    this.sealer.updateRequested = true;
    this.pingPending = true;
  }

  /** After a re-stitch: every unacknowledged block is due now, and so is an ack of what we hold. */
  retransmitAll(): void {
    if (this.state === CLOSED) return;
    const now = this.o.now();
    this.inflight.forceAll(now);
    this.recv.ackNow(now);
  }

  /** Absolute time (ms) at which poll() has timer work: an ack delay or a retransmission timeout. */
  nextDeadline(): number | undefined {
    let d = this.recv.ackDeadline;
    if (this.state !== CLOSED) {
      const r = this.inflight.earliestDeadline;
      if (r !== undefined && (d === undefined || r < d)) d = r;
    }
    return d;
  }

  inspect(): BlockEngineInspection {
    return {
      state: STATE_NAMES[this.state]!,
      queuedBytes: this.queue.bytes,
      queuedMessages: this.queue.messages,
      inFlightBlocks: this.inflight.count,
      inFlightSpan: this.inflight.span,
      recvBufferedBlocks: this.recv.buffered,
      nextExpected: this.recv.nextExpected,
      reassemblyBytes: this.reassembly.bytes,
      sendPhase: this.sealer.keys.phase,
      sendGeneration: this.sealer.keys.current.generation,
      recvGeneration: this.opener.keys.current.generation,
      retainedSendKeys: this.sealer.keys.retainedGenerations,
      sealedUnderKey: this.sealer.keys.sealed,
      failedOpens: this.opener.keys.failedOpens,
      rtoMs: this.rtt.rto,
    };
  }

  // ---------------------------------------------------------------- output

  /** Blocks to transmit now: due ack, due retransmissions, then new data packed from the queue. */
  poll(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const now = this.o.now();
    const ackDue = this.recv.ackDeadline;
    if (ackDue !== undefined && now >= ackDue) this.emitAck(out, now);
    if (this.state !== CLOSED) {
      const rto = this.inflight.earliestDeadline;
      if (rto !== undefined && now >= rto) this.retransmitDue(out, now);
      this.packNew(out, now);
    }
    if (this.finalBlock !== undefined) {
      this.emit(out, this.finalBlock);
      this.finalBlock = undefined;
    }
    return out;
  }

  private emit(out: Uint8Array[], block: Uint8Array): void {
    out.push(block);
    this.stats.blocksSent++;
    this.stats.bytesSent += block.length;
  }

  private emitAck(out: Uint8Array[], now: number): void {
    if (this.recv.largest < 0) {
      this.recv.ackDeadline = undefined;
      return;
    }
    const len = this.recv.writeAck(this.ackScratch, now);
    const block = this.seal(SPACE_ACK, this.nextAckNumber, this.ackScratch.subarray(0, len));
    if (block === undefined) return;
    this.nextAckNumber++;
    this.emit(out, block);
  }

  /** Seals under the current send key (BlockSealer); at the hard limit the engine fails instead. */
  private seal(space: Space, number: number, pt: Uint8Array, fresh = false): Uint8Array | undefined {
    const block = this.sealer.seal(space, number, pt, fresh);
    this.afterSeal();
    if (block === undefined) this.failKeyLimit();
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

  private failKeyLimit(): void {
    const sealed = this.sealer.keys.sealed;
    this.fail(new ProtocolError(ErrorCode.SESSION_KEY_LIMIT, `block engine: ${sealed} blocks sealed under one key without a confirmed key update`, 'local'), false);
  }

  private packNew(out: Uint8Array[], now: number): void {
    const max = this.l.maxBlockPlaintext;
    while (this.state !== CLOSED && this.inflight.windowOpen) {
      const wantClose = this.closeReason !== undefined && !this.closeSent;
      if (this.queue.messages === 0 && !this.pingPending && !wantClose) break;
      let off = this.queue.pack(this.scratch, 0, max);
      if (wantClose && this.queue.messages === 0 && off + CLOSE_HEADER_LENGTH + this.closeReason!.length <= max) {
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
      if (block === undefined) return;
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
      if (this.refusedBytes > 0 && this.queue.bytes + this.refusedBytes <= this.l.sendBufferBytes) {
        this.refusedBytes = 0;
        this.o.onWritable(); // may queue more: the loop packs it
      }
    }
  }

  private retransmitDue(out: Uint8Array[], now: number): void {
    const f = this.inflight;
    let earliest: number | undefined;
    for (let n = f.base; n < f.next; n++) {
      const b = f.get(n);
      if (b === undefined) continue;
      if (b.deadline <= now) {
        if (!b.forced) {
          if (b.timeouts >= this.l.maxRetransmits) {
            this.fail(new ProtocolError(ErrorCode.LINK_TIMEOUT, `block engine: block ${n} unacknowledged after ${b.timeouts} retransmissions`, 'peer'), true);
            return;
          }
          b.timeouts++;
        }
        b.forced = false;
        if (b.generation !== this.sealer.keys.current.generation && !this.reseal(b)) return;
        b.sentAt = now;
        b.retransmitted = true;
        b.deadline = now + this.rtt.backoff(b.timeouts);
        this.stats.retransmits++;
        this.emit(out, b.block);
      }
      if (earliest === undefined || b.deadline < earliest) earliest = b.deadline;
    }
    f.earliestDeadline = earliest;
  }

  /** The key phase changed since `b` was sealed: reseal it under the current key. */
  private reseal(b: SentBlock): boolean {
    const r = this.sealer.reseal(b);
    this.afterSeal();
    if (r === true) return true;
    if (r === false) this.failKeyLimit();
    else this.fail(new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, `block engine: cannot reopen block ${b.number} for reseal`), true);
    return false;
  }

  /** AckSink: one of our data blocks was acknowledged. */
  blockAcked(b: SentBlock): void {
    const keys = this.sealer.keys;
    keys.release(b.generation);
    if (b.firstGeneration === keys.current.generation) keys.confirmed = true;
  }

  private processAck(a: AckFrame, now: number): void {
    if (a.largest >= this.inflight.next) {
      this.fail(new ProtocolError(ErrorCode.BLOCK_PROTOCOL, `ACK of block ${a.largest}, never sent (next is ${this.inflight.next})`), true);
      return;
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
    if (this.state === CLOSING && this.closeSent && this.inflight.count === 0) {
      this.state = CLOSED;
      this.reassembly.clear();
      this.recv.clear();
      this.notifyClose(undefined);
    }
  }

  // ---------------------------------------------------------------- input

  /** One relay payload from the peer. Never throws on peer input: bad blocks are dropped and counted. */
  receive(block: Uint8Array): void {
    const op = this.opener;
    const why = op.check(block);
    if (why !== undefined) {
      if (why === DROP_DUPLICATE && op.space === SPACE_DATA) this.recv.duplicate(this.o.now()); // our ack may have been lost
      return this.drop(why);
    }
    if (this.state === CLOSED) return this.drop('closed');
    const space = op.space;
    const number = op.number;
    if (space === SPACE_DATA && this.recv.beyond(number)) return this.drop('beyond receive buffer');
    const pt = op.open(block);
    if (pt === null) {
      this.drop('authentication');
      if (op.keys.failedOpens >= this.l.integrityLimit) {
        this.fail(new ProtocolError(ErrorCode.BLOCK_INTEGRITY_LIMIT, `block engine: ${op.keys.failedOpens} blocks failed authentication under one key`), true);
      }
      return;
    }
    // Authenticated: from here on a malformed block is the peer's protocol error, not noise.
    this.stats.blocksReceived++;
    this.stats.bytesReceived += block.length;
    const now = this.o.now();
    if (space === SPACE_ACK) {
      let ack: AckFrame;
      try {
        ack = decodeAck(pt);
      } catch (e) {
        return this.protocolError(e);
      }
      op.accept(space, number);
      return this.processAck(ack, now);
    }
    let summary: number;
    try {
      summary = walkFrames(pt, null);
    } catch (e) {
      return this.protocolError(e);
    }
    op.accept(space, number);
    this.recv.insert(number, pt, now, (summary & WALK_HAS_CLOSE) !== 0);
    this.deliver();
  }

  private drop(reason: string): void {
    this.stats.dropped++;
    this.o.onDrop?.(reason);
  }

  private protocolError(e: unknown): void {
    this.drop('protocol');
    const msg = e instanceof Error ? e.message : String(e);
    this.fail(new ProtocolError(ErrorCode.BLOCK_PROTOCOL, `authenticated block is malformed: ${msg}`, 'peer', { cause: e }), true);
    if (!isCodedError(e)) throw e; // not a decoding error: a bug, do not hide it
  }

  /**
   * In-order delivery of every block that is ready; frames come back through the FrameVisitor
   * methods. Not re-entrant: a receive() from inside onMessage only buffers, and this loop delivers
   * it after the rest of the current block, so order holds.
   */
  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.state !== CLOSED) {
        const pt = this.recv.shift();
        if (pt === undefined) return;
        walkFrames(pt, this); // validated on receipt: cannot throw
      }
    } finally {
      this.delivering = false;
    }
  }

  /** FrameVisitor */
  frameMsg(channel: number, flags: number, data: Uint8Array): void {
    if (this.state === CLOSED) return;
    const msg = this.reassembly.add(channel, data, (flags & MSG_FLAG_FIN) !== 0);
    if (msg === null) {
      this.fail(new ProtocolError(ErrorCode.BLOCK_PROTOCOL, `message on channel ${channel} exceeds maxMessageBytes ${this.l.maxMessageBytes}`), true);
      return;
    }
    if (msg !== undefined) this.o.onMessage(channel, msg, (flags & MSG_FLAG_CHANNEL_CLOSE) !== 0);
  }

  frameClose(code: number, reason: string): void {
    if (this.state === CLOSED) return;
    this.shutdown();
    this.notifyClose(undefined, code, reason);
  }

  framePing(): void {}

  framePadding(): void {}

  // ---------------------------------------------------------------- closing

  private shutdown(): void {
    this.state = CLOSED;
    this.queue.clear();
    this.inflight.clear();
    this.reassembly.clear();
    this.recv.clear();
  }

  /** Local failure: closed at once, one best-effort CLOSE to the peer with a generic code. */
  private fail(err: UzpError, sendClose: boolean): void {
    if (this.state === CLOSED) return;
    const number = this.inflight.next;
    this.shutdown();
    if (sendClose) {
      const code = err.code === ErrorCode.BLOCK_PROTOCOL ? CloseCode.PROTOCOL_VIOLATION : CloseCode.LIMIT_REACHED;
      const end = writeClose(this.scratch, 0, code, new Uint8Array(0));
      this.finalBlock = this.seal(SPACE_DATA, number, this.scratch.subarray(0, end));
    }
    this.notifyClose(err);
  }

  private notifyClose(err: UzpError | undefined, code?: number, reason?: string): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    if (code === undefined) this.o.onClose(err);
    else this.o.onClose(err, code, reason);
  }
}
