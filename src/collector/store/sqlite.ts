// The collector's default database (store.ts; ARCHITECTURE "Embedded storage"): one SQLite file
// through node:sqlite, in WAL mode with synchronous=FULL, so the WAL is fsynced at each commit and a
// batch is on disk when insert() resolves (the collector receipts it only then, OI §11.5). Each
// insert() is one transaction: a crash keeps a batch whole or not at all. Readings are unique by
// (gateway, slot, epoch, seq); INSERT OR IGNORE skips what is stored already and counts it (and
// audits a copy whose content differs, conflicts.ts).
// node:sqlite is synchronous: each call runs to its end before the next starts, so concurrent
// insert() calls cannot interleave inside a transaction.

import { existsSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { fromHex, toHex } from '../../uzp/bytes.js';
import { CollectorCode, StoreError } from '../errors.js';
import { auditDetailText, auditEntryOf, checkAt, checkAuditLimit, checkBeforeMs, checkGateway, checkRevocationId, checkQuery, checkReadings, checkRevocation, checkStreamQuery, messageOf, ownedError } from './checks.js';
import type { AuditEntry, InsertResult, PurgeResult, ReadingQuery, ReadingStore, RevocationScope, SlotPosition, SlotSummary, StoredReading, StreamQuery } from './store.js';
import { storedReading } from './store.js';
import { conflictEntry, differences, sentCopy } from './conflicts.js';
import { SqliteDeletes, unrevoked } from './sqlite-deletes.js';
import { type Keyset, nextPage, readPage, type Row } from './sqlite-pages.js';
export { STREAM_PAGE_BYTES, STREAM_PAGE_ROWS } from './sqlite-pages.js';
export { DELETE_CHUNK_ROWS } from './sqlite-deletes.js';
import { hasTable } from '../../lib/sqlite-tables.js';
import { CONFLICT_ONCE, createSchema, INSERT_AUDIT, INSERT_READING, STORED_MATCH, SUMMARY_ADD } from './sqlite-schema.js';

/** How long a statement waits for another connection's write lock (e.g. `collector query` next to a running collector). */
const BUSY_TIMEOUT_MS = 5_000;


export class SqliteStore implements ReadingStore {
  readonly kind = 'sqlite' as const;
  /** Statements of the per-window path, prepared once (a read-only open of an older database lacks some tables: prepared when first used). */
  private readonly statements = new Map<string, StatementSync>();
  private closed = false;

  private readonly deletes: SqliteDeletes;

  private constructor(
    readonly file: string,
    private readonly db: DatabaseSync,
    /** slot_summary exists (a read-only open of an older database may lack it). */
    private readonly summarised: boolean,
    /** revocations exists (the same): without it nothing is held back from readers. */
    private readonly revocable: boolean,
  ) {
    this.deletes = new SqliteDeletes(db, summarised, (what, f) => (this.open(), this.run(what, f)));
  }

  /**
   * Opens the database file; throws STORE_UNREACHABLE with the fix when it cannot. The collector
   * opens it to write, creating it if absent. `readOnly` (`collector query`) opens only an existing
   * collector database and never writes to it: opened to write, a mistyped --db path became a new
   * empty database that answered no readings, as if the collector had stored none.
   */
  static open(file: string, opts: { readonly readOnly?: boolean } = {}): SqliteStore {
    if (opts.readOnly === true && !existsSync(file)) {
      throw new StoreError(CollectorCode.STORE_UNREACHABLE, `no SQLite database at ${file}: check the path given to --db (or the collector config's "db"); reading never creates one`);
    }
    let db: DatabaseSync | undefined;
    try {
      if (opts.readOnly === true) {
        // SQLITE_OPEN_READONLY has no CREATE: a file removed since the check above is not made again.
        db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS, readOnly: true });
        if (!hasTable(db, 'readings')) throw new Error('no readings table: not a collector database');
      } else {
        db = new DatabaseSync(file, { timeout: BUSY_TIMEOUT_MS });
        createSchema(db);
      }
      const store = new SqliteStore(file, db, hasTable(db, 'slot_summary'), hasTable(db, 'revocations'));
      // A crash between a revocation's last chunk and its WAL truncation left the WAL holding what it deleted.
      if (opts.readOnly !== true) store.deletes.eraseOnce();
      return store;
    } catch (e) {
      try {
        db?.close();
      } catch {
        // the open failed; closing is best effort
      }
      const need = opts.readOnly === true ? 'the file must be a collector\'s SQLite database, readable' : 'its directory must exist and be writable, and the file must be a SQLite database';
      throw new StoreError(CollectorCode.STORE_UNREACHABLE, `cannot open the SQLite database ${file} (${messageOf(e)}); check the path given to --db (or the collector config's "db"): ${need}`, { cause: e });
    }
  }

  async insert(readings: readonly StoredReading[], at: number = Date.now()): Promise<InsertResult> {
    this.open();
    checkReadings(readings);
    checkAt(at, 'insert');
    if (readings.length === 0) return { inserted: 0, duplicates: 0, conflicts: [] };
    return this.run('insert (the batch was rolled back)', () => {
      let inserted = 0;
      const conflicts: AuditEntry[] = [];
      this.db.exec('BEGIN IMMEDIATE');
      try {
        // A batch is one gateway's window: its CID is hexed once, not per row.
        let gateway: Uint8Array | undefined;
        let hex = '';
        // What this batch added per (gateway, slot): one summary upsert each, not one per reading.
        const added = new Map<string, { gateway: string; slot: string; n: number; newest: number }>();
        // Identities of the batch whose conflict is recorded (now or before): their other copies are not compared again.
        const settled = new Set<string>();
        for (const r of readings) {
          if (r.gateway !== gateway) hex = toHex((gateway = r.gateway));
          if (Number(this.prepared(INSERT_READING).run(hex, r.slot, r.device, r.kind, r.epoch, r.seq, r.ts, r.value).changes) === 0) {
            const key = `${hex}/${r.epoch}/${r.seq}/${r.slot}`;
            if (settled.has(key)) continue;
            const c = this.conflict(hex, r, at);
            if (c !== false) settled.add(key);
            if (c !== false && c !== undefined) conflicts.push(c);
            continue;
          }
          inserted++;
          const key = `${hex}/${r.slot}`;
          const a = added.get(key);
          if (a === undefined) added.set(key, { gateway: hex, slot: r.slot, n: 1, newest: r.ts });
          else (a.n++, (a.newest = Math.max(a.newest, r.ts)));
        }
        for (const a of added.values()) this.prepared(SUMMARY_ADD).run(a.gateway, a.slot, a.n, a.newest);
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
      return { inserted, duplicates: readings.length - inserted, conflicts };
    });
  }

  /**
   * A duplicate `r` compared with the stored copy (in SQLite: STORED_MATCH): false when it is the
   * same; undefined when a conflict of its identity was recorded before; else the new conflict,
   * its row and audit entry written in the caller's transaction. No stored value reaches JS.
   */
  private conflict(hex: string, r: StoredReading, at: number): AuditEntry | undefined | false {
    const m = this.prepared(STORED_MATCH).get(hex, r.slot, r.epoch, r.seq, r.value.length, r.value) as { known: number; device: string; kind: string; ts: number; same_value: number };
    if (Number(m.known) !== 0) return undefined;
    const differs = differences({ device: m.device, kind: m.kind, ts: Number(m.ts), sameValue: Number(m.same_value) === 1 }, r);
    if (differs.length === 0) return false;
    const sent = sentCopy(r);
    this.prepared(CONFLICT_ONCE).run(hex, r.slot, r.epoch, r.seq, at, sent.device, sent.kind, sent.ts, sent.sha256);
    const e = conflictEntry(at, r, differs);
    this.prepared(INSERT_AUDIT).run(e.at, hex, e.event, auditDetailText(e));
    return e;
  }

  async positions(gateway: Uint8Array): Promise<Map<string, SlotPosition>> {
    this.open();
    checkGateway(gateway, 'positions');
    // The highest epoch per slot, then the highest seq within it: (epoch, seq) order, not max(seq).
    const rows = this.run('positions', () =>
      this.db
        .prepare(
          `SELECT slot, epoch, max(seq) AS seq FROM readings WHERE gateway = ?1
             AND (slot, epoch) IN (SELECT slot, max(epoch) FROM readings WHERE gateway = ?1 GROUP BY slot)
           GROUP BY slot, epoch`,
        )
        .all(toHex(gateway)),
    ) as unknown as { slot: string; epoch: number; seq: number }[];
    return new Map(rows.map((r) => [r.slot, { epoch: Number(r.epoch), seq: Number(r.seq) }]));
  }

  async counts(gateway: Uint8Array): Promise<Map<string, number>> {
    this.open();
    checkGateway(gateway, 'counts');
    const sql = this.summarised
      ? `SELECT slot, readings AS n FROM slot_summary WHERE gateway = ? ${this.shown('slot_summary')}`
      : `SELECT slot, count(*) AS n FROM readings WHERE gateway = ? ${this.shown('readings')} GROUP BY slot`;
    const rows = this.run('counts', () => this.db.prepare(sql).all(toHex(gateway))) as unknown as { slot: string; n: number }[];
    return new Map(rows.map((r) => [r.slot, Number(r.n)]));
  }

  async query(q: ReadingQuery): Promise<StoredReading[]> {
    this.open();
    const limit = checkQuery(q);
    // The value's CASE comes first in the statement, so its bound goes first.
    const args: (string | number)[] = [q.valueMaxBytes ?? -1];
    const where = [...filtersOf(q, args), ...(this.revocable ? [unrevoked('readings')] : [])];
    const order = q.newest === true ? 'gateway DESC, slot DESC, epoch DESC, seq DESC' : 'gateway, slot, epoch, seq';
    // -1: no bound. length() of a BLOB is its size in bytes, read from the record header.
    const value = "CASE WHEN ? < 0 OR length(value) <= ?1 THEN value ELSE x'' END AS value, length(value) AS value_bytes";
    const sql = `SELECT gateway, slot, device, kind, epoch, seq, ts, ${value} FROM readings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
    const rows = this.run('query', () => this.db.prepare(sql).all(...args, limit)) as unknown as Row[];
    if (q.newest === true) rows.reverse();
    return rows.map((r) => storedReading(r, q.valueMaxBytes));
  }

  async *stream(q: StreamQuery): AsyncIterable<StoredReading> {
    this.open();
    checkStreamQuery(q);
    const base: (string | number)[] = [];
    const where = [...filtersOf(q, base), ...(this.revocable ? [unrevoked('readings')] : [])];
    for (let from: Keyset | undefined = { conds: [], args: [] }; from !== undefined; ) {
      this.open();
      const conds = [...where, ...from.conds];
      // The unique index, named: a page seeks its start in it and reads in its order, whatever a
      // time filter would make the planner prefer (the ts index and a sort of everything after).
      const sql = `SELECT gateway, slot, device, kind, epoch, seq, ts, value, length(value) AS value_bytes FROM readings INDEXED BY sqlite_autoindex_readings_1 ${conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY gateway, slot, epoch, seq`;
      const page = this.run('stream', () => readPage(this.db.prepare(sql), [...base, ...from!.args]));
      for (const r of page.rows) yield storedReading(r, undefined);
      from = nextPage(q, from, page);
    }
  }

  async revoke(scope: RevocationScope, entry: AuditEntry): Promise<boolean> {
    this.open();
    checkRevocation(scope);
    return this.deletes.revoke(scope, entry);
  }

  async purge(revocation: Uint8Array, finished: (deleted: number) => AuditEntry): Promise<PurgeResult> {
    this.open();
    checkRevocationId(revocation, 'purge');
    return this.deletes.purge(revocation, finished);
  }

  async unpurged(gateway?: Uint8Array): Promise<RevocationScope[]> {
    this.open();
    if (gateway !== undefined) checkGateway(gateway, 'unpurged');
    return this.revocable ? this.deletes.unpurged(gateway) : [];
  }

  async deleteBefore(gateway: Uint8Array, beforeMs: number): Promise<number> {
    this.open();
    checkGateway(gateway, 'deleteBefore');
    checkBeforeMs(beforeMs);
    const deleted = await this.deletes.deleteChunked('deleteBefore', 'gateway = ? AND ts < ?', [toHex(gateway), beforeMs], false);
    // The hourly sweep: where a WAL truncation a reader kept from completing is tried again.
    await this.deletes.eraseOwed();
    return deleted;
  }

  async audit(e: AuditEntry): Promise<void> {
    this.open();
    const detail = auditDetailText(e);
    this.run('audit', () => this.prepared(INSERT_AUDIT).run(e.at, toHex(e.gateway), e.event, detail));
  }

  async auditLog(gateway?: Uint8Array): Promise<AuditEntry[]> {
    this.open();
    if (gateway !== undefined) checkGateway(gateway, 'auditLog');
    const rows = this.run('auditLog', () =>
      gateway === undefined
        ? this.db.prepare('SELECT at, gateway, event, detail FROM audit ORDER BY id').all()
        : this.db.prepare('SELECT at, gateway, event, detail FROM audit WHERE gateway = ? ORDER BY id').all(toHex(gateway)),
    ) as unknown as { at: number; gateway: string; event: string; detail: string }[];
    return rows.map(auditEntryOf);
  }

  async *auditEvents(event: string): AsyncIterable<AuditEntry> {
    this.open();
    const it = this.run('auditEvents', () => this.db.prepare('SELECT at, gateway, event, detail FROM audit WHERE event = ? ORDER BY id').iterate(event));
    try {
      for (;;) {
        this.open();
        const next = this.run('auditEvents', () => it.next());
        if (next.done === true) return;
        yield auditEntryOf(next.value as unknown as { at: number; gateway: string; event: string; detail: string });
      }
    } finally {
      if (!this.closed) it.return?.();
    }
  }

  async auditGateways(): Promise<Uint8Array[]> {
    this.open();
    const rows = this.run('auditGateways', () => this.db.prepare('SELECT DISTINCT gateway FROM audit').all()) as unknown as { gateway: string }[];
    return rows.map((r) => fromHex(r.gateway));
  }

  async recentAudit(limit: number): Promise<AuditEntry[]> {
    this.open();
    checkAuditLimit(limit);
    const rows = this.run('recentAudit', () => this.db.prepare('SELECT at, gateway, event, detail FROM audit ORDER BY id DESC LIMIT ?').all(limit)) as unknown as { at: number; gateway: string; event: string; detail: string }[];
    return rows.map(auditEntryOf);
  }

  async slotSummaries(): Promise<SlotSummary[]> {
    this.open();
    const sql = this.summarised
      ? `SELECT gateway, slot, readings AS n, newest FROM slot_summary WHERE true ${this.shown('slot_summary')} ORDER BY gateway, slot`
      : `SELECT gateway, slot, count(*) AS n, max(ts) AS newest FROM readings WHERE true ${this.shown('readings')} GROUP BY gateway, slot ORDER BY gateway, slot`;
    const rows = this.run('slotSummaries', () => this.db.prepare(sql).all()) as unknown as { gateway: string; slot: string; n: number; newest: number }[];
    return rows.map((r) => ({ gateway: fromHex(r.gateway), slot: r.slot, readings: Number(r.n), newestTs: Number(r.newest) }));
  }

  async claim(owner: Uint8Array): Promise<void> {
    this.open();
    checkGateway(owner, 'claim');
    const me = toHex(owner);
    const stored = this.run('claim', () => {
      this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('owner', ?)").run(me);
      return (this.db.prepare("SELECT value FROM meta WHERE key = 'owner'").get() as { value: string }).value;
    });
    if (stored !== me) throw ownedError(`SQLite database ${this.file}`, stored, me);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** `AND` what no unpurged revocation withdrew (sqlite-deletes.ts unrevoked()), when the database records revocations. */
  private shown(table: string): string {
    return this.revocable ? `AND ${unrevoked(table)}` : '';
  }

  private prepared(sql: string): StatementSync {
    let st = this.statements.get(sql);
    if (st === undefined) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private open(): void {
    if (this.closed) throw new StoreError(CollectorCode.STORE_CLOSED, `SQLite database ${this.file}: used after close()`);
  }

  /** Runs a statement; a SQLite failure (disk full, I/O error, busy past the timeout) becomes STORE_FAILED. */
  private run<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw new StoreError(CollectorCode.STORE_FAILED, `SQLite database ${this.file}: ${what} failed (${messageOf(e)})`, { cause: e });
    }
  }
}

/** The WHERE conditions of a reading query, their values appended to `args` in order. */
function filtersOf(q: Pick<ReadingQuery, 'gateway' | 'slot' | 'sinceMs' | 'untilMs'>, args: (string | number)[]): string[] {
  const where: string[] = [];
  if (q.gateway !== undefined) (where.push('gateway = ?'), args.push(toHex(q.gateway)));
  if (q.slot !== undefined) (where.push('slot = ?'), args.push(q.slot));
  if (q.sinceMs !== undefined) (where.push('ts >= ?'), args.push(q.sinceMs));
  if (q.untilMs !== undefined) (where.push('ts < ?'), args.push(q.untilMs));
  return where;
}
