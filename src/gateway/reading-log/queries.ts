// What the reading log is read for: an operator's tail from an (epoch, seq), a publisher's next
// window after a row id, a collector's backfill of a seq range. Each reads the committed rows, then
// the pending batch (whose ids are above every committed one: commits take the oldest first), and
// never forces a commit.

import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
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

/**
 * How many of the rows whose value lengths are `lengths` (in order) make the longest prefix within
 * `maxBytes`, at least one. Lengths come from SQLite without the values (length() of a blob reads
 * only the record header), so a window of 256 KiB reads its 256 KiB, not up to 512 values of up to
 * 512 KiB each that the caller would then cut away.
 */
function prefixWithin(lengths: readonly { readonly n: number }[], maxBytes: number): { count: number; bytes: number } {
  let bytes = 0;
  let count = 0;
  while (count < lengths.length && (count === 0 || bytes + Number(lengths[count]!.n) <= maxBytes)) bytes += Number(lengths[count++]!.n);
  return { count, bytes };
}

/** The committed rows of a publisher's window, bound as (afterId, limit). */
const AFTER_QUERY_TAIL = 'FROM readings WHERE id > ? ORDER BY id LIMIT ?';

/** The rows of a range read, bound as (slot, epoch, first, last, limit); exported for its query-plan test. */
export const RANGE_QUERY_TAIL = 'FROM readings WHERE slot = ? AND epoch = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?';

/**
 * The committed rows of `tail` (bound by `params`, then the limit), then the pending ones `match`
 * takes: at most `limit` and the longest prefix within `maxBytes` (at least one); `more` when some
 * were left for a next read.
 */
function boundedRead(db: DatabaseSync, pending: Pending, tail: string, params: readonly SQLInputValue[], match: (r: PendingReading) => boolean, limit: number, maxBytes: number): { rows: CommittedReading[]; more: boolean } {
  const lengths = db.prepare(`SELECT length(value) AS n ${tail}`).all(...params, limit + 1) as unknown as { n: number }[];
  const { count, bytes } = prefixWithin(lengths.slice(0, limit), maxBytes);
  const rows = count === 0 ? [] : (db.prepare(`SELECT id, slot, device, kind, epoch, seq, ts, value, source ${tail}`).all(...params, count) as unknown as (RawRow & { id: number })[]);
  const out = rows.map((r) => ({ ...fromRow(r), id: Number(r.id) }));
  if (count < lengths.length) return { rows: out, more: true };
  let used = bytes;
  for (const r of pending) {
    if (!match(r)) continue;
    if (out.length >= limit || (out.length > 0 && used + r.value.length > maxBytes)) return { rows: out, more: true };
    used += r.value.length;
    out.push(withId(r));
  }
  return { rows: out, more: false };
}

/** Readings after row id `afterId`, in append order, at most `limit` and the longest prefix within `maxBytes` (at least one): what a publisher pushes. */
export function readAfterId(db: DatabaseSync, pending: Pending, afterId: number, limit: number, maxBytes = Infinity): CommittedReading[] {
  return boundedRead(db, pending, AFTER_QUERY_TAIL, [afterId], (r) => r.id > afterId, limit, maxBytes).rows;
}

/**
 * Readings of `slot` with seq in [first, last] of `epoch` (a collector's backfill request), in seq
 * order, at most `limit` and the longest prefix within `maxBytes` (at least one); `more` when
 * readings of the range were left for a next read. In seq order by the (slot, epoch, seq) index: a
 * request for [0, 2^53) read the whole remaining range into a sort at every read (quadratic in a
 * long backlog), where the index gives the order and the limit stops the scan.
 */
export function readSeqRange(db: DatabaseSync, pending: Pending, slot: string, epoch: number, first: number, last: number, limit: number, maxBytes = Infinity): { rows: CommittedReading[]; more: boolean } {
  return boundedRead(db, pending, RANGE_QUERY_TAIL, [slot, epoch, first, last], (r) => r.slot === slot && r.epoch === epoch && r.seq >= first && r.seq <= last, limit, maxBytes);
}
