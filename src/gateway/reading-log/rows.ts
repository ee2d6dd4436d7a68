// The reading log's rows (issue #12): a reading as the log keeps it, with its row id, and the
// pending ones with when they were appended; how stored rows are read back.

import type { WireReading } from '../../hil/publish-messages.js';

/** One reading as the log keeps it: what a publish row carries (`value` its canonical CBOR), and its source. */
export interface LoggedReading extends WireReading {
  /** What the reading exposes (register range or topic) as JSON, so a Grant can be checked on history. */
  readonly source?: string;
}

/** A reading with its row id (given at append): the log's append order across slots. */
export interface CommittedReading extends LoggedReading {
  readonly id: number;
}

/** A reading appended and not committed yet, with when (the clock's ms). */
export interface PendingReading extends CommittedReading {
  readonly at: number;
  /** Something waits for its commit (an MQTT acknowledgement): dropped last (pending.ts). */
  readonly held?: true;
  /** Held, and its source sends it again if it is dropped unstored (a broker's persistent session): not counted lost. */
  readonly resent?: true;
}

/** A position in one slot's readings: the next (epoch, seq) to read. */
export interface LogPosition {
  readonly epoch: number;
  readonly seq: number;
}

export interface RawRow {
  slot: string;
  device: string;
  kind: string;
  epoch: number;
  seq: number;
  ts: number;
  value: Uint8Array;
  source: string | null;
}

export function fromRow(r: RawRow): LoggedReading {
  const out = { slot: r.slot, device: r.device, kind: r.kind, epoch: Number(r.epoch), seq: Number(r.seq), ts: Number(r.ts), value: new Uint8Array(r.value) };
  return r.source === null ? out : { ...out, source: r.source };
}

export function logged(r: PendingReading): LoggedReading {
  const out = { slot: r.slot, device: r.device, kind: r.kind, epoch: r.epoch, seq: r.seq, ts: r.ts, value: r.value };
  return r.source === undefined ? out : { ...out, source: r.source };
}

export function withId(r: PendingReading): CommittedReading {
  return { ...logged(r), id: r.id };
}

/** a comes before position b in one slot's (epoch, seq) order. */
export function before(a: LogPosition, b: LogPosition): boolean {
  return a.epoch < b.epoch || (a.epoch === b.epoch && a.seq < b.seq);
}
