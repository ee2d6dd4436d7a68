// The gateway's reading log (issue #12; ARCHITECTURE "Durable telemetry"): every reading appended
// once, keyed by (slot, boot epoch, per-device seq), to SQLite in WAL mode (node:sqlite, built into
// the pinned Node 24). Durability is a loss window the operator chooses:
//   full   one transaction per reading, synchronous=FULL: fsync before append() returns; nothing
//          acknowledged is lost, at one fsync per reading (a worn SD card's worst case);
//   batch  readings buffered and committed together every `batchMs` (default 200 ms), synchronous=FULL:
//          a crash or power loss loses at most the last `batchMs` of readings, one fsync per batch;
//   off    like batch but synchronous=OFF: the OS decides when it reaches the card; a power loss can
//          lose what the kernel had not written back (up to ~30 s on Linux defaults), a process
//          crash loses only the unflushed batch.
// Bounded by bytes: past `maxBytes` the oldest readings are deleted, and what was dropped is counted
// per slot (kept in the same database, so the count survives restarts).

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import { LocalError, CommonCode } from '../../lib/errors.js';

export type Durability = 'full' | 'batch' | 'off';
export const DURABILITIES: readonly Durability[] = ['full', 'batch', 'off'];
export const DEFAULT_BATCH_MS = 200;
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** What a stored reading costs besides its value: keys, ints, index entries (measured order of magnitude). */
export const ROW_OVERHEAD_BYTES = 64;
/** Readings deleted per statement when the bound is exceeded. */
const DROP_CHUNK = 512;

/** One reading as the log keeps it; `value` is the reading's canonical CBOR. */
export interface LoggedReading {
  readonly slot: string;
  readonly device: string;
  readonly kind: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly value: Uint8Array;
}

export interface ReadingLogOptions {
  readonly file: string;
  readonly durability?: Durability;
  readonly batchMs?: number;
  readonly maxBytes?: number;
  readonly clock?: Clock;
}

export interface ReadingLogStats {
  readonly readings: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** Readings deleted by the byte bound, per slot, since the log was created. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Appended but not committed yet (batch and off). */
  readonly pending: number;
}

export class ReadingLog {
  readonly durability: Durability;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly clock: Clock;
  private readonly batchMs: number;
  private readonly maxBytes: number;
  private pending: LoggedReading[] = [];
  private cancelFlush: (() => void) | undefined;
  private bytes: number;
  private rows: number;
  private closed = false;

  constructor(o: ReadingLogOptions) {
    this.durability = o.durability ?? 'batch';
    this.batchMs = o.batchMs ?? DEFAULT_BATCH_MS;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
    this.clock = o.clock ?? systemClock;
    if (!DURABILITIES.includes(this.durability)) throw new LocalError(CommonCode.CONFIG_INVALID, `reading log: durability must be one of ${DURABILITIES.join(', ')}`);
    if (!(this.maxBytes >= 4096)) throw new LocalError(CommonCode.CONFIG_INVALID, 'reading log: maxBytes must be at least 4096');
    this.db = new DatabaseSync(o.file);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec(`PRAGMA synchronous = ${this.durability === 'off' ? 'OFF' : 'FULL'}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS readings (
      id INTEGER PRIMARY KEY AUTOINCREMENT, slot TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL,
      epoch INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, value BLOB NOT NULL,
      UNIQUE (slot, epoch, seq))`);
    this.db.exec('CREATE TABLE IF NOT EXISTS dropped (slot TEXT PRIMARY KEY, readings INTEGER NOT NULL)');
    this.insert = this.db.prepare('INSERT OR IGNORE INTO readings (slot, device, kind, epoch, seq, ts, value) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const t = this.db.prepare('SELECT count(*) AS n, coalesce(sum(length(value)), 0) AS b FROM readings').get() as { n: number; b: number };
    this.rows = Number(t.n);
    this.bytes = Number(t.b) + this.rows * ROW_OVERHEAD_BYTES;
  }

  /** Appends one reading; in `full` mode it is on disk when this returns. A reading already logged is ignored. */
  append(r: LoggedReading): void {
    if (this.closed) throw new LocalError(CommonCode.ABORTED, 'reading log: closed');
    this.pending.push(r);
    if (this.durability === 'full') return this.flush();
    this.cancelFlush ??= this.clock.setTimeout(() => {
      this.cancelFlush = undefined;
      this.flush();
    }, this.batchMs);
  }

  /** Commits every pending reading in one transaction, then applies the byte bound. */
  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    this.db.exec('BEGIN');
    try {
      for (const r of batch) {
        const res = this.insert.run(r.slot, r.device, r.kind, r.epoch, r.seq, r.ts, r.value);
        if (Number(res.changes) > 0) {
          this.rows++;
          this.bytes += r.value.length + ROW_OVERHEAD_BYTES;
        }
      }
      if (this.bytes > this.maxBytes) this.dropOldest();
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Readings of `slot` from (epoch, seq) on, in append order, at most `limit`. */
  read(slot: string, from: { readonly epoch: number; readonly seq: number }, limit = 1000): LoggedReading[] {
    this.flush();
    const rows = this.db
      .prepare('SELECT slot, device, kind, epoch, seq, ts, value FROM readings WHERE slot = ? AND (epoch > ? OR (epoch = ? AND seq >= ?)) ORDER BY id LIMIT ?')
      .all(slot, from.epoch, from.epoch, from.seq, limit) as unknown as LoggedReading[];
    return rows.map((r) => ({ ...r, epoch: Number(r.epoch), seq: Number(r.seq), ts: Number(r.ts), value: new Uint8Array(r.value) }));
  }

  stats(): ReadingLogStats {
    const dropped: Record<string, number> = {};
    for (const d of this.db.prepare('SELECT slot, readings FROM dropped').all() as { slot: string; readings: number }[]) dropped[d.slot] = Number(d.readings);
    return { readings: this.rows, bytes: this.bytes, maxBytes: this.maxBytes, dropped, pending: this.pending.length };
  }

  /** Commits what is pending and closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  /** Deletes the oldest readings until the log is back under 90% of its bound (inside flush's transaction). */
  private dropOldest(): void {
    const target = Math.floor(this.maxBytes * 0.9);
    const oldest = this.db.prepare('SELECT id, slot, length(value) AS len FROM readings ORDER BY id LIMIT ?');
    const del = this.db.prepare('DELETE FROM readings WHERE id <= ?');
    const count = this.db.prepare('INSERT INTO dropped (slot, readings) VALUES (?, ?) ON CONFLICT (slot) DO UPDATE SET readings = readings + excluded.readings');
    while (this.bytes > target && this.rows > 0) {
      const chunk = oldest.all(DROP_CHUNK) as { id: number; slot: string; len: number }[];
      const perSlot = new Map<string, number>();
      let last = 0;
      for (const r of chunk) {
        perSlot.set(r.slot, (perSlot.get(r.slot) ?? 0) + 1);
        this.bytes -= Number(r.len) + ROW_OVERHEAD_BYTES;
        this.rows--;
        last = Number(r.id);
        if (this.bytes <= target) break;
      }
      del.run(last);
      for (const [slot, n] of perSlot) count.run(slot, n);
    }
  }
}
