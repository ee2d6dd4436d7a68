// What every driver shares: listener sets that one consumer's bug cannot break, and the reading
// stream that stamps slot, device id, kind, a per-device sequence number and a timestamp on each
// reading (issue #3: "each reading carries slot id, device id, kind, sequence number and
// timestamp"; draft §4.3: HIL sessions carry device id and slot id).

import type { CborValue } from '../uzp/cbor.js';
import { describeError, silentPortLog, type PortLog } from '../ports/log.js';
import type { Reading, ReadingKind, Unsubscribe } from '../hil/device.js';

/** Callbacks called in turn, each in its own try: a throwing listener is counted and logged, the rest still run. */
export class Listeners<A extends unknown[]> {
  private readonly cbs = new Set<(...a: A) => void>();
  /** Listener calls that threw. */
  errors = 0;

  constructor(
    private readonly what: string,
    private readonly log: PortLog = silentPortLog,
  ) {}

  get size(): number {
    return this.cbs.size;
  }

  on(cb: (...a: A) => void): Unsubscribe {
    // A wrapper per registration, so the same function registered twice is two listeners.
    const entry = (...a: A): void => cb(...a);
    this.cbs.add(entry);
    return () => void this.cbs.delete(entry);
  }

  emit(...a: A): void {
    for (const cb of [...this.cbs]) {
      try {
        cb(...a);
      } catch (e) {
        this.errors++;
        if (this.errors === 1 || this.errors % 1000 === 0) this.log.warn({ what: this.what, errors: this.errors, err: describeError(e) }, 'hil-device: listener threw');
      }
    }
  }
}

export interface ReadingStreamOptions {
  readonly slot: string;
  readonly device: string;
  readonly kind: ReadingKind;
  /** Unix time in ms (default Date.now); rounded to whole ms, the HIL protocol's `ts` is a uint. */
  readonly now?: () => number;
  readonly log?: PortLog;
}

export class ReadingStream {
  private nextSeq = 0;
  private readonly listeners: Listeners<[Reading]>;
  private readonly now: () => number;

  constructor(private readonly o: ReadingStreamOptions) {
    this.now = o.now ?? Date.now;
    this.listeners = new Listeners(`${o.slot}/${o.device} readings`, o.log);
  }

  /** Readings emitted so far (also the next sequence number). */
  get count(): number {
    return this.nextSeq;
  }

  get listenerErrors(): number {
    return this.listeners.errors;
  }

  /** The current time as a reading timestamp. */
  timestamp(): number {
    return Math.max(0, Math.round(this.now()));
  }

  on(cb: (r: Reading) => void): Unsubscribe {
    return this.listeners.on(cb);
  }

  /** Stamps and delivers one reading; seq goes up by one per reading, per device. */
  emit(value: CborValue, source?: Reading['source'], ts = this.timestamp()): Reading {
    const r: Reading = { slot: this.o.slot, device: this.o.device, kind: this.o.kind, seq: this.nextSeq++, ts, value, ...(source !== undefined ? { source } : {}) };
    this.listeners.emit(r);
    return r;
  }
}
