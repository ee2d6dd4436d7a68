// The TCP connection under an RnLink: an outbound client socket only (never a listener: the
// zero-port rule of draft §4 step 1 and §13), its corking writer and its frame decoder. Reads land in
// one buffer and frames that span reads in one more (FrameDecoder reuse mode): the link consumes
// every frame before the next read, and receiving allocates nothing per read. A 1-RTT attempt that
// falls back replaces the connection (reopen()); the old one goes quietly.

import { connect, type Socket } from 'node:net';
import { isCodedError, type CodedError } from '../../lib/errors.js';
import { ErrorCode, ProtocolError } from '../errors.js';
import { parseAddress } from './address.js';
import { DEFAULT_MAX_FRAME_PREAUTH, LINK_CONTROL_BACKLOG_MAX } from './constants.js';
import { corkingWriter, type Writer } from './cork.js';
import { FrameDecoder, type Frame } from './frame.js';

/**
 * The socket's one read buffer. Four 64 KiB blocks' worth, not libuv's 64 KiB default: a RELAY frame
 * of a full block is a little over 64 KiB, so with 64 KiB reads nearly every one spanned two reads and
 * was copied whole into the decoder's assembly buffer; with 256 KiB reads three in four arrive whole
 * and are opened in place. The receiver of e2e-throughput went from 1.84-2.21 to 1.49-1.70 ms of CPU
 * per MB (docs/BENCH.md, fifteenth stop). Pages the kernel never fills are never touched: a link
 * carrying small frames stays resident at what it reads.
 */
const READ_BUFFER_BYTES = 256 * 1024;

interface LinkSocketHost {
  /** Every frame, in order; a throw ends the connection through `failed`. */
  readonly frame: (f: Frame) => void;
  /** A read completed at least one frame (liveness: whole frames, not bytes). */
  readonly heard: () => void;
  /** The connection failed or closed: the error says which. */
  readonly failed: (e: CodedError) => void;
  /** The socket drained (its writers may write again). */
  readonly drained: () => void;
}

/** Longest a graceful close waits for what was written to leave (close()). */
export const CLOSE_GRACE_MS = 2_000;

export class LinkSocket {
  private socket!: Socket;
  private writer!: Writer;
  private decoder!: FrameDecoder;
  /** The TCP connection is up (a 1-RTT attempt falls back only on a connection the RN answered on). */
  connected = false;
  /** Control frames written since the socket last asked to wait for 'drain' (LINK_CONTROL_BACKLOG_MAX). */
  private controlHeld = 0;

  constructor(
    private readonly address: string,
    private readonly host: LinkSocketHost,
  ) {
    this.open();
  }

  /** Queued until the connection is up (node writes it on connect), corked until the end of this turn. */
  write(b: Uint8Array): boolean {
    return this.writer.write(b);
  }

  /**
   * A control frame, written as write() writes, except that an RN that never reads cannot make us
   * hold them without end: past LINK_CONTROL_BACKLOG_MAX of them behind a full socket, the link fails.
   */
  writeControl(b: Uint8Array): boolean {
    const ok = this.writer.write(b);
    // Failed once, at the first frame past the bound; the link is being closed after that.
    if (!ok && ++this.controlHeld === LINK_CONTROL_BACKLOG_MAX + 1) {
      this.host.failed(new ProtocolError(ErrorCode.LINK_CLOSED, `RN link ${this.address}: the RN reads nothing we send (${this.controlHeld} control frames held behind a full socket)`, 'peer'));
    }
    return ok;
  }

  /** Sends what this turn corked, now. */
  flush(): void {
    this.writer.flush();
  }

  setMaxFrame(n: number): void {
    this.decoder.setMaxFrame(n);
  }

  /** Bytes received so far of a frame still arriving (0 when none): a slow frame is not a dead link. */
  get partial(): number {
    return this.decoder.buffered;
  }

  /**
   * `graceful`: what was written leaves first (FIN), then the socket is destroyed; at the latest
   * after CLOSE_GRACE_MS. An RN that stops reading never lets the end finish, and the socket (with
   * its link and buffers) stayed open for good: one descriptor per DRAIN such an RN sent.
   */
  close(graceful: boolean): void {
    const s = this.socket;
    if (!graceful) return void s.destroy();
    const t = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
    t.unref();
    s.end(() => (clearTimeout(t), s.destroy()));
  }

  /** A new connection to the same address; the old one is dropped without a word to the host. */
  reopen(): void {
    const old = this.socket;
    old.removeAllListeners();
    old.on('error', () => {});
    old.destroy();
    this.open();
  }

  private open(): void {
    const { host, port } = parseAddress(this.address, 'RN address');
    const socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: (n, buf) => this.onData(buf, n) },
    });
    this.socket = socket;
    this.writer = corkingWriter(socket);
    this.decoder = new FrameDecoder(DEFAULT_MAX_FRAME_PREAUTH, { reuse: true });
    this.connected = false;
    this.controlHeld = 0;
    const h = this.host;
    socket.on('connect', () => (this.connected = true));
    socket.on('drain', () => {
      this.controlHeld = 0;
      h.drained();
    });
    socket.on('error', (e) => h.failed(new ProtocolError(ErrorCode.LINK_CLOSED, `RN link ${this.address}: ${e.message}`, 'peer', { cause: e })));
    // An RN never half-closes a link it keeps: its FIN ('end') means it is gone, and a failover
    // started here is 0.15-0.3 ms ahead of 'close' (which waits for our write side's shutdown).
    socket.on('end', () => h.failed(new ProtocolError(ErrorCode.LINK_CLOSED, `RN link ${this.address}: connection closed by the RN`)));
    socket.on('close', () => h.failed(new ProtocolError(ErrorCode.LINK_CLOSED, `RN link ${this.address}: connection closed`)));
  }

  /**
   * `n` bytes were read into `buf`, the read buffer: every frame is used (or copied) before this
   * returns. Always true: keep reading (node:net onread).
   */
  private onData(buf: Uint8Array, n: number): boolean {
    // Plain Uint8Array views: payloads handed on are not Buffers.
    const chunk = new Uint8Array(buf.buffer, buf.byteOffset, n);
    try {
      const held = this.decoder.buffered;
      this.decoder.feed(chunk, this.host.frame);
      // Bytes not held for a frame in progress went into whole frames: this read completed one.
      // (Compared, not counted per frame: nothing added per RELAY frame on the hot path.)
      if (this.decoder.buffered !== held + n) this.host.heard();
    } catch (e) {
      this.host.failed(isCodedError(e) ? e : new ProtocolError(ErrorCode.LINK_CLOSED, `RN link: ${String(e)}`, 'local', { cause: e }));
    }
    return true;
  }
}
