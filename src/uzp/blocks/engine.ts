// The block engine of one session (draft §7): numbered AEAD blocks carrying frames, selective ACK,
// retransmission on timeout, replay window, key update and key-use limits, bounded buffers.
// Pure and synchronous: no sockets, no timers. The session driver feeds received relay payloads to
// receive(), sends whatever poll() returns, and calls poll() again at nextDeadline().
// This class holds the open/closing/closed state, the receive side (open, replay, in-order
// delivery, reassembly) and the close protocol; the send side is BlockSender (sender.ts).
// Wire format: docs/PROFILE.md.

import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import { decodeAck, type AckFrame } from './ack.js';
import { ACK_MAX_LENGTH, BLOCK_HEADER_LENGTH, CloseCode, MSG_FLAG_CHANNEL_CLOSE, MSG_FLAG_FIN, SPACE_ACK, SPACE_DATA } from './constants.js';
import { WALK_HAS_CLOSE, walkFrames, type FrameVisitor } from './frames.js';
import { resolveLimits, type BlockLimits } from './limits.js';
import { newStats, type BlockEngineInspection, type BlockEngineOptions, type BlockEngineStats } from './engine-types.js';
import { BlockOpener, DROP_DUPLICATE } from './opener.js';
import { joinBlock, type SealedBlock } from './protect.js';
import { BlockSealer } from './sealer.js';
import { BlockSender } from './sender.js';
import { Reassembly } from './reassembly.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { CommonCode, isCodedError, StateError } from '../../lib/errors.js';
import { AEAD_TAG_LENGTH } from '../crypto/provider.js';

export type { BlockLimits } from './limits.js';
export type { BlockEngineOptions, BlockEngineStats, BlockEngineInspection } from './engine-types.js';

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
const STATE_NAMES = ['open', 'closing', 'closed'] as const;

export class BlockEngine implements FrameVisitor {
  readonly stats: BlockEngineStats = newStats();

  private readonly l: BlockLimits;
  private state = OPEN;
  private closeNotified = false;

  private readonly sender: BlockSender;
  private readonly opener: BlockOpener;

  // receiving
  /** Our ACK frame of what we received, before the sender seals it. */
  private readonly ackScratch = new Uint8Array(ACK_MAX_LENGTH);
  private readonly recv: ReceiveBuffer;
  private readonly reassembly: Reassembly;
  private delivering = false;

  constructor(private readonly o: BlockEngineOptions) {
    this.l = resolveLimits(o.limits);
    if (o.direction !== 0 && o.direction !== 1) throw new RangeError(`direction must be 0 or 1, got ${String(o.direction)}`);
    const sealer = new BlockSealer(o.provider, o.aead, o.sendSecret, o.adContext, o.direction, this.l.keySoftLimit, this.l.keyHardLimit);
    this.sender = new BlockSender(this.l, sealer, this.stats, o);
    this.opener = new BlockOpener(o.provider, o.aead, o.recvSecret, o.adContext, o.direction === 0 ? 1 : 0, this.l.acceptBlockPlaintext);
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
    return this.sender.offer(channel, message, closeChannel);
  }

  /**
   * Graceful close: messages already queued are still sent, then a CLOSE frame; onClose(undefined)
   * once all of it is acknowledged (or the peer's own CLOSE arrives). No-op unless open.
   */
  close(code: number, reason = ''): void {
    if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new StateError(CommonCode.USAGE, `close: code must be a u16, got ${code}`);
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    this.sender.close(code, reason);
  }

  /**
   * Asks for a key update of our sending direction. It happens at the next block we seal once the
   * peer has acknowledged a block under the current key (RFC 9001 §6.5); a PING makes sure there
   * is such a block.
   */
  updateKey(): void {
    if (this.state === CLOSED) return;
    this.sender.requestKeyUpdate();
  }

  /**
   * A session-level protocol violation by the peer that the engine cannot see itself (a channel id
   * of the wrong parity, too many channels): closes like one it saw — at once, with one CLOSE
   * PROTOCOL_VIOLATION to the peer (docs/PROFILE.md §Closing). No-op once closed.
   */
  abort(err: UzpError): void {
    this.fail(err);
  }

  /**
   * Data blocks sealed from now on fit a path whose payloads carry at most `maxSealed` bytes (the
   * stitch's maxPayload): their plaintext is cut to that less the block header and the AEAD tag.
   */
  fitBlocksTo(maxSealed: number): void {
    this.sender.capBlockPlaintext(maxSealed - BLOCK_HEADER_LENGTH - AEAD_TAG_LENGTH);
  }

  /** After a re-stitch: every unacknowledged block is due now, and so is an ack of what we hold. */
  retransmitAll(): void {
    if (this.state === CLOSED) return;
    const now = this.o.now();
    this.sender.inflight.forceAll(now);
    this.recv.ackNow(now);
  }

  /**
   * The longest the engine tries one block before LINK_TIMEOUT (every RTO at its cap): a path that
   * takes nothing for this long is given up too (EnginePump.waitDrain).
   */
  get stallLimitMs(): number {
    return this.l.maxRtoMs * this.l.maxRetransmits;
  }

  /** Absolute time (ms) at which poll() has timer work: an ack delay or a retransmission timeout. */
  nextDeadline(): number | undefined {
    let d = this.recv.ackDeadline;
    if (this.state !== CLOSED) {
      const r = this.sender.inflight.earliestDeadline;
      if (r !== undefined && (d === undefined || r < d)) d = r;
    }
    return d;
  }

  inspect(): BlockEngineInspection {
    const { queue, inflight, sealer, rtt } = this.sender;
    return {
      state: STATE_NAMES[this.state]!,
      queuedBytes: queue.bytes,
      queuedMessages: queue.messages,
      inFlightBlocks: inflight.count,
      inFlightSpan: inflight.span,
      recvBufferedBlocks: this.recv.buffered,
      nextExpected: this.recv.nextExpected,
      reassemblyBytes: this.reassembly.bytes,
      sendPhase: sealer.keys.phase,
      sendGeneration: sealer.keys.current.generation,
      recvGeneration: this.opener.keys.current.generation,
      retainedSendKeys: sealer.keys.retainedGenerations,
      sealedUnderKey: sealer.keys.sealed,
      failedOpens: this.opener.keys.failedOpens,
      rtoMs: rtt.rto,
    };
  }

  // ---------------------------------------------------------------- output

  /**
   * Blocks to transmit now: due ack, due retransmissions, then new data packed from the queue; each
   * as its pieces (SealedBlock), which a link writes one after the other without joining them.
   */
  pollPieces(): SealedBlock[] {
    const out: SealedBlock[] = [];
    const now = this.o.now();
    const ackDue = this.recv.ackDeadline;
    if (ackDue !== undefined && now >= ackDue) this.emitAck(out, now);
    if (this.state !== CLOSED) {
      const err = this.sender.transmit(out, now);
      if (err !== undefined) this.fail(err);
    }
    this.sender.flushFinal(out);
    return out;
  }

  /** pollPieces() with every block in one buffer: for callers that handle blocks as bytes (tests, tools). */
  poll(): Uint8Array[] {
    return this.pollPieces().map(joinBlock);
  }

  private emitAck(out: SealedBlock[], now: number): void {
    if (this.recv.largest < 0) {
      this.recv.ackDeadline = undefined;
      return;
    }
    const len = this.recv.writeAck(this.ackScratch, now);
    const err = this.sender.sendAck(out, this.ackScratch.subarray(0, len));
    if (err !== undefined) this.fail(err);
  }

  private processAck(a: AckFrame, now: number): void {
    const err = this.sender.processAck(a, now);
    if (err !== undefined) return this.fail(err);
    if (this.state === CLOSING && this.sender.closeAcked) {
      this.state = CLOSED;
      this.sender.clear(); // queue and flight are already empty: only stops packing
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
        this.fail(new ProtocolError(ErrorCode.BLOCK_INTEGRITY_LIMIT, `block engine: ${op.keys.failedOpens} blocks failed authentication under one key`));
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
    this.fail(new ProtocolError(ErrorCode.BLOCK_PROTOCOL, `authenticated block is malformed: ${msg}`, 'peer', { cause: e }));
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
      this.fail(new ProtocolError(ErrorCode.BLOCK_PROTOCOL, `message on channel ${channel} exceeds maxMessageBytes ${this.l.maxMessageBytes}`));
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
    this.sender.clear();
    this.reassembly.clear();
    this.recv.clear();
  }

  /**
   * Local failure: closed at once, one best-effort CLOSE to the peer with a generic code (the peer
   * never learns why). None at the key hard limit: no block can be sealed any more.
   */
  private fail(err: UzpError): void {
    if (this.state === CLOSED) return;
    this.shutdown();
    if (err.code !== ErrorCode.SESSION_KEY_LIMIT) this.sender.sealFinalClose(closeCodeFor(err));
    this.notifyClose(err);
  }

  private notifyClose(err: UzpError | undefined, code?: number, reason?: string): void {
    if (this.closeNotified) return;
    this.closeNotified = true;
    if (code === undefined) this.o.onClose(err);
    else this.o.onClose(err, code, reason);
  }
}

/**
 * The generic CLOSE code for a local failure (docs/PROFILE.md §Closing, error table): the peer broke
 * the protocol (an invalid authenticated block, a bad channel id, a Finished that did not verify after
 * early data started the session), or a limit ran out (integrity
 * limit, retransmissions).
 */
function closeCodeFor(err: UzpError): number {
  const violation = err.code === ErrorCode.BLOCK_PROTOCOL || err.code === ErrorCode.CHANNEL_UNKNOWN || err.code === ErrorCode.HANDSHAKE_FINISHED;
  return violation ? CloseCode.PROTOCOL_VIOLATION : CloseCode.LIMIT_REACHED;
}
