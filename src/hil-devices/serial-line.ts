// serial-line: a line-oriented instrument (sensor, scanner, GPS, a device console). Incoming bytes
// are split on the configured delimiter (default "\n"); one trailing "\r" is stripped from each line
// so CR LF devices work with the default. Each non-empty line is one reading `{ line }`. Operators
// get the raw bytes too (onData) and write lines through the link.
//
// Memory is bounded (FIELD-NOTES: unbounded queues are a top complaint about edge gateways): at
// most maxLineBytes of a line are held. A longer line is emitted cut to maxLineBytes with
// `truncated: true`, counted, and the rest of it is discarded up to the next delimiter.
//
// A port state change (device lost, reopened, closed) ends the line in progress: what was held of
// it is dropped, and after the port (re)opens everything up to the first delimiter is dropped too,
// because a device that kept talking while the port was away is mid-line when it comes back.
// Without this, the head of a line from before an unplug was glued onto the tail of a line from
// after it and delivered as one reading (`N=43;T=21.9;H=N=54;T=22.0;H=40`, issue #10). One
// exception: an operator write ends that wait, since what a request/response device sends next is
// the start of its answer.

import type { SerialLineDevice } from './config.js';
import type { PortLog } from '../ports/log.js';
import type { SerialLink } from '../ports/serial.js';
import type { SerialPortStatus, SerialState } from '../ports/serial-status.js';
import type { Reading, SerialDevice, Unsubscribe } from '../hil/device.js';
import { Listeners, ReadingStream } from './readings.js';
import { DeviceUnavailableError, unavailableIfLost } from './errors.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export interface SerialDriverOptions {
  /** Reading timestamps, Unix ms (default Date.now). */
  readonly now?: () => number;
  readonly log?: PortLog;
}

export interface SerialLineStats {
  lines: number;
  truncated: number;
  emptyLines: number;
  bytesIn: number;
  bytesOut: number;
  /** Port state changes, each ending the line in progress (see the top of this file). */
  resyncs: number;
}

/** Work a LineSplitter has done: what it costs per byte received (linear, never per byte held). */
export interface SplitterWork {
  /** Bytes copied (into the line buffer, and when it is compacted or grown). */
  copied: number;
  /** Bytes the delimiter search looked at. */
  scanned: number;
}

/** The line buffer starts this small and doubles up to its bound: most devices send short lines. */
const INITIAL_BUFFER_BYTES = 256;

/**
 * Splits a byte stream into lines, holding at most maxLineBytes + delimiter of one line. Pure.
 *
 * Linear in the bytes received: each byte is copied into one buffer once (and at most once more,
 * moved to its front when the line before it ends) and searched once. The splitter used to join
 * the held line with every chunk and search all of it again: 1-byte reads of a 64 KiB line without
 * a delimiter (a device on "\r" with the config on "\n") cost 1.5 s per 256 KiB.
 */
export class LineSplitter {
  /** The unfinished line: buf[0, len). Grows up to `cap`, never beyond. */
  private buf: Buffer;
  private len = 0;
  /** During push: one line plus a delimiter that may have started in its last bytes (see push). */
  private readonly cap: number;
  /** Inside an overlong line whose cut head was already emitted: bytes are dropped until a delimiter. */
  private discarding = false;
  /** Discarding because of resync(), not because of an overlong line. */
  private resyncing = false;
  private readonly delim: Buffer;
  readonly work: SplitterWork = { copied: 0, scanned: 0 };

  /** `onLine` gets a view of the splitter's buffer, valid only during the call: copy what you keep. */
  constructor(
    delimiter: Buffer,
    private readonly maxLineBytes: number,
    private readonly onLine: (line: Buffer, truncated: boolean) => void,
  ) {
    if (delimiter.length === 0) throw new LocalError(CommonCode.USAGE, 'serial-line: the delimiter must be at least one byte');
    this.delim = Buffer.from(delimiter);
    // Between chunks at most max + delimiter bytes are held (a "\r" and a split delimiter fit before
    // a line counts as overlong); within a push, one delimiter more, so that a line which is not
    // overlong (max bytes, "\r", then the delimiter) is never cut because the buffer filled first.
    this.cap = maxLineBytes + 2 * delimiter.length;
    this.buf = Buffer.allocUnsafe(Math.min(this.cap, INITIAL_BUFFER_BYTES));
  }

  /** Bytes held for the current, unfinished line. */
  get held(): number {
    return this.len;
  }

  /**
   * The stream broke (port lost or reopened): the line in progress is dropped, and so is everything
   * up to the next delimiter, which may be the tail of a line whose head was never seen.
   */
  resync(): void {
    this.len = 0;
    this.discarding = true;
    this.resyncing = true;
  }

  /** Ends a resync() before its delimiter: the next byte is taken as the start of a line. */
  endResync(): void {
    if (!this.resyncing) return;
    this.len = 0;
    this.discarding = false;
    this.resyncing = false;
  }

  push(chunk: Uint8Array): void {
    const d = this.delim.length;
    for (let off = 0; off < chunk.length; ) {
      if (this.len === this.cap) this.overflow();
      if (this.len === this.buf.length) this.grow();
      const n = Math.min(chunk.length - off, this.buf.length - this.len);
      this.buf.set(chunk.subarray(off, off + n), this.len);
      this.work.copied += n;
      // Only the new bytes can end a line, and a delimiter begun in the last d - 1 bytes held.
      const from = Math.max(0, this.len - (d - 1));
      this.len += n;
      off += n;
      this.lines(from);
    }
    // Between chunks: more than a line and a delimiter held is an overlong line; while discarding,
    // only where a delimiter may have begun is kept.
    if (this.len > (this.discarding ? d - 1 : this.maxLineBytes + d)) this.overflow();
  }

  /** Emits every line ended in buf[from, len), then moves what follows the last one to the front. */
  private lines(from: number): void {
    const view = this.buf.subarray(0, this.len);
    let start = 0;
    for (let at = from; ; ) {
      const i = view.indexOf(this.delim, at);
      this.work.scanned += (i === -1 ? this.len : i + this.delim.length) - at;
      if (i === -1) break;
      const line = stripCr(view.subarray(start, i));
      start = at = i + this.delim.length;
      if (this.discarding) {
        this.discarding = false;
        this.resyncing = false;
      } else if (line.length > this.maxLineBytes) this.onLine(line.subarray(0, this.maxLineBytes), true);
      else this.onLine(line, false);
    }
    if (start > 0) this.keepFrom(start);
  }

  /**
   * The held bytes are an overlong line (or part of one being dropped): its head goes out cut, once,
   * and only the last d - 1 bytes stay, where the delimiter that ends it may have begun.
   */
  private overflow(): void {
    if (!this.discarding) {
      this.onLine(this.buf.subarray(0, this.maxLineBytes), true);
      this.discarding = true;
    }
    this.keepFrom(Math.max(0, this.len - (this.delim.length - 1)));
  }

  private keepFrom(start: number): void {
    this.buf.copyWithin(0, start, this.len);
    this.work.copied += this.len - start;
    this.len -= start;
  }

  private grow(): void {
    const next = Buffer.allocUnsafe(Math.min(this.cap, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.len);
    this.work.copied += this.len;
    this.buf = next;
  }
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, -1) : line;
}

export class SerialLine implements SerialDevice {
  readonly driver = 'serial-line' as const;
  readonly kind = 'serial' as const;
  readonly id: string;
  readonly stats: SerialLineStats = { lines: 0, truncated: 0, emptyLines: 0, bytesIn: 0, bytesOut: 0, resyncs: 0 };
  private readonly readings: ReadingStream;
  private readonly data: Listeners<[Uint8Array]>;
  private readonly splitter: LineSplitter;
  private readonly onChunk = (c: Uint8Array): void => this.received(c);
  private readonly onState = (s: SerialState): void => this.portChanged(s);
  private running = false;

  constructor(
    readonly slot: string,
    private readonly cfg: SerialLineDevice,
    private readonly link: SerialLink,
    private readonly opts: SerialDriverOptions = {},
  ) {
    this.id = cfg.id;
    this.readings = new ReadingStream({ slot, device: cfg.id, kind: 'serial', ...(opts.now ? { now: opts.now } : {}), ...(opts.log ? { log: opts.log } : {}) });
    this.data = new Listeners(`${slot}/${cfg.id} data`, opts.log);
    this.splitter = new LineSplitter(Buffer.from(cfg.delimiter, cfg.encoding), cfg.maxLineBytes, (line, truncated) => this.line(line, truncated));
  }

  onReading(cb: (r: Reading) => void): Unsubscribe {
    return this.readings.on(cb);
  }

  onData(cb: (data: Uint8Array) => void): Unsubscribe {
    return this.data.on(cb);
  }

  /** False while the port is not open: writes are refused then (DEVICE_UNAVAILABLE), not queued. */
  get available(): boolean {
    return this.link.state === 'open';
  }

  /** The slot's serial port: state, why it cannot be opened, settings read back. */
  get port(): SerialPortStatus {
    return this.link.portStatus;
  }

  /**
   * Writes bytes (an operator's line, with its line ending) to the instrument; resolves when the OS
   * took them. Rejects with DEVICE_UNAVAILABLE while the port is down, or if it goes down while the
   * write is still queued (nothing of it sent).
   */
  async write(data: Uint8Array): Promise<void> {
    if (!this.available) throw new DeviceUnavailableError(`${this.slot}/${this.id} ${this.link.path}`, this.link.state);
    // What the device sends next answers this: it starts a line, so stop waiting for a delimiter.
    this.splitter.endResync();
    await this.link.write(data).catch((e: unknown) => {
      throw unavailableIfLost(e, `${this.slot}/${this.id} ${this.link.path}`);
    });
    this.stats.bytesOut += data.length;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.link.on('data', this.onChunk);
    this.link.on('state', this.onState);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.link.off('data', this.onChunk);
    this.link.off('state', this.onState);
  }

  status(): { slot: string; device: string; running: boolean; readings: number; heldBytes: number; port: SerialPortStatus } & SerialLineStats {
    return { slot: this.slot, device: this.id, running: this.running, readings: this.readings.count, heldBytes: this.splitter.held, port: this.port, ...this.stats };
  }

  /** Every state change breaks the byte stream: the line in progress cannot be finished. */
  private portChanged(s: SerialState): void {
    if (this.splitter.held > 0) this.opts.log?.debug({ slot: this.slot, device: this.id, state: s, dropped: this.splitter.held }, 'serial-line: partial line dropped at a port state change');
    this.stats.resyncs++;
    this.splitter.resync();
  }

  private received(chunk: Uint8Array): void {
    this.stats.bytesIn += chunk.length;
    this.data.emit(chunk);
    this.splitter.push(chunk);
  }

  private line(bytes: Buffer, truncated: boolean): void {
    if (bytes.length === 0) {
      this.stats.emptyLines++;
      return;
    }
    this.stats.lines++;
    const line = bytes.toString(this.cfg.encoding);
    if (!truncated) return void this.readings.emit({ line });
    this.stats.truncated++;
    if (this.stats.truncated === 1 || this.stats.truncated % 1000 === 0) this.opts.log?.warn({ slot: this.slot, device: this.id, maxLineBytes: this.cfg.maxLineBytes, truncated: this.stats.truncated }, 'serial-line: overlong line cut');
    this.readings.emit({ line, truncated: true });
  }
}
