// What leaves the reading log besides a reading's own commit (issue #12): readings every collector
// has receipted (OI §11.5: "the gateway deletes only what receipts cover") and, past the byte
// bound, the oldest readings, counted per slot so a drop is never silent. Both run inside the
// caller's transaction (the batch's commit), so a card sees one commit, not one per purpose.

import type { DatabaseSync } from 'node:sqlite';
import { READING_BYTES_SQL } from './log-size.js';

/** At most this many readings are looked at per step when the bound is exceeded. */
const DROP_CHUNK = 512;

/** Adds `n` to the receipted counter (readings deleted or never stored because receipts covered them). */
export function countReceipted(db: DatabaseSync, n: number): void {
  if (n > 0) db.prepare("INSERT INTO counters (name, n) VALUES ('receipted', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n").run(n);
}

/**
 * Deletes the oldest readings until `inUse()` (the bytes the database's pages hold, log-size.ts) is
 * at most `target`, counting them per slot in the `dropped` table (it survives restarts). Each
 * step deletes the oldest readings whose estimated bytes (READING_BYTES_SQL) make up what is still
 * over, then measures again: a row's pages are freed only once whole pages empty, so a step may
 * free less than its estimate and the next takes more. Returns what was dropped per slot, how many
 * rows left, and the bytes in use after.
 */
export function dropOldest(db: DatabaseSync, inUse: () => number, target: number): { perSlot: Record<string, number>; rows: number; bytes: number } {
  const total: Record<string, number> = {};
  const oldest = db.prepare(`SELECT id, slot, ${READING_BYTES_SQL} AS est FROM readings ORDER BY id LIMIT ?`);
  const del = db.prepare('DELETE FROM readings WHERE id <= ?');
  const count = db.prepare('INSERT INTO dropped (slot, readings) VALUES (?, ?) ON CONFLICT (slot) DO UPDATE SET readings = readings + excluded.readings');
  let rows = 0;
  let bytes = inUse();
  while (bytes > target) {
    const chunk = oldest.all(DROP_CHUNK) as { id: number; slot: string; est: number }[];
    if (chunk.length === 0) break;
    const perSlot = new Map<string, number>();
    let over = bytes - target;
    let last = 0;
    for (const r of chunk) {
      perSlot.set(r.slot, (perSlot.get(r.slot) ?? 0) + 1);
      rows++;
      last = Number(r.id);
      over -= Number(r.est);
      if (over <= 0) break;
    }
    del.run(last);
    for (const [slot, n] of perSlot) {
      count.run(slot, n);
      total[slot] = (total[slot] ?? 0) + n;
    }
    bytes = inUse();
  }
  return { perSlot: total, rows, bytes };
}
