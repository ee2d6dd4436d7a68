// What the log holds for whom, as `uzpgw status` shows it (docs/CONFIG.md "The bound"): per
// collector the readings awaiting its receipt, and the readings kept for no collector.
//
// Awaiting a collector's receipt: the readings it may still be sent — of the slots it may receive
// now, after its position in each (its cursor, or lower for a slot its windows passed over and it
// receives again: receipt-cursors.ts resumeAt), no larger than a publish message carries
// (MAX_READING_VALUE). Every reading after its cursor, those of slots outside its consent
// included, made a backlog that never drains and could not be told from one that does. A count in
// SQLite reads every row it counts, and status is written every 30 s: the committed part is
// counted once over its row id range, then only the rows committed since, while the collector's
// slots and positions stay and no delete reached above its lowest position (deleted()). A
// collector away with the log full then costs each write the rows that came since, not the log.
//
// Kept for no collector: the committed readings of slots no configured collector may receive now,
// and values no publish message carries; the byte bound drops them first (prune.ts), and they are
// why a log whose collectors keep up can be full. Counted from the log's per-slot counts
// (slot-counts.ts) and a partial index that holds the large values only (schema.ts; a scan of the
// table on a log whose open could not build it).

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { MAX_READING_VALUE } from '../../hil/publish-messages.js';
import { receivedByNone, type AudienceEntry, type Coverage } from './receipt-floors.js';
import type { PendingReading } from './rows.js';
import { TOO_LARGE_SQL, tooLargeSource } from './schema.js';
import type { SlotCounts } from './slot-counts.js';

/** A collector's count over committed rows: its slots and positions (`key`), the lowest of them, the rows up to `upTo`. */
interface Counted {
  readonly key: string;
  readonly from: number;
  upTo: number;
  n: number;
}

export class Backlogs {
  private readonly counted = new Map<string, Counted>();
  private readonly tooLarge: StatementSync;

  constructor(
    private readonly db: DatabaseSync,
    private readonly counts: SlotCounts,
  ) {
    // Through their partial index, or by a scan of the table when a full card kept it from being built (schema.ts).
    this.tooLarge = db.prepare(`SELECT slot, count(*) AS n FROM ${tooLargeSource(db)} WHERE ${TOO_LARGE_SQL} GROUP BY slot`);
  }

  /** A committed delete took readings with row ids up to `upTo`: counts over a range above their lowest position are stale. */
  deleted(upTo: number): void {
    for (const [collector, c] of this.counted) if (upTo > c.from) this.counted.delete(collector);
  }

  /**
   * Readings `collector` (covered by its receipts as `coverage`) may receive and is still owed:
   * the committed ones (every reading up to row id `committedTo` that will ever be stored is),
   * then the `pending` ones.
   */
  owed(collector: string, coverage: Coverage, receives: (slot: string) => boolean, committedTo: number, pending: readonly PendingReading[]): number {
    const positions = new Map<string, number>();
    for (const slot of this.counts.slots) if (receives(slot)) positions.set(slot, coverage.behind.get(slot) ?? coverage.cursor);
    if (positions.size === 0) return 0;
    let n = this.committed(collector, positions, committedTo);
    for (const r of pending) {
      const at = positions.get(r.slot);
      if (at !== undefined && r.id > at && r.value.length <= MAX_READING_VALUE) n++;
    }
    return n;
  }

  /** The committed readings after `positions`, up to row id `upTo`: counted again, or only those committed since. */
  private committed(collector: string, positions: ReadonlyMap<string, number>, upTo: number): number {
    const key = JSON.stringify([...positions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let c = this.counted.get(collector);
    if (c?.key !== key) {
      c = { key, from: Math.min(...positions.values()), upTo: -Infinity, n: 0 };
      this.counted.set(collector, c);
    }
    if (upTo > c.upTo) {
      c.n += this.countRange(positions, c.upTo, upTo);
      c.upTo = upTo;
    }
    return c.n;
  }

  /** Rows with id in (after, upTo], each after its slot's position in `positions`, a message can carry. */
  private countRange(positions: ReadonlyMap<string, number>, after: number, upTo: number): number {
    const bySlots = new Map<number, string[]>();
    for (const [slot, at] of positions) bySlots.set(at, [...(bySlots.get(at) ?? []), slot]);
    let n = 0;
    for (const [at, slots] of bySlots) {
      const lo = Math.max(at, after);
      if (lo >= upTo) continue;
      // `+slot`: the row id range, not the slot index (each slot's whole history).
      const row = this.db
        .prepare(`SELECT count(*) AS n FROM readings WHERE id > ? AND id <= ? AND length(value) <= ${MAX_READING_VALUE} AND +slot IN (${slots.map(() => '?').join(', ')})`)
        .get(lo, upTo, ...slots) as { n: number };
      n += Number(row.n);
    }
    return n;
  }

  /** Committed readings no collector of `audience` may receive now, or too large for any message. */
  forNobody(audience: readonly AudienceEntry[]): number {
    const none = new Set(receivedByNone(audience, this.counts.slots));
    let n = 0;
    for (const slot of none) n += this.counts.of(slot);
    for (const r of this.tooLarge.all() as { slot: string; n: number }[]) if (!none.has(r.slot)) n += Number(r.n);
    return n;
  }
}
