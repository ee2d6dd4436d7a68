// The reading log's database (issue #12): SQLite through node:sqlite in WAL mode, its tables, and
// the two choices that decide what a commit costs an SD card. Pages of 1 KiB (set when the file is
// created; an existing file keeps its own): a WAL commit writes every page it touches whole, and a
// batch of a few dozen readings touches the tail of the table and of its index, so the page size,
// not the readings, is most of a small commit's bytes (measured with bench durable-delivery). Row
// ids are given by the log (reading-log.ts), not AUTOINCREMENT, whose sqlite_sequence page every
// commit would write again.

import { DatabaseSync } from 'node:sqlite';
import type { Durability } from '../../config/types.js';
import { MAX_READING_VALUE } from '../../hil/publish-messages.js';

export const LOG_PAGE_SIZE = 1024;
/**
 * SQLite's page cache for the log, in KiB (PRAGMA cache_size, negative = KiB). The default, 2 MB,
 * fills as the log's tail moves on through new pages and stays full: ~2.4 MB of the gateway's
 * malloc heap for pages it will not read again. The log's work touches few pages: the tail of the
 * table and of its index on each commit, the rows after a collector's cursor when it forwards; the
 * OS page cache serves a miss.
 */
export const LOG_CACHE_KIB = 256;
/**
 * The WAL's share of the log's byte bound: SQLite checkpoints it back into the database once it
 * holds maxBytes / WAL_SHARE of pages (at most its default 1000 pages, at least WAL_MIN_PAGES), and
 * truncates the file to that at the next reset (journal_size_limit). Without the limit the file kept
 * the size of the largest transaction it ever held (the commit of a whole backlog after a disk
 * outage, pending.ts); at 1000 pages against max_mb 1 it doubled what the log took on disk.
 */
const WAL_SHARE = 16;
const WAL_MIN_PAGES = 16;
/** A WAL frame's header, and the WAL file's (sqlite.org/fileformat.html "WAL File Format"). */
const WAL_FRAME_HEADER = 24;
const WAL_HEADER = 32;
/** The partial index of the values no publish message carries (over MAX_READING_VALUE). */
export const TOO_LARGE_INDEX = 'readings_too_large';
/** What that index holds: the readings whose value no publish message carries. */
export const TOO_LARGE_SQL = `length(value) > ${MAX_READING_VALUE}`;

/**
 * The readings table as a query of the values over MAX_READING_VALUE (TOO_LARGE_SQL) reads it:
 * through their partial index, named, since SQLite without statistics (no ANALYZE) does not choose
 * a partial index for an ORDER BY id: the byte bound's first pass scanned the whole table at every
 * prune (452 ms at a million rows, against 0.44 ms through the index). Without the index (a log
 * written before it, opened on a full card: openLogDatabase) the table itself, scanned, until an
 * open builds it.
 */
export function tooLargeSource(db: DatabaseSync): string {
  const has = db.prepare("SELECT 1 AS one FROM sqlite_master WHERE type = 'index' AND name = ?").get(TOO_LARGE_INDEX) !== undefined;
  return has ? `readings INDEXED BY ${TOO_LARGE_INDEX}` : 'readings';
}

export function openLogDatabase(file: string, durability: Durability, maxBytes: number): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec(`PRAGMA page_size = ${LOG_PAGE_SIZE}`);
  db.exec('PRAGMA journal_mode = WAL');
  const pageSize = Number((db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
  const walPages = Math.max(WAL_MIN_PAGES, Math.min(1000, Math.floor(maxBytes / WAL_SHARE / pageSize)));
  db.exec(`PRAGMA wal_autocheckpoint = ${walPages}`);
  db.exec(`PRAGMA journal_size_limit = ${WAL_HEADER + walPages * (WAL_FRAME_HEADER + pageSize)}`);
  db.exec(`PRAGMA cache_size = -${LOG_CACHE_KIB}`);
  db.exec(`PRAGMA synchronous = ${durability === 'off' ? 'OFF' : 'FULL'}`);
  db.exec(`CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY, slot TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL,
    epoch INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, value BLOB NOT NULL, source TEXT,
    UNIQUE (slot, epoch, seq))`);
  // The values no publish message carries, kept for no collector (backlog.ts) and dropped first by
  // the byte bound (prune.ts): a partial index holds only them, so finding them reads a few entries,
  // not the table. Built once, when a log written before it is opened: a write, which a full card
  // refuses; the log opens all the same (tooLargeSource() then reads the table) and a later open,
  // with room, builds it.
  try {
    db.exec(`CREATE INDEX IF NOT EXISTS ${TOO_LARGE_INDEX} ON readings (slot) WHERE ${TOO_LARGE_SQL}`);
  } catch {
    // not built: a full card (SQLITE_FULL), or a lock another process holds
  }
  db.exec('CREATE TABLE IF NOT EXISTS dropped (slot TEXT PRIMARY KEY, readings INTEGER NOT NULL)');
  db.exec('CREATE TABLE IF NOT EXISTS cursors (collector TEXT PRIMARY KEY, id INTEGER NOT NULL)');
  db.exec('CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)');
  // Newer than readings, dropped, cursors and counters (fe9908b): for a log written before it, a
  // write, which a full card refuses, as the index's. The log opens without it, holding no slot's
  // coverage (a log of that age never recorded one), and the first commit that stores one makes it
  // (receipt-cursors.ts).
  try {
    createSlotCursors(db);
  } catch {
    // not made: a full card (SQLITE_FULL), or a lock another process holds
  }
  return db;
}

/** The slots a collector's windows passed over, each covered by its receipts only up to `id` (receipt-cursors.ts). */
export const SLOT_CURSORS = 'slot_cursors';

export function createSlotCursors(db: DatabaseSync): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${SLOT_CURSORS} (collector TEXT NOT NULL, slot TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (collector, slot)) WITHOUT ROWID`);
}
