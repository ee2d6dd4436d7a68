// What the SQLite store (sqlite.ts) deletes and how: retention's deleteBefore() and a revocation's
// purge(), both in chunks of DELETE_CHUNK_ROWS with the event loop served between them, and the
// record of a revocation that makes the chunks safe to stop anywhere (store.ts revoke()). A revoked
// reading's bytes go from the files too (docs/COLLECTOR.md "Erasure"): its chunks zero the values
// and delete with secure_delete (deleteChunked()), and the purge ends by truncating the WAL (erase()).

import type { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromHex, toHex } from '../../uzp/bytes.js';
import { CollectorCode, StoreError } from '../errors.js';
import { auditDetailText } from './checks.js';
import { INSERT_AUDIT } from './sqlite-schema.js';
import type { AuditEntry, PurgeResult, RevocationScope } from './store.js';

/**
 * Rows one DELETE statement removes: a retention sweep or revocation of millions of readings ran as
 * one synchronous statement and held the event loop (and the write lock) for seconds. Between
 * chunks the store yields to the event loop, so sessions keep being served.
 */
export const DELETE_CHUNK_ROWS = 4096;

/** SQLite's primary result code for a table this connection's own statement holds (an extended code's low byte). */
const SQLITE_LOCKED = 6;
/** The same for a lock another connection holds. */
const SQLITE_BUSY = 5;

/**
 * How long a purge or a retention sweep keeps trying to truncate the WAL while another connection's
 * reader holds it, and how far apart the tries are. Each try is one checkpoint that does not wait
 * (busy timeout 0): waiting inside SQLite's busy handler held the collector's event loop, and so
 * every session and window it serves, for the whole 5 s.
 */
export const ERASE_WAIT_MS = 5_000;
export const ERASE_RETRY_MS = 50;

/** One try at truncating the WAL: done, a reader of another connection holds it, or a statement of ours does. */
type EraseTry = 'done' | 'busy' | 'locked';

/** Runs `f` for the store: STORE_CLOSED after close(), a SQLite failure as STORE_FAILED. */
export type Guard = <T>(what: string, f: () => T) => T;

/**
 * The condition a row of `table` (readings or slot_summary) meets when no unpurged revocation
 * withdrew it: what readers see between a revocation's record and its last deleted chunk.
 */
export function unrevoked(table: string): string {
  return `NOT EXISTS (SELECT 1 FROM revocations v WHERE v.done = 0 AND v.gateway = ${table}.gateway AND (v.slots IS NULL OR ${table}.slot IN (SELECT value FROM json_each(v.slots))))`;
}

interface RevocationRow {
  gateway: string;
  /** JSON array of slots, or null: every slot. */
  slots: string | null;
  deleted: number;
  done: number;
}

export class SqliteDeletes {
  /**
   * The WAL may still hold page images of deleted readings: from the open (a crash between a
   * revocation's last chunk and its erase()) until an erase() completes. The store erases at its
   * open and tries again after each later retention delete (the hourly sweep runs one per gateway)
   * and purge.
   */
  private walOwed = true;

  constructor(
    private readonly db: DatabaseSync,
    /** slot_summary exists (always, on a writable store). */
    private readonly summarised: boolean,
    private readonly guard: Guard,
  ) {}

  /** Records `scope` and `entry` in one transaction; false, and nothing written, when the revocation is recorded already. */
  revoke(scope: RevocationScope, entry: AuditEntry): boolean {
    const detail = auditDetailText(entry);
    return this.guard('revoke', () =>
      this.transaction(() => {
        const slots = scope.slots === undefined ? null : JSON.stringify(scope.slots);
        const added = this.db.prepare('INSERT OR IGNORE INTO revocations (revocation, gateway, slots) VALUES (?, ?, ?)').run(toHex(scope.revocation), toHex(scope.gateway), slots);
        if (Number(added.changes) === 0) return false;
        this.db.prepare(INSERT_AUDIT).run(entry.at, toHex(entry.gateway), entry.event, detail);
        return true;
      }),
    );
  }

  /** store.ts purge(): the last chunk marks the revocation done and writes `finished`'s entry, in its transaction. */
  async purge(revocation: Uint8Array, finished: (deleted: number) => AuditEntry): Promise<PurgeResult> {
    const id = toHex(revocation);
    const row = this.guard('purge', () => this.db.prepare('SELECT gateway, slots, deleted, done FROM revocations WHERE revocation = ?').get(id)) as RevocationRow | undefined;
    if (row === undefined) throw new StoreError(CollectorCode.STORE_INVALID, `purge: revocation ${id} was never recorded (revoke() first)`);
    if (row.done !== 0) return { deleted: Number(row.deleted), finished: false, erased: await this.eraseOwed() };
    // json_each: any number of slots in one bound parameter (no SQLITE_MAX_VARIABLE_NUMBER to respect).
    const where = row.slots === null ? 'gateway = ?' : 'gateway = ? AND slot IN (SELECT value FROM json_each(?))';
    const count = this.guard('purge', () => this.db.prepare('UPDATE revocations SET deleted = deleted + ?, done = ? WHERE revocation = ? RETURNING deleted'));
    let deleted = Number(row.deleted);
    await this.deleteChunked('purge', where, row.slots === null ? [row.gateway] : [row.gateway, row.slots], true, (k, last) => {
      deleted = Number((count.get(k, last ? 1 : 0, id) as { deleted: number }).deleted);
      if (!last) return;
      const e = finished(deleted);
      this.db.prepare(INSERT_AUDIT).run(e.at, toHex(e.gateway), e.event, auditDetailText(e));
    });
    return { deleted, finished: true, erased: await this.erase() };
  }

  /**
   * Checkpoints the WAL into the database file and truncates it to nothing (wal_checkpoint
   * TRUNCATE): until then the WAL kept the page images every insert wrote, revoked values included,
   * and the database file the pages as they were before the deletion. False when a reader of the
   * WAL (another connection's read transaction: a `collector query` page, a backup tool) kept it
   * from completing for ERASE_WAIT_MS, tried every ERASE_RETRY_MS with the event loop served
   * between tries, or a statement of this connection is still reading (an audit iterator:
   * SQLITE_LOCKED at once, not waited for): owed (eraseOwed()). The deletion has committed either
   * way, so that is no failure of the purge.
   */
  async erase(): Promise<boolean> {
    const until = performance.now() + ERASE_WAIT_MS;
    for (let first = true; ; first = false) {
      let t: EraseTry;
      try {
        t = this.eraseNow();
      } catch (e) {
        // Closed while waiting between tries: still owed, and the next open tries again.
        if (!first && e instanceof StoreError && e.code === CollectorCode.STORE_CLOSED) return false;
        throw e;
      }
      if (t !== 'busy' || performance.now() >= until) return t === 'done';
      await sleep(ERASE_RETRY_MS);
    }
  }

  /** One try that never waits (the store's open, which is synchronous); owed when it did not complete. */
  eraseOnce(): boolean {
    return this.eraseNow() === 'done';
  }

  /** erase() if one is owed (a reader kept the last from completing, or none ran since the open); whether none is owed now. */
  async eraseOwed(): Promise<boolean> {
    return this.walOwed ? this.erase() : true;
  }

  private eraseNow(): EraseTry {
    this.walOwed = true;
    const t = this.guard('erase (truncating the WAL)', (): EraseTry => {
      const was = Number((this.db.prepare('PRAGMA busy_timeout').get() as { timeout: number }).timeout);
      this.db.exec('PRAGMA busy_timeout = 0');
      try {
        return Number((this.db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number }).busy) === 0 ? 'done' : 'busy';
      } catch (e) {
        const code = ((e as { errcode?: number }).errcode ?? 0) % 256;
        if (code === SQLITE_LOCKED) return 'locked';
        // With no busy timeout a writer of another connection fails the checkpoint SQLITE_BUSY
        // instead of making it wait: the same as a reader holding the WAL.
        if (code === SQLITE_BUSY) return 'busy';
        throw e;
      } finally {
        this.db.exec(`PRAGMA busy_timeout = ${was}`);
      }
    });
    this.walOwed = t !== 'done';
    return t;
  }

  unpurged(gateway?: Uint8Array): RevocationScope[] {
    const rows = this.guard('unpurged', () =>
      gateway === undefined
        ? this.db.prepare('SELECT revocation, gateway, slots FROM revocations WHERE done = 0 ORDER BY revocation').all()
        : this.db.prepare('SELECT revocation, gateway, slots FROM revocations WHERE done = 0 AND gateway = ? ORDER BY revocation').all(toHex(gateway)),
    ) as unknown as { revocation: string; gateway: string; slots: string | null }[];
    return rows.map((r) => ({ revocation: fromHex(r.revocation), gateway: fromHex(r.gateway), ...(r.slots !== null ? { slots: JSON.parse(r.slots) as string[] } : {}) }));
  }

  /**
   * Deletes what `where` selects, DELETE_CHUNK_ROWS per transaction, yielding to the event loop
   * between them; each chunk adjusts slot_summary, and runs `each` (chunk rows, whether it was the
   * last), in its own transaction; the readings' conflict rows go in the same statement (the
   * trigger reading_conflicts_go, sqlite-schema.ts). A slot left with no reading loses its summary
   * row; one left with some keeps its newest ts (a retention sweep takes the oldest readings; a
   * revocation whole slots).
   *
   * `erase` (a revocation): each chunk first overwrites its readings' values with zeros of the same
   * length, then deletes exactly those rows, with secure_delete. secure_delete zeroes a deleted cell
   * and a freed page, but a delete that leaves a page underfull makes SQLite redistribute the rows
   * of neighbouring pages, and the space a moved row leaves is not zeroed: rows of the chunk not
   * deleted yet were copied so, and their values stayed in the file (20 of 13,333 deleted,
   * measured). A same-size value is rewritten in place (no page is rebalanced, an overflow chain is
   * overwritten), so what the deletion moves then holds no value; both write the same pages in one
   * transaction (one WAL frame each). Without `erase` (retention) a chunk deletes as SQLite does by
   * default, secure_delete off: zeroing the pages a sweep frees doubled the bytes it wrote (50 ->
   * 103 MB for 75,000 readings, measured) and readings past their retention are not a withdrawn
   * consent (docs/COLLECTOR.md "Erasure").
   */
  async deleteChunked(what: string, where: string, args: (string | number)[], erase: boolean, each?: (n: number, last: boolean) => void): Promise<number> {
    const chunk = `SELECT rowid FROM readings WHERE ${where} LIMIT ${DELETE_CHUNK_ROWS}`;
    const zero = erase ? this.guard(what, () => this.db.prepare(`UPDATE readings SET value = zeroblob(length(value)) WHERE rowid IN (${chunk}) RETURNING rowid`)) : undefined;
    // After `zero`, the rows it zeroed, by rowid (one JSON array: no bound-parameter limit): a
    // second LIMIT subquery is not bound to pick the same rows, and a live reading left zeroed is lost.
    const del = this.guard(what, () => this.db.prepare(`DELETE FROM readings WHERE rowid IN (${zero !== undefined ? 'SELECT value FROM json_each(?)' : chunk}) RETURNING gateway, slot`));
    let total = 0;
    for (;;) {
      const n = this.guard(what, () =>
        this.secureDelete(erase, () =>
          this.transaction(() => {
            const rows = (zero !== undefined ? del.all(JSON.stringify(zero.all(...args).map((r) => (r as { rowid: number }).rowid))) : del.all(...args)) as unknown as { gateway: string; slot: string }[];
            if (this.summarised) this.unsummarise(rows);
            each?.(rows.length, rows.length < DELETE_CHUNK_ROWS);
            return rows.length;
          }),
        ),
      );
      total += n;
      if (n < DELETE_CHUNK_ROWS) return total;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Runs `f` with secure_delete `on` or off; the connection's setting (on, sqlite-schema.ts) is back after. */
  private secureDelete<T>(on: boolean, f: () => T): T {
    this.db.exec(`PRAGMA secure_delete = ${on ? 'ON' : 'OFF'}`);
    try {
      return f();
    } finally {
      if (!on) this.db.exec('PRAGMA secure_delete = ON');
    }
  }

  private unsummarise(rows: readonly { gateway: string; slot: string }[]): void {
    const gone = new Map<string, { gateway: string; slot: string; n: number }>();
    for (const r of rows) {
      const key = `${r.gateway}/${r.slot}`;
      const g = gone.get(key);
      if (g === undefined) gone.set(key, { gateway: r.gateway, slot: r.slot, n: 1 });
      else g.n++;
    }
    const dec = this.db.prepare('UPDATE slot_summary SET readings = readings - ? WHERE gateway = ? AND slot = ?');
    const drop = this.db.prepare('DELETE FROM slot_summary WHERE gateway = ? AND slot = ? AND readings <= 0');
    for (const g of gone.values()) {
      dec.run(g.n, g.gateway, g.slot);
      drop.run(g.gateway, g.slot);
    }
  }

  private transaction<T>(f: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = f();
      this.db.exec('COMMIT');
      return out;
    } catch (e) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }
}
