// Every reading of every device into the reading log, once (issue #12: "every reading appended
// once"): the one subscriber of the devices' reading streams that the rest of the gateway reads
// through. `tail` channels and publishers read the log and wait here for the next append, so a
// reader that fell behind (backpressure, an outage) catches up from the log instead of losing what
// it missed.
// Settling (issue #12 "nothing lost"): a reading with `settled` (an MQTT message whose PUBACK
// waits for it) is settled once it is safe: stored by a commit (in durability full during its own
// append, whose commit fsyncs; in batch and off by the timed commit that reaches it) or receipted
// by every collector first (reading-log.ts). A reading whose append threw stays pending in the log
// and is settled after the commit that finally takes it. The log drops readings that wait to be
// settled last while its disk fails (pending.ts: MAX_PENDING, MAX_PENDING_BYTES); one it drops all
// the same is never settled (its MQTT message stays unacknowledged: the broker keeps it and sends
// it again on the next connection), rather than settled by a later commit as though it were
// stored. Its `lost` is called at the next commit, when the disk takes readings again (an MQTT
// bridge reconnects then: unacknowledged messages would otherwise hold the broker's window until
// the connection drops).

import type { HilDevice, Reading, Unsubscribe } from '../../hil/device.js';
import { Listeners } from '../../hil-devices/readings.js';
import { Ring } from '../../lib/ring.js';
import { encodeCanonical } from '../../uzp/cbor.js';
import type { LoggedReading, LogPosition, ReadingLog } from './reading-log.js';

/** Readings carry physical quantities: finite floats allowed, as on the HIL wire (hil/messages.ts). */
const VALUE_CBOR = { floats: true } as const;
/**
 * Settles waiting that make the recorder commit without waiting for batch_ms. A broker sends no
 * more than its in-flight window of unacknowledged QoS >= 1 messages per client (mosquitto's
 * max_inflight_messages, default 20), so waiting the whole batch_ms would cap an MQTT slot at
 * window / batch_ms (100 msg/s at 20 and 200 ms). Committing at 16, below that default window,
 * acks before the window fills: at most one commit per 16 such readings, and while fewer than 16
 * arrive per batch_ms the commits stay one per batch_ms, as without MQTT.
 */
export const SETTLE_FLUSH_AT = 16;

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
  /** `settled` of readings appended and not yet committed, by row id, oldest first. */
  private readonly unsettled = new Ring<{ readonly id: number; readonly settle: () => void; readonly lost: (() => void) | undefined }>();
  /** `lost` of readings dropped unstored, called at the next commit (each distinct function once). */
  private readonly lostWaiting = new Set<() => void>();
  /** Readings the log dropped unstored whose `settled` was therefore never called. */
  unacknowledged = 0;
  /** Appends and early commits that threw (the readings stayed pending, or the append was refused). */
  errors = 0;

  constructor(private readonly o: RecorderOptions) {}

  get log(): ReadingLog {
    return this.o.log;
  }

  get epoch(): number {
    return this.o.epoch;
  }

  start(): void {
    // A commit makes every reading up to a row id safe (pending or retried): those waiting settle.
    this.offs.push(this.o.log.onCommit((_added, durableTo) => this.settle(durableTo)));
    this.offs.push(this.o.log.onDropped((id) => this.forget(id)));
    for (const d of this.o.devices.values()) this.offs.push(d.onReading((r) => this.record(r)));
  }

  /** Readings appended whose `settled` waits for a commit. */
  get unsettledCount(): number {
    return this.unsettled.length;
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
    // Queued before append, under the id the append gives it: in durability full the append's own commit settles it.
    if (r.settled !== undefined) this.unsettled.push({ id: this.o.log.nextId, settle: r.settled, lost: r.lost });
    try {
      this.o.log.append(
        {
          slot: r.slot,
          device: r.device,
          kind: r.kind,
          epoch: this.o.epoch,
          seq: r.seq,
          ts: r.ts,
          value: encodeCanonical(r.value, VALUE_CBOR),
          ...(r.source !== undefined ? { source: JSON.stringify(r.source) } : {}),
        },
        r.settled !== undefined,
        r.resent === true,
      );
    } catch (e) {
      this.errors++;
      this.o.onError(e);
    }
    // Not while the log's last commit failed: its timed retry comes within batch_ms (commit-timer.ts).
    if (this.unsettledCount >= SETTLE_FLUSH_AT && !this.o.log.failing) this.flushEarly();
    this.appended.emit(r.slot);
  }

  private flushEarly(): void {
    try {
      this.o.log.flush();
    } catch (e) {
      this.errors++;
      this.o.onError(e);
    }
  }

  /** Readings up to row id `id` were dropped unstored: their `settled` waits no more, and is never called. */
  private forget(id: number): void {
    while ((this.unsettled.peek()?.id ?? Infinity) <= id) {
      const { lost } = this.unsettled.shift()!;
      if (lost !== undefined) this.lostWaiting.add(lost);
      this.unacknowledged++;
    }
  }

  private settle(durableTo: number): void {
    const due: (() => void)[] = [];
    while ((this.unsettled.peek()?.id ?? Infinity) <= durableTo) due.push(this.unsettled.shift()!.settle);
    // The disk takes readings again: sources of readings it lost may send them now.
    for (const lost of this.lostWaiting) due.push(lost);
    this.lostWaiting.clear();
    for (const settle of due) {
      try {
        settle();
      } catch (e) {
        this.o.onError(e);
      }
    }
  }
}
