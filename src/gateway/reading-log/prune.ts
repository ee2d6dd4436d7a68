// What leaves the reading log besides a reading's own commit (issue #12): readings every collector
// has receipted (OI §11.5: "the gateway deletes only what receipts cover") and, past the byte
// bound, the oldest readings, counted per slot so a drop is never silent. Both run inside the
// caller's transaction (the batch's commit), so a card sees one commit, not one per purpose.

import type { DatabaseSync } from 'node:sqlite';

/** What a stored reading costs besides its value: keys, ints, index entries (measured order of magnitude). */
export const ROW_OVERHEAD_BYTES = 64;
/** Readings deleted per statement when the bound is exceeded. */
const DROP_CHUNK = 512;

export interface Removed {
  readonly n: number;
  readonly bytes: number;
}

/** Deletes the stored readings up to row id `upTo` and adds them (and `elided` never stored) to the receipted counter. */
export function deleteReceipted(db: DatabaseSync, upTo: number, elided: number): Removed {
  let removed: Removed = { n: 0, bytes: 0 };
  if (upTo > 0) {
    const t = db.prepare('SELECT count(*) AS n, coalesce(sum(length(value)), 0) AS b FROM readings WHERE id <= ?').get(upTo) as { n: number; b: number };
    const n = Number(t.n);
    if (n > 0) {
      db.prepare('DELETE FROM readings WHERE id <= ?').run(upTo);
      removed = { n, bytes: Number(t.b) + n * ROW_OVERHEAD_BYTES };
    }
  }
  countReceipted(db, removed.n + elided);
  return removed;
}

/** Adds `n` to the receipted counter (readings deleted or never stored because receipts covered them). */
export function countReceipted(db: DatabaseSync, n: number): void {
  if (n > 0) db.prepare("INSERT INTO counters (name, n) VALUES ('receipted', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n").run(n);
}

/**
 * Deletes the oldest readings until `bytes` is under `target`, counting them per slot in the
 * `dropped` table (it survives restarts). Returns what was dropped per slot and the bytes and rows
 * that left.
 */
export function dropOldest(db: DatabaseSync, bytes: number, rows: number, target: number): { perSlot: Record<string, number>; bytes: number; rows: number } {
  const total: Record<string, number> = {};
  const oldest = db.prepare('SELECT id, slot, length(value) AS len FROM readings ORDER BY id LIMIT ?');
  const del = db.prepare('DELETE FROM readings WHERE id <= ?');
  const count = db.prepare('INSERT INTO dropped (slot, readings) VALUES (?, ?) ON CONFLICT (slot) DO UPDATE SET readings = readings + excluded.readings');
  while (bytes > target && rows > 0) {
    const chunk = oldest.all(DROP_CHUNK) as { id: number; slot: string; len: number }[];
    if (chunk.length === 0) break;
    const perSlot = new Map<string, number>();
    let last = 0;
    for (const r of chunk) {
      perSlot.set(r.slot, (perSlot.get(r.slot) ?? 0) + 1);
      bytes -= Number(r.len) + ROW_OVERHEAD_BYTES;
      rows--;
      last = Number(r.id);
      if (bytes <= target) break;
    }
    del.run(last);
    for (const [slot, n] of perSlot) {
      count.run(slot, n);
      total[slot] = (total[slot] ?? 0) + n;
    }
  }
  return { perSlot: total, bytes, rows };
}
