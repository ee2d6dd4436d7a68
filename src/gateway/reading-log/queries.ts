// What the reading log is read for: an operator's tail from an (epoch, seq), a publisher's next
// window after a row id, a collector's backfill of a seq range. Each reads the committed rows, then
// the pending batch (whose ids are above every committed one: commits take the oldest first), and
// never forces a commit.

import type { DatabaseSync } from 'node:sqlite';
import { before, fromRow, logged, withId, type CommittedReading, type LoggedReading, type LogPosition, type PendingReading, type RawRow } from './rows.js';

type Pending = readonly PendingReading[];

/** Readings of `slot` from (epoch, seq) on, in append order, at most `limit`. */
export function readSlot(db: DatabaseSync, pending: Pending, slot: string, from: LogPosition, limit: number): LoggedReading[] {
  const rows = (db
    .prepare('SELECT slot, device, kind, epoch, seq, ts, value, source FROM readings WHERE slot = ? AND (epoch > ? OR (epoch = ? AND seq >= ?)) ORDER BY id LIMIT ?')
    .all(slot, from.epoch, from.epoch, from.seq, limit) as unknown as RawRow[]).map(fromRow);
  if (rows.length >= limit) return rows;
  const last = rows.at(-1);
  for (const r of pending) {
    if (rows.length >= limit) break;
    if (r.slot !== slot || before(r, from) || (last !== undefined && !before(last, r))) continue;
    rows.push(logged(r));
  }
  return rows;
}

/** Readings after row id `afterId`, in append order, at most `limit` (what a publisher pushes). */
export function readAfterId(db: DatabaseSync, pending: Pending, afterId: number, limit: number): CommittedReading[] {
  const rows = db.prepare('SELECT id, slot, device, kind, epoch, seq, ts, value, source FROM readings WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as unknown as (RawRow & { id: number })[];
  const out = rows.map((r) => ({ ...fromRow(r), id: Number(r.id) }));
  for (const r of pending) {
    if (out.length >= limit) break;
    if (r.id > afterId) out.push(withId(r));
  }
  return out;
}

/** Readings of `slot` with seq in [first, last] of `epoch` (a collector's backfill request), at most `limit`. */
export function readSeqRange(db: DatabaseSync, pending: Pending, slot: string, epoch: number, first: number, last: number, limit: number): CommittedReading[] {
  const rows = db
    .prepare('SELECT id, slot, device, kind, epoch, seq, ts, value, source FROM readings WHERE slot = ? AND epoch = ? AND seq BETWEEN ? AND ? ORDER BY id LIMIT ?')
    .all(slot, epoch, first, last, limit) as unknown as (RawRow & { id: number })[];
  const out = rows.map((r) => ({ ...fromRow(r), id: Number(r.id) }));
  for (const r of pending) {
    if (out.length >= limit) break;
    if (r.slot === slot && r.epoch === epoch && r.seq >= first && r.seq <= last) out.push(withId(r));
  }
  return out;
}
