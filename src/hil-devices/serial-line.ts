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

/** Splits a byte stream into lines, holding at most maxLineBytes + delimiter of one line. Pure. */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Inside an overlong line whose cut head was already emitted: bytes are dropped until a delimiter. */
  private discarding = false;
  /** Discarding because of resync(), not because of an overlong line. */
  private resyncing = false;
  private readonly delim: Buffer;

  constructor(
    delimiter: Buffer,
    private readonly maxLineBytes: number,
    private readonly onLine: (line: Buffer, truncated: boolean) => void,
  ) {
    if (delimiter.length === 0) throw new LocalError(CommonCode.USAGE, 'serial-line: the delimiter must be at least one byte');
    this.delim = delimiter;
  }

  /** Bytes held for the current, unfinished line. */
  get held(): number {
    return this.pending.length;
  }

  /**
   * The stream broke (port lost or reopened): the line in progress is dropped, and so is everything
   * up to the next delimiter, which may be the tail of a line whose head was never seen.
   */
  resync(): void {
    this.pending = Buffer.alloc(0);
    this.discarding = true;
    this.resyncing = true;
  }

  /** Ends a resync() before its delimiter: the next byte is taken as the start of a line. */
  endResync(): void {
    if (!this.resyncing) return;
    this.pending = Buffer.alloc(0);
    this.discarding = false;
    this.resyncing = false;
  }

  push(chunk: Uint8Array): void {
    let data = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (let i = data.indexOf(this.delim, start); i !== -1; i = data.indexOf(this.delim, start)) {
      const line = stripCr(data.subarray(start, i));
      start = i + this.delim.length;
      if (this.discarding) {
        this.discarding = false;
        this.resyncing = false;
      } else if (line.length > this.maxLineBytes) this.onLine(line.subarray(0, this.maxLineBytes), true);
      else this.onLine(line, false);
    }
    data = data.subarray(start);
    // Room for a "\r" and a delimiter split across chunks before a line counts as overlong.
    const keep = this.delim.length;
    if (!this.discarding && data.length > this.maxLineBytes + keep) {
      this.onLine(data.subarray(0, this.maxLineBytes), true);
      this.discarding = true;
    }
    if (this.discarding) data = data.subarray(Math.max(0, data.length - (this.delim.length - 1)));
    this.pending = Buffer.from(data); // a copy: never pin the chunk it came from
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
