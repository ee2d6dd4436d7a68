// Every reading of every device into the reading log, once (issue #12: "every reading appended
// once"): the one subscriber of the devices' reading streams that the rest of the gateway reads
// through. `tail` channels and publishers read the log and wait here for the next append, so a
// reader that fell behind (backpressure, an outage) catches up from the log instead of losing what
// it missed.

import type { HilDevice, Reading, Unsubscribe } from '../../hil/device.js';
import { Listeners } from '../../hil-devices/readings.js';
import { encodeCanonical } from '../../uzp/cbor.js';
import type { LoggedReading, LogPosition, ReadingLog } from './reading-log.js';

/** Readings carry physical quantities: finite floats allowed, as on the HIL wire (hil/messages.ts). */
const VALUE_CBOR = { floats: true } as const;

export interface RecorderOptions {
  readonly log: ReadingLog;
  readonly devices: ReadonlyMap<string, HilDevice>;
  /** The gateway's boot epoch (boot-epoch.ts), stamped on every reading. */
  readonly epoch: number;
  /** An append failed (disk full, I/O error): the reading stays pending in the log and is retried at the next commit. */
  readonly onError: (e: unknown) => void;
}

export class ReadingRecorder {
  private readonly offs: Unsubscribe[] = [];
  private readonly next = new Map<string, number>();
  private readonly appended = new Listeners<[string]>('reading log appends');
  /** Appends that threw (the reading stayed pending or was refused). */
  errors = 0;

  constructor(private readonly o: RecorderOptions) {}

  get log(): ReadingLog {
    return this.o.log;
  }

  get epoch(): number {
    return this.o.epoch;
  }

  start(): void {
    for (const d of this.o.devices.values()) this.offs.push(d.onReading((r) => this.record(r)));
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** The position right after the last reading of `slot` recorded by this process: where a live tail starts. */
  position(slot: string): LogPosition {
    return { epoch: this.o.epoch, seq: this.next.get(slot) ?? 0 };
  }

  /** Readings of `slot` from `from` on, committed or pending (reading-log.ts read()). */
  read(slot: string, from: LogPosition, limit: number): LoggedReading[] {
    return this.o.log.read(slot, from, limit);
  }

  /** Called with the slot after each reading is appended (committed or pending). */
  onAppend(cb: (slot: string) => void): Unsubscribe {
    return this.appended.on(cb);
  }

  private record(r: Reading): void {
    this.next.set(r.slot, r.seq + 1);
    try {
      this.o.log.append({
        slot: r.slot,
        device: r.device,
        kind: r.kind,
        epoch: this.o.epoch,
        seq: r.seq,
        ts: r.ts,
        value: encodeCanonical(r.value, VALUE_CBOR),
        ...(r.source !== undefined ? { source: JSON.stringify(r.source) } : {}),
      });
    } catch (e) {
      this.errors++;
      this.o.onError(e);
    }
    this.appended.emit(r.slot);
  }
}
