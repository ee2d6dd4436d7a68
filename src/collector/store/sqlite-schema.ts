// The SQLite store's tables (sqlite.ts) and the statements of its per-window path, kept apart from
// the store so each file has one job: what the database holds, and how the store uses it.

import type { DatabaseSync } from 'node:sqlite';
import { hasTable } from '../../lib/sqlite-tables.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS readings (
    gateway TEXT NOT NULL, slot TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL,
    epoch INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, value BLOB NOT NULL,
    UNIQUE (gateway, slot, epoch, seq));
  CREATE INDEX IF NOT EXISTS readings_ts ON readings (ts);
  CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, gateway TEXT NOT NULL,
    event TEXT NOT NULL, detail TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS audit_gateway ON audit (gateway, id);
  CREATE INDEX IF NOT EXISTS audit_event ON audit (event, id);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  -- A reading resent with other content (conflicts.ts): the copy sent, kept as long as the reading.
  CREATE TABLE IF NOT EXISTS reading_conflicts (
    gateway TEXT NOT NULL, slot TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,
    at INTEGER, sent_device TEXT, sent_kind TEXT, sent_ts INTEGER, sent_sha256 TEXT,
    PRIMARY KEY (gateway, slot, epoch, seq)) WITHOUT ROWID;
  -- Whatever deletes a reading (a revocation's chunk, retention) deletes its conflict row in the
  -- same statement, so in the same transaction.
  CREATE TRIGGER IF NOT EXISTS reading_conflicts_go AFTER DELETE ON readings BEGIN
    DELETE FROM reading_conflicts WHERE gateway = OLD.gateway AND slot = OLD.slot AND epoch = OLD.epoch AND seq = OLD.seq;
  END;
  -- A revocation recorded before its readings are deleted (store.ts revoke()); slots: a JSON array,
  -- NULL for every slot. Kept once done: the count answers a revocation the gateway sends again.
  CREATE TABLE IF NOT EXISTS revocations (
    revocation TEXT PRIMARY KEY, gateway TEXT NOT NULL, slots TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0);
  CREATE INDEX IF NOT EXISTS revocations_undone ON revocations (gateway) WHERE done = 0;`;

/**
 * Readings stored and the newest ts per (gateway, slot), kept in the same transaction as every
 * insert and delete: the console's fleet, gateway and slot views read it (slotSummaries()). A
 * GROUP BY over readings — even over an index covering (gateway, slot, ts) — visits every reading,
 * synchronously (node:sqlite): 9-11 s of a blocked event loop at 2M readings, intake and receipts
 * included. This table is one row per slot: reading it costs the number of slots; keeping it, one
 * upsert per slot a batch touches.
 */
const SUMMARY_SCHEMA = `
  CREATE TABLE slot_summary (
    gateway TEXT NOT NULL, slot TEXT NOT NULL, readings INTEGER NOT NULL, newest INTEGER NOT NULL,
    PRIMARY KEY (gateway, slot)) WITHOUT ROWID;
  INSERT INTO slot_summary (gateway, slot, readings, newest)
    SELECT gateway, slot, count(*), max(ts) FROM readings GROUP BY gateway, slot;`;

export const INSERT_READING = 'INSERT OR IGNORE INTO readings (gateway, slot, device, kind, epoch, seq, ts, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';
export const SUMMARY_ADD = 'INSERT INTO slot_summary (gateway, slot, readings, newest) VALUES (?, ?, ?, ?) ON CONFLICT (gateway, slot) DO UPDATE SET readings = readings + excluded.readings, newest = max(newest, excluded.newest)';
/**
 * A duplicate compared with its stored copy in SQLite, not in JS (conflicts.ts): whether a conflict
 * of its identity is recorded already (then nothing is compared), and else its device, kind, ts
 * and whether the values are equal — their lengths first (length() of a BLOB reads the record
 * header, not the value), the bytes only when those match. Fetching the stored copy whole for every
 * duplicate read up to 512 KiB into JS per reading: a window of 4,096 tiny readings reusing the
 * identity of one large one held the event loop for seconds. Parameters: gateway, slot, epoch, seq,
 * the sent value's length, the sent value.
 */
export const STORED_MATCH = `SELECT EXISTS (SELECT 1 FROM reading_conflicts WHERE gateway = ?1 AND slot = ?2 AND epoch = ?3 AND seq = ?4) AS known, device, kind, ts,
    CASE WHEN length(value) = ?5 THEN value = ?6 ELSE 0 END AS same_value
  FROM readings WHERE gateway = ?1 AND slot = ?2 AND epoch = ?3 AND seq = ?4`;
/** A conflict's row, once per identity (conflicts.ts), with the copy sent again. */
export const CONFLICT_ONCE = 'INSERT OR IGNORE INTO reading_conflicts (gateway, slot, epoch, seq, at, sent_device, sent_kind, sent_ts, sent_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';

/**
 * A database from before conflict rows kept the copy sent: its conflict audit entries held both
 * copies, digests included, and a revoked reading's row stayed (conflicts.ts). Once, in one
 * transaction: the row gains the copy sent (from its entry), a row whose reading is gone is
 * deleted, and every entry keeps the identity and which fields differed, in ConflictField order.
 */
const CONFLICTS_UPGRADE = `
  ALTER TABLE reading_conflicts ADD COLUMN at INTEGER;
  ALTER TABLE reading_conflicts ADD COLUMN sent_device TEXT;
  ALTER TABLE reading_conflicts ADD COLUMN sent_kind TEXT;
  ALTER TABLE reading_conflicts ADD COLUMN sent_ts INTEGER;
  ALTER TABLE reading_conflicts ADD COLUMN sent_sha256 TEXT;
  DELETE FROM reading_conflicts WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.gateway = reading_conflicts.gateway AND r.slot = reading_conflicts.slot AND r.epoch = reading_conflicts.epoch AND r.seq = reading_conflicts.seq);
  UPDATE reading_conflicts AS c SET at = a.at, sent_device = a.detail ->> '$.sent.device', sent_kind = a.detail ->> '$.sent.kind', sent_ts = a.detail ->> '$.sent.ts', sent_sha256 = a.detail ->> '$.sent.sha256'
    FROM audit a WHERE a.event = 'readings.conflict' AND a.gateway = c.gateway AND a.detail ->> '$.slot' = c.slot AND a.detail ->> '$.epoch' = c.epoch AND a.detail ->> '$.seq' = c.seq;
  UPDATE audit SET detail = json_object('slot', detail ->> '$.slot', 'epoch', detail ->> '$.epoch', 'seq', detail ->> '$.seq', 'differs', json((
      SELECT json_group_array(f ORDER BY o) FROM (SELECT 1 AS o, 'device' AS f, 'device' AS k UNION ALL SELECT 2, 'kind', 'kind' UNION ALL SELECT 3, 'ts', 'ts' UNION ALL SELECT 4, 'value', 'sha256')
       WHERE audit.detail ->> ('$.kept.' || k) IS NOT audit.detail ->> ('$.sent.' || k))))
    WHERE event = 'readings.conflict' AND json_type(detail, '$.kept') IS NOT NULL;`;
export const INSERT_AUDIT = 'INSERT INTO audit (at, gateway, event, detail) VALUES (?, ?, ?, ?)';

/**
 * Makes a writable database the collector's: WAL with synchronous=FULL (a batch is on disk when
 * insert() resolves), secure_delete, every table created if absent. A database from before slot_summary gets it
 * filled once, in one transaction with its creation: a crash leaves either no table (done again at
 * the next start) or a complete one; so are its conflict rows and entries upgraded (CONFLICTS_UPGRADE).
 */
export function createSchema(db: DatabaseSync): void {
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  // A deleted row's bytes zeroed, not only unlinked (docs/COLLECTOR.md "Erasure"; retention turns
  // it off for its own deletes, sqlite-deletes.ts): ON, not FAST — FAST zeroes cells within pages
  // but leaves a page freed whole (a revoked slot's run of readings, a page of conflict rows) as it
  // was. A setting of the connection: made at each open.
  db.exec('PRAGMA secure_delete = ON');
  db.exec(SCHEMA);
  db.exec('BEGIN IMMEDIATE');
  try {
    if (!hasTable(db, 'slot_summary')) db.exec(SUMMARY_SCHEMA);
    if (db.prepare("SELECT 1 FROM pragma_table_info('reading_conflicts') WHERE name = 'sent_sha256'").get() === undefined) db.exec(CONFLICTS_UPGRADE);
    db.exec('COMMIT');
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw e;
  }
}
