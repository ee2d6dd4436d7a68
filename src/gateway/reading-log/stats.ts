// What the reading log says of itself (ReadingLog.stats(): the status file's reading_log line, the
// `reading_log.opened` log line, each collector's announcement `dropped`): the counters it keeps in
// its database, which survive restarts, with what only memory holds — the pending queue, the
// readings it dropped unstored, the readings receipted before their commit not yet counted.

import type { DatabaseSync } from 'node:sqlite';
import type { PendingBatch } from './pending.js';

export interface ReadingLogStats {
  readonly readings: number;
  /** The database's pages in use, in bytes, as last measured plus an estimate of what was stored since (log-size.ts). */
  readonly bytes: number;
  readonly maxBytes: number;
  /** Readings lost unpublished, per slot: deleted by the byte bound since the log was created, and pendingDropped. */
  readonly dropped: Readonly<Record<string, number>>;
  /**
   * Of `dropped`, the readings dropped unstored from the pending queue since the log was opened (in
   * memory): beyond its bounds while commits failed, or pending when a close's last commit failed;
   * absent when none.
   */
  readonly pendingDropped?: Readonly<Record<string, number>>;
  /** Appended but not committed yet (batch and off; any mode while commits fail). */
  readonly pending: number;
  /** Their bytes as pending.ts counts them (readingBytes), at most the pending byte bound. */
  readonly pendingBytes: number;
  /** Readings deleted because every collector's receipts covered them, since the log was created. */
  readonly receipted: number;
  /** Committed transactions SQLite discarded after a damaged WAL frame (wal-check.ts), since the log was created; absent when none. */
  readonly walDiscarded?: number;
  /** Commits have failed since `since` (wall ms), the last with `error`; absent once one succeeds. */
  readonly commitFailing?: { readonly since: number; readonly error: string };
}

/** What the log knows besides its database. */
export interface InMemory {
  readonly readings: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly pending: PendingBatch;
  /** Readings receipted before their commit, not yet added to the stored counter. */
  readonly elided: number;
  readonly commitFailing: ReadingLogStats['commitFailing'];
}

export function readStats(db: DatabaseSync, m: InMemory): ReadingLogStats {
  const dropped: Record<string, number> = {};
  for (const d of db.prepare('SELECT slot, readings FROM dropped').all() as { slot: string; readings: number }[]) dropped[d.slot] = Number(d.readings);
  for (const [slot, n] of m.pending.dropped) dropped[slot] = (dropped[slot] ?? 0) + n;
  const counter = (name: string): number => Number((db.prepare('SELECT n FROM counters WHERE name = ?').get(name) as { n: number } | undefined)?.n ?? 0);
  const walDiscarded = counter('wal_discarded');
  return {
    readings: m.readings,
    bytes: m.bytes,
    maxBytes: m.maxBytes,
    dropped,
    ...(m.pending.dropped.size > 0 ? { pendingDropped: Object.fromEntries(m.pending.dropped) } : {}),
    pending: m.pending.length,
    pendingBytes: m.pending.bytes,
    receipted: counter('receipted') + m.elided,
    ...(m.commitFailing !== undefined ? { commitFailing: m.commitFailing } : {}),
    ...(walDiscarded > 0 ? { walDiscarded } : {}),
  };
}
