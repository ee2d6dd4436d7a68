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
// Bounded by bytes: past `maxBytes` of pages in use on disk (log-size.ts) the oldest readings are
// deleted, and what was dropped is counted per slot (kept in the same database, so the count
// survives restarts). Readings waiting for their commit are bounded in memory too (pending.ts).
// Publishing (OI §11.3, §11.5): each reading gets its row id when appended; each collector has a
// cursor, the row id up to which its windows are done, and the slots they passed over
// (receipt-cursors.ts); a reading every configured collector that may receive it has receipted,
// and at least one has, is deleted (receipt-floors.ts), and nothing else is ever deleted but by the
// byte bound (counted). Readers (a live `tail`, a publisher) see committed rows and pending
// readings alike, so reading never forces a commit (an SD card's write count is the batch's, not
// the reader's).
// Receipted before committed: with `receipts` on (the gateway publishes) and receipts arriving, the
// timed commit runs every eighth of a window, writes only the pending readings at least seven
// eighths of a window old (commit-timer.ts), and skips those the receipts already cover:
// a reading the collectors' databases hold within 7/8 of a window never reaches the card, as a
// broker's persistence never writes a message delivered before its next save. While no receipt
// moves (a collector is away) commits are the plain batch ones. The loss window is unchanged either
// way: every reading is on this disk or receipted (signed as stored by every collector) within
// `batchMs` of its append.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { systemClock, type Clock } from '../../lib/clock.js';
import { CommitTimer } from './commit-timer.js';
import { LocalError, CommonCode } from '../../lib/errors.js';
import { Listeners } from '../../hil-devices/readings.js';
import { PendingBatch } from './pending.js';
import { openLogDatabase } from './schema.js';
import { checkWal, type WalDamage } from './wal-check.js';
import { countReceipted, dropOldest } from './prune.js';
import { LogSize, readingBytes } from './log-size.js';
import { EpochRecord } from './epoch-record.js';
import { ReceiptCursors, type DoneWindows } from './receipt-cursors.js';
import { SlotCounts } from './slot-counts.js';
import { Backlogs } from './backlog.js';
import type { Audience, AudienceEntry, Deleted } from './receipt-floors.js';
import type { CommittedReading, LoggedReading, LogPosition } from './rows.js';
import { readStats, type ReadingLogStats } from './stats.js';
import { readAfterId, readSeqRange, readSlot } from './queries.js';
export type { CommittedReading, LoggedReading, LogPosition, WalDamage, Audience, AudienceEntry, DoneWindows, ReadingLogStats };

import { DURABILITIES, type Durability } from '../../config/types.js';
export { DEFAULT_BATCH_MS } from '../../config/publish-schema.js';
import { DEFAULT_BATCH_MS } from '../../config/publish-schema.js';
export type { Durability };
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/**
 * Receipted readings that were committed before their receipt are deleted with the next commit of
 * new readings, else at most this late: a delete is a write too, and a card prefers fewer, larger ones.
 */
export const TRIM_EVERY_MS = 5_000;
export { HELD_SCAN_MAX, MAX_PENDING, MAX_PENDING_BYTES } from './pending.js';
/** The least maxBytes: an empty log's own pages (its tables and indexes) take ~10 KiB. */
export const MIN_MAX_BYTES = 64 * 1024;

export interface ReadingLogOptions {
  readonly file: string;
  readonly durability?: Durability;
  readonly batchMs?: number;
  readonly maxBytes?: number;
  readonly clock?: Clock;
  /** Called after a commit that dropped readings to the byte bound, with how many per slot. */
  readonly onDrop?: (perSlot: Readonly<Record<string, number>>) => void;
  /**
   * Called once per outage with the readings dropped unstored from the pending queue, per slot (its
   * bounds while commits failed: pending.ts): at the first commit that succeeds after them, else at
   * close() (with what was still pending if its last commit failed).
   */
  readonly onPendingDrop?: (perSlot: Readonly<Record<string, number>>) => void;
  /** A timed commit failed (the readings stay pending); default: ignored here, counted by the caller. */
  readonly onFlushError?: (e: unknown) => void;
  /** Collectors receipt these readings (publishing is configured): timed commits skip what receipts cover first (above). */
  readonly receipts?: boolean;
}

export class ReadingLog {
  readonly durability: Durability;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly clock: Clock;
  private readonly batchMs: number;
  private readonly maxBytes: number;
  private readonly receipts: boolean;
  /** Appended, not committed. */
  private readonly pending: PendingBatch;
  /** When commits run, and the retry after a failed one (commit-timer.ts). */
  private readonly timer: CommitTimer;
  /** The bytes the log holds on disk, against maxBytes. */
  private readonly size: LogSize;
  /** The row id the next append gets: above every id ever stored or receipted, so no id is reused for a stored row. */
  private next: number;
  private closed = false;
  private readonly commits = new Listeners<[number, number]>('reading log commits');
  private readonly appends = new Listeners<[]>('reading log appends');
  private readonly cursors: ReceiptCursors;
  /** Readings held per slot, of every slot the log holds or held readings of (the byte bound asks which no collector receives). */
  private readonly counts: SlotCounts;
  /** What awaits each collector's receipt, and what is kept for none (status). */
  private readonly backlogs: Backlogs;
  /** Readings receipted before their commit (never stored), not yet added to the stored counter. */
  private elided = 0;
  private lastTrimAt: number;
  private readonly hooks: Pick<ReadingLogOptions, 'onDrop' | 'onPendingDrop'>;
  /** stats() at close(). */
  private finalStats: ReadingLogStats | undefined;
  private readonly epochs: EpochRecord;
  /** What this open found damaged in the WAL a crash left (wal-check.ts), if anything. */
  readonly walDamage: WalDamage | undefined;

  constructor(o: ReadingLogOptions) {
    this.durability = o.durability ?? 'batch';
    this.batchMs = o.batchMs ?? DEFAULT_BATCH_MS;
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
    this.clock = o.clock ?? systemClock;
    this.receipts = o.receipts === true;
    this.hooks = o;
    if (!DURABILITIES.includes(this.durability)) throw new LocalError(CommonCode.CONFIG_INVALID, `reading log: durability must be one of ${DURABILITIES.join(', ')}`);
    if (!(this.maxBytes >= MIN_MAX_BYTES)) throw new LocalError(CommonCode.CONFIG_INVALID, `reading log: maxBytes must be at least ${MIN_MAX_BYTES}`);
    this.pending = new PendingBatch(this.maxBytes);
    // Before SQLite's recovery, and its first write over the frames recovery drops.
    this.walDamage = checkWal(o.file);
    this.db = openLogDatabase(o.file, this.durability, this.maxBytes);
    if (this.walDamage !== undefined) {
      try {
        this.db.prepare("INSERT INTO counters (name, n) VALUES ('wal_discarded', ?) ON CONFLICT (name) DO UPDATE SET n = n + excluded.n").run(this.walDamage.commits);
      } catch {
        // A full card: not counted, and still reported (walDamage); the log opens as it did before.
      }
    }
    this.cursors = new ReceiptCursors(this.db, this.clock);
    this.insert = this.db.prepare('INSERT OR IGNORE INTO readings (id, slot, device, kind, epoch, seq, ts, value, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.counts = new SlotCounts(this.db);
    this.backlogs = new Backlogs(this.db, this.counts);
    this.size = new LogSize(this.db, this.maxBytes);
    // Ids of readings receipted and never stored were used too: a cursor may name one. (An id of a
    // reading the byte bound dropped may be given again: nothing refers to it.)
    const hi = this.db.prepare('SELECT max(coalesce((SELECT max(id) FROM readings), 0), coalesce((SELECT max(id) FROM cursors), 0)) AS hi').get() as { hi: number };
    this.next = Number(hi.hi) + 1;
    this.epochs = new EpochRecord(this.db);
    this.lastTrimAt = this.clock.now();
    this.timer = new CommitTimer(this.clock, this.batchMs, {
      pending: this.pending,
      commit: (cutoff) => this.commit(cutoff),
      closed: () => this.closed,
      more: () => this.pending.length > 0 || (this.cursors.owed && this.counts.total > 0),
      eliding: () => this.receipts && this.cursors.movedWithin(this.batchMs),
      onError: o.onFlushError,
    });
  }

  /** The highest boot epoch the log had seen when opened (epoch-record.ts). */
  get recordedEpoch(): number {
    return this.epochs.recorded;
  }

  /** The boot epoch of this run, recorded at once or with the next commit (epoch-record.ts). */
  beginEpoch(epoch: number): void {
    this.epochs.begin(epoch);
  }

  /** The row id the next append will get (a recorder keys what waits for its commit by it). */
  get nextId(): number {
    return this.next;
  }

  /** The highest row id given so far (0: none). Readings up to it are stored, pending, receipted or dropped. */
  get lastId(): number {
    return this.next - 1;
  }

  /**
   * Appends one reading; in `full` mode it is on disk when this returns. A reading already logged is
   * ignored. `held`: something waits for its commit; `resent`: its source sends it again if it is dropped (pending.ts).
   */
  append(r: LoggedReading, held = false, resent = false): void {
    if (this.closed) throw new LocalError(CommonCode.ABORTED, 'reading log: closed');
    const reading = { ...r, id: this.next++, at: this.clock.now(), ...(held ? { held } : {}), ...(held && resent ? { resent } : {}) };
    // Beyond the pending bound on a disk that takes readings (one batch_ms of them larger than the
    // bound): committed now, not dropped and reported as a disk outage; dropped only while commits fail.
    if (!this.pending.fits(reading) && this.timer.commitFailing === undefined) this.timer.early();
    this.pending.add(reading);
    this.counts.know(r.slot);
    this.appends.emit();
    if (this.durability === 'full') return this.flush();
    this.timer.arm();
  }

  /** A commit failed less than batchMs ago: flush() refuses until the timed retry has run. */
  get failing(): boolean {
    return this.timer.failing;
  }

  /** Held readings dropped unstored (PendingBatch.onDropped). */
  onDropped(cb: (id: number) => void): () => void {
    return this.pending.onDropped(cb);
  }

  /** Called after every append (a publisher waits for enough readings to fill a window). */
  onAppend(cb: () => void): () => void {
    return this.appends.on(cb);
  }

  /**
   * Commits every pending reading (but those receipts already cover) in one transaction, then
   * applies the byte bound. Within batchMs of a failed commit it tries nothing and throws FILE_IO:
   * the readings stay pending for the timed retry (commit-timer.ts, commit-failures.ts).
   */
  flush(): void {
    this.timer.flush();
  }

  /**
   * Commits the pending readings appended at or before `cutoff`: those every collector has
   * receipted are counted and dropped from memory, the others written. Receipt cursors and the
   * deletes they allow ride on the same transaction; alone they wait up to TRIM_EVERY_MS.
   */
  private commit(cutoff: number): void {
    if (this.closed) return;
    const now = this.clock.now();
    const floors = this.cursors.floors();
    // Due: old enough to be written, or receipted already (safe: no need to keep it in memory).
    let due = 0;
    const pending = this.pending.readings;
    while (due < pending.length && (pending[due]!.at <= cutoff || floors.covers(pending[due]!))) due++;
    const batch = pending.slice(0, due);
    const write = batch.filter((r) => !floors.covers(r));
    const elided = due - write.length;
    const cursors = this.cursors.unwritten();
    const explicit = cutoff === Infinity;
    // Cursors matter for stored readings only (to delete them, or not to send them again after a restart).
    const trimDue = cursors.length > 0 && (write.length > 0 || explicit || (this.counts.total > 0 && now - this.lastTrimAt >= TRIM_EVERY_MS) || this.size.bytes > this.maxBytes);
    if (write.length === 0 && !trimDue && !this.epochs.isOwed) {
      // Nothing to write: what was due is receipted (its count is stored with the next commit).
      this.pending.removeFirst(due);
      this.elided += elided;
      this.reportPendingDrops();
      if (due > 0) this.commits.emit(0, batch[due - 1]!.id);
      return;
    }
    let added = 0;
    const addedPerSlot = new Map<string, number>();
    let addedBytes = 0;
    let trimmed: Deleted | undefined;
    let measured: number | undefined;
    let dropped: ReturnType<typeof dropOldest> | undefined;
    this.db.exec('BEGIN');
    try {
      for (const r of write) {
        const res = this.insert.run(r.id, r.slot, r.device, r.kind, r.epoch, r.seq, r.ts, r.value, r.source ?? null);
        if (Number(res.changes) > 0) {
          added++;
          addedPerSlot.set(r.slot, (addedPerSlot.get(r.slot) ?? 0) + 1);
          addedBytes += readingBytes(r);
        }
      }
      this.epochs.writeOwed();
      // Receipts ride on a batch's transaction: on an SD card one commit, not one per receipt.
      if (trimDue) this.cursors.write(cursors);
      if (trimDue && this.cursors.trimming) trimmed = this.cursors.deleteCovered(this.db, floors);
      countReceipted(this.db, (trimmed?.rows ?? 0) + this.elided + elided);
      measured = this.size.check(addedBytes, (trimmed?.rows ?? 0) > 0);
      if (measured !== undefined && measured > this.maxBytes) {
        dropped = dropOldest(this.db, () => this.size.measure(), Math.floor(this.maxBytes * 0.9), this.cursors.nobodys(this.counts.holding(addedPerSlot)));
        measured = dropped.bytes;
      }
      this.db.exec('COMMIT');
    } catch (e) {
      // SQLite ends the transaction itself on some errors (SQLITE_FULL, SQLITE_IOERR): a ROLLBACK
      // then throws "no transaction is active" and would hide the disk's own error.
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      // Not committed: everything stays pending for the next commit rather than being lost (a full
      // disk or a locked file is usually transient; the bounds on pending are in pending.ts).
      throw e;
    }
    this.pending.removeFirst(due);
    this.elided = 0;
    this.epochs.committed();
    if (trimDue) {
      this.lastTrimAt = now;
      this.cursors.written(cursors);
    }
    this.counts.committed(addedPerSlot, trimmed?.perSlot ?? [], Object.entries(dropped?.perSlot ?? {}));
    this.backlogs.deleted(Math.max(trimmed?.upTo ?? 0, dropped?.upTo ?? 0));
    this.size.committed(addedBytes, measured);
    if (dropped !== undefined) this.hooks.onDrop?.(dropped.perSlot);
    this.reportPendingDrops();
    // Also with 0 added (every reading already logged or receipted): the batch is safe all the same (recorder settles).
    if (due > 0) this.commits.emit(added, batch[due - 1]!.id);
  }

  /** The readings the pending queue dropped since the last report, if any, reported (onPendingDrop). */
  private reportPendingDrops(): void {
    const perSlot = this.pending.takeUnreported();
    if (perSlot !== undefined) this.hooks.onPendingDrop?.(perSlot);
  }

  /**
   * Called after each commit with how many readings it stored (0 when all were duplicates or
   * receipted) and the row id up to which every reading appended is now stored or receipted.
   */
  onCommit(cb: (added: number, durableTo: number) => void): () => void {
    return this.commits.on(cb);
  }

  /** Readings of `slot` from (epoch, seq) on, in append order, at most `limit`: committed, then pending (queries.ts). */
  read(slot: string, from: LogPosition, limit = 1000): LoggedReading[] {
    return this.closed ? [] : readSlot(this.db, this.pending.readings, slot, from, limit);
  }

  /** Readings after row id `afterId`, committed then pending, in append order, at most `limit` rows and a prefix within `maxBytes` (at least one): what a publisher pushes. */
  readAfter(afterId: number, limit = 1000, maxBytes = Infinity): CommittedReading[] {
    return this.closed ? [] : readAfterId(this.db, this.pending.readings, afterId, limit, maxBytes);
  }

  /** Readings of `slot` with seq in [first, last] of `epoch` (a collector's backfill request), committed then pending, at most `limit` rows and a prefix within `maxBytes`; `more` when some are left. */
  readRange(slot: string, epoch: number, first: number, last: number, limit = 1000, maxBytes = Infinity): { rows: CommittedReading[]; more: boolean } {
    return this.closed ? { rows: [], more: false } : readSeqRange(this.db, this.pending.readings, slot, epoch, first, last, limit, maxBytes);
  }

  /** The row id up to which `collector`'s receipts cover every reading (0: none yet). */
  cursor(collector: string): number {
    return this.cursors.of(collector);
  }

  /** Where `collector`'s next session starts sending: after its cursor, or lower (ReceiptCursors.resumeAt). */
  resumeAt(collector: string, receives: (slot: string) => boolean): number {
    return this.cursors.resumeAt(collector, receives);
  }

  /**
   * The configured collectors, asked whenever receipts or the byte bound need them (the gateway's
   * Publishers.audience()): given at start, so that after a restart the bound drops the readings
   * no collector may receive first before any collector is back (receipt-cursors.ts).
   */
  setAudience(audience: () => readonly AudienceEntry[]): void {
    this.cursors.setAudience(audience);
  }

  /**
   * `collector`'s receipts completed its windows up to row id `id` (`done`: the slots they passed
   * over): recorded, and what the receipts of the collectors (setAudience()) cover deleted (or
   * never written), with a later commit (OI §11.5, receipt-floors.ts). A crash before it only
   * means those readings are sent again (the collector stores each once).
   */
  receipted(collector: string, id: number, done?: DoneWindows): void {
    if (this.closed) return;
    this.cursors.advance(collector, id, done);
    this.timer.arm();
  }

  /** Readings committed or pending that `collector` may receive (`receives`: a slot in its consent now) and has not receipted (backlog.ts). */
  unreceipted(collector: string, receives: (slot: string) => boolean): number {
    if (this.closed) return 0;
    return this.backlogs.owed(collector, this.cursors.covered(collector), receives, (this.pending.readings[0]?.id ?? this.next) - 1, this.pending.readings);
  }

  /** Committed readings no collector of `audience` may receive now, or too large for any message: the byte bound drops them first (undefined once closed). */
  heldForNobody(audience: readonly AudienceEntry[]): number | undefined {
    return this.closed ? undefined : this.backlogs.forNobody(audience);
  }

  stats(): ReadingLogStats {
    // Closed: as they were at the close (the gateway's last status file is written after it).
    if (this.closed) return this.finalStats ?? { readings: this.counts.total, bytes: this.size.bytes, maxBytes: this.maxBytes, dropped: {}, pending: this.pending.length, pendingBytes: this.pending.bytes, receipted: 0 };
    return readStats(this.db, { readings: this.counts.total, bytes: this.size.bytes, maxBytes: this.maxBytes, pending: this.pending, elided: this.elided, commitFailing: this.timer.commitFailing });
  }

  /**
   * Commits what is pending (a last try, whenever the one before failed) and closes the database.
   * Closed whatever that try gives: a failing disk that kept the log open kept its retry timer too,
   * and the gateway's process with it, after its stop. The error is thrown after the close; what
   * was pending is then lost with the process, as the reading log's loss window says: counted and
   * reported as dropped, with what the pending queue dropped before (onPendingDrop), but for the
   * readings appended `resent`, whose broker sends them again (PendingBatch.dropAll).
   */
  close(): void {
    if (this.closed) return;
    let failure: unknown;
    try {
      this.timer.now();
    } catch (e) {
      failure = e;
      this.pending.dropAll();
    }
    this.timer.stop();
    this.reportPendingDrops();
    this.finalStats = this.stats();
    this.closed = true;
    this.db.close();
    if (failure !== undefined) throw failure;
  }
}
