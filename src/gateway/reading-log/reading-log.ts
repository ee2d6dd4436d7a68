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
// Publishing (OI §11.3, §11.5): each collector has a cursor, the row id up to which its signed
// receipts cover everything; trim() deletes what every configured collector's receipts cover, and
// nothing else is ever deleted but by the byte bound (counted). Readers see committed rows and the
// pending batch alike, so a live `tail` never forces a commit (an SD card's write count is the
// batch's, not the reader's).

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Clock } from '../../lib/clock.js';
import { systemClock } from '../../lib/clock.js';
import { LocalError, CommonCode } from '../../lib/errors.js';
import { Listeners } from '../../hil-devices/readings.js';

import { DURABILITIES, type Durability } from '../../config/types.js';
export { DEFAULT_BATCH_MS } from '../../config/publish-schema.js';
import { DEFAULT_BATCH_MS } from '../../config/publish-schema.js';
export type { Durability };
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** What a stored reading costs besides its value: keys, ints, index entries (measured order of magnitude). */
export const ROW_OVERHEAD_BYTES = 64;
/** Readings deleted per statement when the bound is exceeded. */
const DROP_CHUNK = 512;
/**
 * Readings kept in memory while commits fail (a full or failing card): beyond, the oldest pending
 * reading is dropped and counted, so a dead disk costs readings, never the gateway's memory.
 */
export const MAX_PENDING = 100_000;

/** One reading as the log keeps it; `value` is the reading's canonical CBOR. */
export interface LoggedReading {
  readonly slot: string;
  readonly device: string;
  readonly kind: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly value: Uint8Array;
  /** What the reading exposes (register range or topic) as JSON, so a Grant can be checked on history. */
  readonly source?: string;
}

/** A committed reading with its row id: the log's append order across slots. */
export interface CommittedReading extends LoggedReading {
  readonly id: number;
}

/** A position in one slot's readings: the next (epoch, seq) to read. */
export interface LogPosition {
  readonly epoch: number;
  readonly seq: number;
}

export interface ReadingLogOptions {
  readonly file: string;
  readonly durability?: Durability;
  readonly batchMs?: number;
  readonly maxBytes?: number;
  readonly clock?: Clock;
  /** Called after a commit that dropped readings to the byte bound, with how many per slot. */
  readonly onDrop?: (perSlot: Readonly<Record<string, number>>) => void;
  /** A timed commit failed (the readings stay pending); default: ignored here, counted by the caller. */
  readonly onFlushError?: (e: unknown) => void;
}

export interface ReadingLogStats {
  readonly readings: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** Readings deleted by the byte bound, per slot, since the log was created. */
  readonly dropped: Readonly<Record<string, number>>;
  /** Appended but not committed yet (batch and off). */
  readonly pending: number;
  /** Readings deleted because every collector's receipts covered them, since the log was created. */
  readonly receipted: number;
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
  /** Pending readings dropped by MAX_PENDING (in memory: the disk was failing), per slot. */
  private readonly pendingDropped = new Map<string, number>();
  private readonly commits = new Listeners<[number]>('reading log commits');
  /** Cursor advances not yet committed (receipted()), and the collectors the next trim waits for. */
  private readonly receiptedTo = new Map<string, number>();
  private trimFor: readonly string[] = [];
  private readonly upsertCursor: StatementSync;
  private readonly onFlushError: ((e: unknown) => void) | undefined;
  private readonly onDrop: ((perSlot: Readonly<Record<string, number>>) => void) | undefined;

  constructor(o: ReadingLogOptions) {
    this.durability = o.durability ?? 'batch';
    this.batchMs = o.batchMs ?? DEFAULT_BATCH_MS;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
    this.clock = o.clock ?? systemClock;
    this.onDrop = o.onDrop;
    this.onFlushError = o.onFlushError;
    if (!DURABILITIES.includes(this.durability)) throw new LocalError(CommonCode.CONFIG_INVALID, `reading log: durability must be one of ${DURABILITIES.join(', ')}`);
    if (!(this.maxBytes >= 4096)) throw new LocalError(CommonCode.CONFIG_INVALID, 'reading log: maxBytes must be at least 4096');
    this.db = new DatabaseSync(o.file);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec(`PRAGMA synchronous = ${this.durability === 'off' ? 'OFF' : 'FULL'}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS readings (
      id INTEGER PRIMARY KEY AUTOINCREMENT, slot TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL,
      epoch INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, value BLOB NOT NULL, source TEXT,
      UNIQUE (slot, epoch, seq))`);
    this.db.exec('CREATE TABLE IF NOT EXISTS dropped (slot TEXT PRIMARY KEY, readings INTEGER NOT NULL)');
    this.db.exec('CREATE TABLE IF NOT EXISTS cursors (collector TEXT PRIMARY KEY, id INTEGER NOT NULL)');
    this.db.exec('CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    this.upsertCursor = this.db.prepare('INSERT INTO cursors (collector, id) VALUES (?, ?) ON CONFLICT (collector) DO UPDATE SET id = max(id, excluded.id)');
    this.insert = this.db.prepare('INSERT OR IGNORE INTO readings (slot, device, kind, epoch, seq, ts, value, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const t = this.db.prepare('SELECT count(*) AS n, coalesce(sum(length(value)), 0) AS b FROM readings').get() as { n: number; b: number };
    this.rows = Number(t.n);
    this.bytes = Number(t.b) + this.rows * ROW_OVERHEAD_BYTES;
  }

  /** Appends one reading; in `full` mode it is on disk when this returns. A reading already logged is ignored. */
  append(r: LoggedReading): void {
    if (this.closed) throw new LocalError(CommonCode.ABORTED, 'reading log: closed');
    this.pending.push(r);
    if (this.pending.length > MAX_PENDING) {
      const lost = this.pending.shift()!;
      this.pendingDropped.set(lost.slot, (this.pendingDropped.get(lost.slot) ?? 0) + 1);
    }
    if (this.durability === 'full') return this.flush();
    this.cancelFlush ??= this.clock.setTimeout(() => {
      this.cancelFlush = undefined;
      this.flushFromTimer();
    }, this.batchMs);
  }

  /** A timer's commit: a failure (full disk, I/O error) leaves the batch pending and retried, never an exception out of a timer. */
  private flushFromTimer(): void {
    try {
      this.flush();
    } catch (e) {
      this.onFlushError?.(e);
    }
  }

  /** Commits every pending reading in one transaction, then applies the byte bound. */
  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    if ((this.pending.length === 0 && this.receiptedTo.size === 0) || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    const cursors = [...this.receiptedTo];
    let added = 0;
    let trimmed = { n: 0, bytes: 0 };
    let dropped: Record<string, number> | undefined;
    this.db.exec('BEGIN');
    try {
      for (const r of batch) {
        const res = this.insert.run(r.slot, r.device, r.kind, r.epoch, r.seq, r.ts, r.value, r.source ?? null);
        if (Number(res.changes) > 0) {
          added++;
          this.rows++;
          this.bytes += r.value.length + ROW_OVERHEAD_BYTES;
        }
      }
      // Receipts ride on the batch's transaction: on an SD card one commit, not one per receipt.
      for (const [collector, id] of cursors) this.upsertCursor.run(collector, id);
      if (cursors.length > 0 && this.trimFor.length > 0) trimmed = this.deleteReceipted(Math.min(...this.trimFor.map((c) => this.storedCursor(c))));
      if (this.bytes > this.maxBytes) dropped = this.dropOldest();
      this.db.exec('COMMIT');
      for (const [collector, id] of cursors) if (this.receiptedTo.get(collector) === id) this.receiptedTo.delete(collector);
      this.rows -= trimmed.n;
      this.bytes -= trimmed.bytes;
    } catch (e) {
      this.db.exec('ROLLBACK');
      // Not committed: the batch stays pending for the next flush rather than being lost (a full
      // disk or a locked file is usually transient; the bound on pending is the caller's).
      this.pending = [...batch, ...this.pending];
      // Retried after batch_ms, not only at the next append (a recorder's early flush cancelled the timer).
      if (this.durability !== 'full') this.cancelFlush ??= this.clock.setTimeout(() => ((this.cancelFlush = undefined), this.flush()), this.batchMs);
      throw e;
    }
    if (dropped !== undefined) this.onDrop?.(dropped);
    // Also with 0 added (every reading already logged): the batch is on disk all the same (recorder settles).
    if (batch.length > 0) this.commits.emit(added);
  }

  /** Called after each commit of appended readings with how many it added, 0 when all were duplicates (publishers push committed readings only). */
  onCommit(cb: (added: number) => void): () => void {
    return this.commits.on(cb);
  }

  /**
   * Readings of `slot` from (epoch, seq) on, in append order, at most `limit`: committed rows, then
   * the pending batch (never forces a commit).
   */
  read(slot: string, from: LogPosition, limit = 1000): LoggedReading[] {
    if (this.closed) return [];
    const rows = (this.db
      .prepare('SELECT slot, device, kind, epoch, seq, ts, value, source FROM readings WHERE slot = ? AND (epoch > ? OR (epoch = ? AND seq >= ?)) ORDER BY id LIMIT ?')
      .all(slot, from.epoch, from.epoch, from.seq, limit) as unknown as RawRow[]).map(fromRow);
    if (rows.length >= limit) return rows;
    const last = rows.at(-1);
    for (const r of this.pending) {
      if (rows.length >= limit) break;
      if (r.slot !== slot || before(r, from) || (last !== undefined && !before(last, r))) continue;
      rows.push(r);
    }
    return rows;
  }

  /** Committed readings after row id `afterId`, in append order, at most `limit` (what a publisher pushes). */
  readCommitted(afterId: number, limit = 1000): CommittedReading[] {
    if (this.closed) return [];
    const rows = this.db.prepare('SELECT id, slot, device, kind, epoch, seq, ts, value, source FROM readings WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as unknown as (RawRow & { id: number })[];
    return rows.map((r) => ({ ...fromRow(r), id: Number(r.id) }));
  }

  /** Committed readings of `slot` with seq in [first, last] of `epoch` (a collector's backfill request), at most `limit`. */
  readRange(slot: string, epoch: number, first: number, last: number, limit = 1000): CommittedReading[] {
    if (this.closed) return [];
    const rows = this.db
      .prepare('SELECT id, slot, device, kind, epoch, seq, ts, value, source FROM readings WHERE slot = ? AND epoch = ? AND seq BETWEEN ? AND ? ORDER BY id LIMIT ?')
      .all(slot, epoch, first, last, limit) as unknown as (RawRow & { id: number })[];
    return rows.map((r) => ({ ...fromRow(r), id: Number(r.id) }));
  }

  /** The row id up to which `collector`'s receipts cover every reading (0: none yet). */
  cursor(collector: string): number {
    return Math.max(this.storedCursor(collector), this.receiptedTo.get(collector) ?? 0);
  }

  private storedCursor(collector: string): number {
    const row = this.db.prepare('SELECT id FROM cursors WHERE collector = ?').get(collector) as { id: number } | undefined;
    return row === undefined ? 0 : Number(row.id);
  }

  /**
   * `collector`'s receipts now cover every reading up to row id `id`: recorded, and what every one
   * of `collectors` has receipted deleted, in the next batch's transaction (OI §11.5). A crash
   * before it only means those readings are sent again (the collector stores each once).
   */
  receipted(collector: string, id: number, collectors: readonly string[]): void {
    if (this.closed) return;
    this.receiptedTo.set(collector, Math.max(id, this.receiptedTo.get(collector) ?? 0));
    this.trimFor = [...collectors];
    this.cancelFlush ??= this.clock.setTimeout(() => {
      this.cancelFlush = undefined;
      this.flushFromTimer();
    }, this.batchMs);
  }

  /** Records that `collector`'s receipts cover every reading up to row id `id` (never moves back). */
  setCursor(collector: string, id: number): void {
    if (this.closed) return;
    this.upsertCursor.run(collector, id);
  }

  /** Committed readings after `collector`'s cursor: what it has not receipted yet. */
  unreceipted(collector: string): number {
    if (this.closed) return 0;
    const row = this.db.prepare('SELECT count(*) AS n FROM readings WHERE id > ?').get(this.cursor(collector)) as { n: number };
    return Number(row.n);
  }

  /**
   * Deletes the readings every one of `collectors` has receipted (OI §11.5: the gateway deletes only
   * what receipts cover); with no collector nothing is deleted. Returns how many were deleted.
   */
  trim(collectors: readonly string[]): number {
    if (this.closed || collectors.length === 0) return 0;
    const upTo = Math.min(...collectors.map((c) => this.cursor(c)));
    if (upTo <= 0) return 0;
    this.db.exec('BEGIN');
    let t;
    try {
      t = this.deleteReceipted(upTo);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
    this.rows -= t.n;
    this.bytes -= t.bytes;
    return t.n;
  }

  /** Deletes rows up to `upTo` and counts them as receipted (inside the caller's transaction). */
  private deleteReceipted(upTo: number): { n: number; bytes: number } {
    if (upTo <= 0) return { n: 0, bytes: 0 };
    const t = this.db.prepare('SELECT count(*) AS n, coalesce(sum(length(value)), 0) AS b FROM readings WHERE id <= ?').get(upTo) as { n: number; b: number };
    const n = Number(t.n);
    if (n === 0) return { n: 0, bytes: 0 };
    this.db.prepare('DELETE FROM readings WHERE id <= ?').run(upTo);
    this.db.prepare("INSERT INTO counters (name, n) VALUES ('receipted', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n").run(n);
    return { n, bytes: Number(t.b) + n * ROW_OVERHEAD_BYTES };
  }

  stats(): ReadingLogStats {
    const dropped: Record<string, number> = {};
    if (this.closed) return { readings: this.rows, bytes: this.bytes, maxBytes: this.maxBytes, dropped, pending: this.pending.length, receipted: 0 };
    for (const d of this.db.prepare('SELECT slot, readings FROM dropped').all() as { slot: string; readings: number }[]) dropped[d.slot] = Number(d.readings);
    for (const [slot, n] of this.pendingDropped) dropped[slot] = (dropped[slot] ?? 0) + n;
    const r = this.db.prepare("SELECT n FROM counters WHERE name = 'receipted'").get() as { n: number } | undefined;
    return { readings: this.rows, bytes: this.bytes, maxBytes: this.maxBytes, dropped, pending: this.pending.length, receipted: r === undefined ? 0 : Number(r.n) };
  }

  /** Commits what is pending and closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }

  /** Deletes the oldest readings until the log is back under 90% of its bound (inside flush's transaction). */
  private dropOldest(): Record<string, number> {
    const total: Record<string, number> = {};
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
      for (const [slot, n] of perSlot) {
        count.run(slot, n);
        total[slot] = (total[slot] ?? 0) + n;
      }
    }
    return total;
  }
}

interface RawRow {
  slot: string;
  device: string;
  kind: string;
  epoch: number;
  seq: number;
  ts: number;
  value: Uint8Array;
  source: string | null;
}

function fromRow(r: RawRow): LoggedReading {
  const out = { slot: r.slot, device: r.device, kind: r.kind, epoch: Number(r.epoch), seq: Number(r.seq), ts: Number(r.ts), value: new Uint8Array(r.value) };
  return r.source === null ? out : { ...out, source: r.source };
}

/** a comes before position b in one slot's (epoch, seq) order. */
function before(a: LogPosition, b: LogPosition): boolean {
  return a.epoch < b.epoch || (a.epoch === b.epoch && a.seq < b.seq);
}
