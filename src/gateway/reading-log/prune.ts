// What leaves the reading log past its byte bound (issue #12): readings no collector may receive
// first, then the oldest of any slot, counted per slot so a drop is never silent; and the counter
// of readings that left on receipts (their deletes: receipt-floors.ts, OI §11.5). Both run inside
// the caller's transaction (the batch's commit), so a card sees one commit, not one per purpose.

import type { DatabaseSync } from 'node:sqlite';
import { READING_BYTES_SQL } from './log-size.js';
import { TOO_LARGE_SQL, tooLargeSource } from './schema.js';

/** At most this many readings are looked at per step when the bound is exceeded. */
const DROP_CHUNK = 512;

/** Adds `n` to the receipted counter (readings deleted or never stored because receipts covered them). */
export function countReceipted(db: DatabaseSync, n: number): void {
  if (n > 0) db.prepare("INSERT INTO counters (name, n) VALUES ('receipted', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n").run(n);
}

/**
 * Readings the byte bound drops before any other: those no configured collector may ever receive
 * (`slots`: outside every collector's consent; values over MAX_READING_VALUE, which no message can
 * carry). Receipts never delete them (receipt-floors.ts), so a busy unpublished slot fills the log
 * to its bound; dropped last, they would push out unreceipted readings a collector is owed the
 * moment it is away.
 */
export interface NobodysReadings {
  readonly slots: readonly string[];
}

/**
 * Deletes the oldest readings until `inUse()` (the bytes the database's pages hold, log-size.ts) is
 * at most `target` — first those of `nobodys` (the values no message carries, then the oldest of
 * its slots), then any — counting them per slot in the `dropped` table (it survives restarts). Each
 * step deletes the oldest readings whose estimated bytes (READING_BYTES_SQL) make up what is still
 * over, then measures again: a row's pages are freed only once whole pages empty, so a step may
 * free less than its estimate and the next takes more. Returns what was dropped per slot, how many
 * rows left, the highest row id among them, and the bytes in use after.
 */
export function dropOldest(db: DatabaseSync, inUse: () => number, target: number, nobodys?: NobodysReadings): { perSlot: Record<string, number>; rows: number; upTo: number; bytes: number } {
  const total: Record<string, number> = {};
  let upTo = 0;
  const count = db.prepare('INSERT INTO dropped (slot, readings) VALUES (?, ?) ON CONFLICT (slot) DO UPDATE SET readings = readings + excluded.readings');
  let rows = 0;
  let bytes = inUse();
  // The oldest rows of `from` (the table, or the table through an index) that `filter` selects.
  const drop = (from: string, filter: string, params: readonly string[]): void => {
    const oldest = db.prepare(`SELECT id, slot, ${READING_BYTES_SQL} AS est FROM ${from}${filter === '' ? '' : ` WHERE ${filter}`} ORDER BY id LIMIT ?`);
    const del = db.prepare(`DELETE FROM ${from} WHERE id <= ?${filter === '' ? '' : ` AND (${filter})`}`);
    while (bytes > target) {
      const chunk = oldest.all(...params, DROP_CHUNK) as { id: number; slot: string; est: number }[];
      if (chunk.length === 0) return;
      const perSlot = new Map<string, number>();
      let over = bytes - target;
      let last = 0;
      let taken = 0;
      for (const r of chunk) {
        perSlot.set(r.slot, (perSlot.get(r.slot) ?? 0) + 1);
        last = Number(r.id);
        taken++;
        over -= Number(r.est);
        if (over <= 0) break;
      }
      rows += Number(del.run(last, ...params).changes);
      upTo = Math.max(upTo, last);
      for (const [slot, k] of perSlot) {
        count.run(slot, k);
        total[slot] = (total[slot] ?? 0) + k;
      }
      bytes = inUse();
      // A short chunk taken whole was all there was: no query again for none (a scan, unindexed).
      if (chunk.length < DROP_CHUNK && taken === chunk.length) return;
    }
  };
  if (nobodys !== undefined) {
    // Through their partial index (tooLargeSource), not a scan of the table at every prune.
    drop(tooLargeSource(db), TOO_LARGE_SQL, []);
    // `+slot`: in row id order until the chunk is full, not every row of the slots sorted (their index).
    const slots = nobodys.slots;
    if (slots.length > 0) drop('readings', `+slot IN (${slots.map(() => '?').join(', ')})`, slots);
  }
  drop('readings', '', []);
  return { perSlot: total, rows, upTo, bytes };
}
