// serial-raw: byte passthrough for equipment with a protocol of its own (a binary console, a
// vendor's framing the gateway need not understand). Bytes from the link are coalesced and handed
// on once the line has been silent for idleFlushMs: a paced line or a USB adapter delivers a
// device's message in many small reads (FIELD-NOTES: PTYs and latency timers chunk arbitrarily),
// and one reading per message is what an operator wants to see, not one per read() call.
//
// Bounded: at most maxBufferBytes are held. A device that never pauses would otherwise be held
// forever, so a full buffer is handed on at once instead of dropping its oldest bytes: a
// passthrough must not lose bytes it has room to deliver. What cannot be delivered (a slow
// operator) is dropped and counted where it is queued, in the broker's channel send. Each
// coalesced chunk is one reading `{ bytes }` and one onData call.
//
// A port state change (device lost, reopened) hands on what is held at once: bytes from before an
// unplug never share a chunk with bytes from after it (issue #10: the serial-line splice).

import type { SerialRawDevice } from './config.js';
import type { SerialLink } from '../ports/serial.js';
import type { SerialPortStatus } from '../ports/serial-status.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Reading, SerialDevice, Unsubscribe } from '../hil/device.js';
import { Listeners, ReadingStream } from './readings.js';
import type { SerialDriverOptions } from './serial-line.js';
import { DeviceUnavailableError, unavailableIfLost } from './errors.js';

export interface SerialRawOptions extends SerialDriverOptions {
  /** Flush timer (default the system clock); tests pass a fake clock. */
  readonly clock?: Clock;
}

export interface SerialRawStats {
  bytesIn: number;
  bytesOut: number;
  /** Chunks handed on after idleFlushMs of silence, and because the buffer was full. */
  idleFlushes: number;
  fullFlushes: number;
}

export class SerialRaw implements SerialDevice {
  readonly driver = 'serial-raw' as const;
  readonly kind = 'serial' as const;
  readonly id: string;
  readonly stats: SerialRawStats = { bytesIn: 0, bytesOut: 0, idleFlushes: 0, fullFlushes: 0 };
  private readonly readings: ReadingStream;
  private readonly data: Listeners<[Uint8Array]>;
  private readonly clock: Clock;
  private readonly onChunk = (c: Uint8Array): void => this.received(c);
  private readonly onState = (): void => this.flush('idle');
  private held: Buffer;
  private heldBytes = 0;
  private cancelFlush: (() => void) | null = null;
  private running = false;

  constructor(
    readonly slot: string,
    private readonly cfg: SerialRawDevice,
    private readonly link: SerialLink,
    opts: SerialRawOptions = {},
  ) {
    this.id = cfg.id;
    this.clock = opts.clock ?? systemClock;
    this.readings = new ReadingStream({ slot, device: cfg.id, kind: 'serial', ...(opts.now ? { now: opts.now } : {}), ...(opts.log ? { log: opts.log } : {}) });
    this.data = new Listeners(`${slot}/${cfg.id} data`, opts.log);
    this.held = Buffer.alloc(cfg.maxBufferBytes);
  }

  onReading(cb: (r: Reading) => void): Unsubscribe {
    return this.readings.on(cb);
  }

  /** Coalesced chunks from the equipment, each at most maxBufferBytes. */
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

  /** Rejects with DEVICE_UNAVAILABLE while the port is down, or if it goes down while the write is still queued. */
  async write(data: Uint8Array): Promise<void> {
    if (!this.available) throw new DeviceUnavailableError(`${this.slot}/${this.id} ${this.link.path}`, this.link.state);
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

  /** Stops listening and hands on what is held. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.link.off('data', this.onChunk);
    this.link.off('state', this.onState);
    this.flush('idle');
  }

  status(): { slot: string; device: string; running: boolean; readings: number; heldBytes: number; port: SerialPortStatus } & SerialRawStats {
    return { slot: this.slot, device: this.id, running: this.running, readings: this.readings.count, heldBytes: this.heldBytes, port: this.port, ...this.stats };
  }

  private received(chunk: Uint8Array): void {
    this.stats.bytesIn += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      const n = Math.min(chunk.length - at, this.cfg.maxBufferBytes - this.heldBytes);
      this.held.set(chunk.subarray(at, at + n), this.heldBytes);
      this.heldBytes += n;
      at += n;
      if (this.heldBytes === this.cfg.maxBufferBytes) this.flush('full');
    }
    this.cancelFlush?.();
    this.cancelFlush = null;
    if (this.heldBytes === 0) return;
    if (this.cfg.idleFlushMs === 0) return this.flush('idle');
    // Restarted by every chunk: the buffer goes out after idleFlushMs with nothing new on the line.
    this.cancelFlush = this.clock.setTimeout(() => {
      this.cancelFlush = null;
      this.flush('idle');
    }, this.cfg.idleFlushMs);
  }

  private flush(why: 'idle' | 'full'): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
    if (this.heldBytes === 0) return;
    const bytes = new Uint8Array(this.held.subarray(0, this.heldBytes)); // a copy: `held` is reused
    this.heldBytes = 0;
    if (why === 'idle') this.stats.idleFlushes++;
    else this.stats.fullFlushes++;
    this.data.emit(bytes);
    this.readings.emit({ bytes });
  }
}
