// The block engine of one session (draft §7): numbered AEAD blocks carrying frames, selective ACK,
// retransmission on timeout, replay window, key update and key-use limits, bounded buffers.
// Pure and synchronous: no sockets, no timers. The session driver feeds received relay payloads to
// receive(), sends whatever poll() returns, and calls poll() again at nextDeadline().
// Wire format: docs/profile-parts/40-blocks.md.

import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from '../crypto/provider.js';
import { ErrorCode, ProtocolError, StateError, UzpError, isUzpError } from '../errors.js';
import { readU32 } from '../bytes.js';
import { decodeAck, type AckFrame } from './ack.js';
import {
  ACK_MAX_LENGTH,
  BLOCK_HEADER_LENGTH,
  BLOCK_SPACE_BIT,
  CLOSE_HEADER_LENGTH,
  CloseCode,
  FRAME_PING,
  MSG_FLAG_CHANNEL_CLOSE,
  MSG_FLAG_FIN,
  SPACE_ACK,
  SPACE_DATA,
  blockType,
  isBlockType,
  type Space,
} from './constants.js';
import { WALK_HAS_CLOSE, encodeReason, walkFrames, writeClose, type FrameVisitor } from './frames.js';
import { InFlight, type AckSink, type SentBlock } from './inflight.js';
import { SendKeys, RecvKeys } from './keys.js';
import { resolveLimits, type BlockLimits } from './limits.js';
import { AdTemplate, openBlock, sealBlock } from './protect.js';
import { Reassembly } from './reassembly.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { REPLAY_DUPLICATE, REPLAY_TOO_OLD, ReplayWindow } from './replay.js';
import { RttEstimator } from './rtt.js';
import { SendQueue } from './send-queue.js';

export type { BlockLimits } from './limits.js';

export interface BlockEngineOptions {
  provider: CryptoProvider;
  aead: AeadAlgorithm;
  /** Traffic secrets from the handshake, 32 bytes each. */
  sendSecret: Uint8Array;
  recvSecret: Uint8Array;
  /** cid_i || eid_i || cid_r || eid_r (128 bytes), bound into every block's AD. */
  adContext: Uint8Array;
  /** Our sending direction: 0 initiator->responder, 1 responder->initiator. */
  direction: 0 | 1;
  /** Monotonic milliseconds (a fake clock in tests). */
  now(): number;
  limits?: Partial<BlockLimits>;
  /** A complete message, in order; `message` may be a view into a block plaintext (owned by the callee from now on). */
  onMessage(channel: number, message: Uint8Array, channelClosed: boolean): void;
  /** A send() returned false and there is now room for a message of that size. Called from poll(). */
  onWritable(): void;
  /**
   * Called once when the engine reaches the closed state: peer CLOSE (error undefined, remoteCode,
   * remoteReason), our own close() fully acknowledged (both undefined), or a local failure (error).
   */
  onClose(error: UzpError | undefined, remoteCode?: number, remoteReason?: string): void;
  /** A received block was dropped (bad tag, replay, junk...): for debug counters and logs. */
  onDrop?(reason: string): void;
}

export interface BlockEngineStats {
  /** Blocks returned by poll(), of both spaces, retransmissions included. */
  blocksSent: number;
  /** Blocks that authenticated. */
  blocksReceived: number;
  retransmits: number;
  dropped: number;
  /** Key updates of our sending direction. */
  keyUpdates: number;
  bytesSent: number;
  bytesReceived: number;
  /** Smoothed RTT (RFC 6298 SRTT); undefined before the first sample. */
  rttMs: number | undefined;
}

/** Internal sizes for tests and debugging: a snapshot, never a handle on internals. */
export interface BlockEngineInspection {
  state: 'open' | 'closing' | 'closed';
  queuedBytes: number;
  queuedMessages: number;
  inFlightBlocks: number;
  /** next data number - lowest unacknowledged: never above sendWindowBlocks. */
  inFlightSpan: number;
  recvBufferedBlocks: number;
  nextExpected: number;
  reassemblyBytes: number;
  sendPhase: number;
  sendGeneration: number;
  recvGeneration: number;
  /** Older send keys still held for in-flight blocks. */
  retainedSendKeys: number;
  sealedUnderKey: number;
  failedOpens: number;
  rtoMs: number;
}

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
const STATE_NAMES = ['open', 'closing', 'closed'] as const;

/** Smallest block: header and tag around at least one plaintext byte. */
const MIN_BLOCK = BLOCK_HEADER_LENGTH + 1 + AEAD_TAG_LENGTH;

export class BlockEngine implements FrameVisitor, AckSink {
  readonly stats: BlockEngineStats = {
    blocksSent: 0,
    blocksReceived: 0,
    retransmits: 0,
    dropped: 0,
    keyUpdates: 0,
    bytesSent: 0,
    bytesReceived: 0,
    rttMs: undefined,
  };

  private readonly l: BlockLimits;
  private state = OPEN;
  private closeNotified = false;

  private readonly sendKeys: SendKeys;
  private readonly recvKeys: RecvKeys;
  private readonly sendAd: AdTemplate;
  private readonly recvAd: AdTemplate;
  private readonly nonce = new Uint8Array(AEAD_NONCE_LENGTH);

  // sending
  private readonly scratch: Uint8Array;
  private readonly ackScratch = new Uint8Array(ACK_MAX_LENGTH);
  private readonly queue = new SendQueue();
  private readonly inflight: InFlight;
  private readonly rtt: RttEstimator;
  private nextAckNumber = 0;
  private refusedBytes = 0;
  private pingPending = false;
  private updateRequested = false;
  private closeCode = 0;
  private closeReason: Uint8Array | undefined;
  private closeSent = false;
  /** One-shot CLOSE to the peer after a local failure (not retransmitted). */
  private finalBlock: Uint8Array | undefined;

  // receiving
  private readonly replay = [new ReplayWindow(), new ReplayWindow()] as const;
  private readonly recv: ReceiveBuffer;
  private readonly reassembly: Reassembly;

  constructor(private readonly o: BlockEngineOptions) {
    this.l = resolveLimits(o.limits);
    if (o.direction !== 0 && o.direction !== 1) throw new RangeError(`direction must be 0 or 1, got ${String(o.direction)}`);
    this.sendKeys = new SendKeys(o.provider, o.aead, o.sendSecret);
    this.recvKeys = new RecvKeys(o.provider, o.aead, o.recvSecret);
    this.sendAd = new AdTemplate(o.adContext, o.direction);
    this.recvAd = new AdTemplate(o.adContext, o.direction === 0 ? 1 : 0);
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
      throw new StateError(ErrorCode.BUFFER_FULL, `send: message of ${message.length} bytes exceeds maxMessageBytes ${this.l.maxMessageBytes}`);
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
    if (!Number.isInteger(code) || code < 0 || code > 0xffff) throw new StateError(ErrorCode.USAGE, `close: code must be a u16, got ${code}`);
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
    this.updateRequested = true;
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
      sendPhase: this.sendKeys.phase,
      sendGeneration: this.sendKeys.current.generation,
      recvGeneration: this.recvKeys.current.generation,
      retainedSendKeys: this.sendKeys.retainedGenerations,
      sealedUnderKey: this.sendKeys.sealed,
      failedOpens: this.recvKeys.failedOpens,
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

  /**
   * Seals under the current send key, first updating it when the soft limit (or updateKey) asks and
   * the peer has confirmed the current one; at the hard limit the engine fails instead.
   */
  private seal(space: Space, number: number, pt: Uint8Array): Uint8Array | undefined {
    const k = this.sendKeys;
    if ((k.sealed >= this.l.keySoftLimit || this.updateRequested) && k.confirmed) {
      k.update();
      this.stats.keyUpdates++;
      this.updateRequested = false;
      // An ack block cannot confirm the new key (acks are not acknowledged): make sure a data block follows.
      if (space === SPACE_ACK) this.pingPending = true;
    }
    if (k.sealed >= this.l.keyHardLimit) {
      this.fail(new ProtocolError(ErrorCode.SESSION_KEY_LIMIT, `block engine: ${k.sealed} blocks sealed under one key without a confirmed key update`, 'local'), false);
      return undefined;
    }
    k.sealed++;
    return sealBlock(k.current, this.sendAd, this.nonce, blockType(space, k.phase), number, pt);
  }

  private packNew(out: Uint8Array[], now: number): void {
    const max = this.l.maxBlockPlaintext;
    while (this.state !== CLOSED && this.inflight.windowOpen) {
      const wantClose = this.closeReason !== undefined && !this.closeSent;
      if (this.queue.messages === 0 && !this.pingPending && !wantClose) break;
      let off = this.queue.pack(this.scratch, 0, max);
      let hasClose = false;
      if (wantClose && this.queue.messages === 0 && off + CLOSE_HEADER_LENGTH + this.closeReason!.length <= max) {
        off = writeClose(this.scratch, off, this.closeCode, this.closeReason!);
        hasClose = this.closeSent = true;
      }
      if (off === 0) {
        if (!this.pingPending) break; // cannot happen (CLOSE always fits an empty block); never spin
        this.scratch[off++] = FRAME_PING;
      }
      this.pingPending = false;
      const number = this.inflight.next;
      const block = this.seal(SPACE_DATA, number, this.scratch.subarray(0, off));
      if (block === undefined) return;
      const generation = this.sendKeys.current.generation;
      const sent: SentBlock = {
        number,
        block,
        generation,
        sentAt: now,
        deadline: now + this.rtt.rto,
        timeouts: 0,
        retransmitted: false,
        forced: false,
        fastRetransmitted: false,
        hasClose,
      };
      this.sendKeys.retain(generation);
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
        if (b.generation !== this.sendKeys.current.generation && !this.reseal(b)) return;
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

  /** The key phase changed since `b` was sealed: reopen it with its old key and seal it under the current one. */
  private reseal(b: SentBlock): boolean {
    const old = this.sendKeys.material(b.generation);
    const pt = old === undefined ? null : openBlock(old, this.sendAd, this.nonce, b.block[0]!, b.number, b.block);
    if (pt === null) {
      this.fail(new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, `block engine: cannot reopen block ${b.number} for reseal`), true);
      return false;
    }
    const block = this.seal(SPACE_DATA, b.number, pt);
    if (block === undefined) return false;
    this.sendKeys.release(b.generation);
    b.generation = this.sendKeys.current.generation;
    this.sendKeys.retain(b.generation);
    b.block = block;
    return true;
  }

  /** AckSink: one of our data blocks was acknowledged. */
  blockAcked(b: SentBlock): void {
    this.sendKeys.release(b.generation);
    if (b.generation === this.sendKeys.current.generation) this.sendKeys.confirmed = true;
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
      this.rtt.sample(sample > delay ? sample - delay : sample);
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
    if (block.length < MIN_BLOCK) return this.drop('short');
    const type = block[0]!;
    if (!isBlockType(type)) return this.drop('not a block');
    const hi = readU32(block, 1);
    if (hi > 0x1f_ffff) return this.drop('number');
    const number = hi * 0x1_0000_0000 + readU32(block, 5);
    const space: Space = type & BLOCK_SPACE_BIT ? SPACE_ACK : SPACE_DATA;
    const maxPt = space === SPACE_DATA ? this.l.maxBlockPlaintext : ACK_MAX_LENGTH;
    if (block.length > BLOCK_HEADER_LENGTH + maxPt + AEAD_TAG_LENGTH) return this.drop('too large');
    const now = this.o.now();
    const verdict = this.replay[space].check(number);
    if (verdict === REPLAY_TOO_OLD) return this.drop('too old');
    if (verdict === REPLAY_DUPLICATE) {
      if (space === SPACE_DATA) this.recv.duplicate(now); // our ack may have been lost
      return this.drop('duplicate');
    }
    if (this.state === CLOSED) return this.drop('closed');
    if (space === SPACE_DATA && this.recv.beyond(number)) return this.drop('beyond receive buffer');
    const pt = this.recvKeys.open(this.recvAd, this.nonce, type, number, block);
    if (pt === null) {
      this.drop('authentication');
      if (this.recvKeys.failedOpens >= this.l.integrityLimit) {
        this.fail(new ProtocolError(ErrorCode.BLOCK_INTEGRITY_LIMIT, `block engine: ${this.recvKeys.failedOpens} blocks failed authentication under one key`), true);
      }
      return;
    }
    // Authenticated: from here on a malformed block is the peer's protocol error, not noise.
    this.stats.blocksReceived++;
    this.stats.bytesReceived += block.length;
    if (space === SPACE_ACK) {
      let ack: AckFrame;
      try {
        ack = decodeAck(pt);
      } catch (e) {
        return this.protocolError(e);
      }
      this.replay[SPACE_ACK].mark(number);
      return this.processAck(ack, now);
    }
    let summary: number;
    try {
      summary = walkFrames(pt, null);
    } catch (e) {
      return this.protocolError(e);
    }
    this.replay[SPACE_DATA].mark(number);
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
    if (!isUzpError(e)) throw e; // not a decoding error: a bug, do not hide it
  }

  /** In-order delivery of every block that is ready; frames come back through the FrameVisitor methods. */
  private deliver(): void {
    while (this.state !== CLOSED) {
      const pt = this.recv.shift();
      if (pt === undefined) return;
      walkFrames(pt, this); // validated on receipt: cannot throw
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
