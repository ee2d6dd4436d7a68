// The collector's database on PostgreSQL through `pg` (store.ts; ARCHITECTURE "Embedded storage":
// for collectors that outgrow one file). A small pool; the schema created if absent at open. Each
// insert() is one transaction (pg-insert.ts) of multi-row INSERT … ON CONFLICT DO NOTHING
// statements, committed with synchronous_commit on whatever the server's default, so a batch is
// durable when insert() resolves (the collector receipts it only then, OI §11.5).
// Readings are unique by (gateway, slot, epoch, seq); gateway and slot use the "C" collation so
// rows come back in byte order, the order SQLite gives, whatever the server's locale.

import pg from 'pg';
import type { Logger } from 'pino';
import { fromHex, toHex } from '../../uzp/bytes.js';
import { CollectorCode, StoreError } from '../errors.js';
import { auditDetailText, auditEntryOf, checkAt, checkAuditLimit, checkBeforeMs, checkGateway, checkRevocationId, checkQuery, checkReadings, checkRevocation, checkStreamQuery, ownedError } from './checks.js';
import type { AuditEntry, InsertResult, PurgeResult, ReadingQuery, ReadingStore, RevocationScope, SlotPosition, SlotSummary, StoredReading, StreamQuery } from './store.js';
import { storedReading } from './store.js';
import { GateClosed, PermitGate, PermitTimeout } from './pg-gate.js';
import { insertBatch } from './pg-insert.js';
import { PgDeletes, unrevoked } from './pg-deletes.js';
import { ATTEMPTS, createSchema, DEFAULT_TIMEOUTS, KEEPALIVE_DELAY_MS, pgFailure, POOL_MAX, READ_TIMEOUT, RETRYABLE, STREAM_PAGE_BYTES, STREAM_PAGE_ROWS, targetOf, type PgTimeouts } from './pg-settings.js';
export { CHUNK_ROWS, CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, DELETE_CHUNK_ROWS, IDLE_IN_TRANSACTION_MS, KEEPALIVE_DELAY_MS, MAX_PARAMS, POOL_MAX, POOL_WAIT_MS, QUERY_TIMEOUT_MS, STATEMENT_TIMEOUT_MS, STREAM_PAGE_BYTES, STREAM_PAGE_ROWS, UPGRADE_TIMEOUT_MS, type PgTimeouts } from './pg-settings.js';

/** bigint columns come back as strings (they may exceed 2^53); ours are checked safe integers on the way in. */
interface Row {
  gateway: string;
  slot: string;
  device: string;
  kind: string;
  epoch: string;
  seq: string;
  ts: string;
  value: Buffer;
}

export class PostgresStore implements ReadingStore {
  readonly kind = 'postgres' as const;
  private closed = false;
  private readonly gate = new PermitGate(POOL_MAX);
  /** Every connection the pool holds, so close() can cut the ones stuck past its bound. */
  private readonly clients = new Set<pg.PoolClient>();

  private readonly deletes = new PgDeletes(
    (what, f) => this.transaction(what, f),
    (what, sql, args) => this.q(what, sql, args),
  );
  /** The revocations table exists (a read-only open of an older database may lack it): without it nothing is held back from readers. */
  private revocable = true;

  private constructor(
    /** host:port/database, for messages (never the password). */
    readonly target: string,
    private readonly pool: pg.Pool,
    private readonly t: PgTimeouts,
  ) {
    pool.on('connect', (c) => this.clients.add(c as pg.PoolClient));
    pool.on('remove', (c) => this.clients.delete(c as pg.PoolClient));
  }

  /**
   * Connects and creates the schema if absent; throws STORE_UNREACHABLE or STORE_REFUSED with the
   * fix. `readOnly` (`collector query`) creates nothing: it checks the tables are there (a SELECT
   * privilege is all it needs) and runs every session read-only. The schema's CREATE … IF NOT EXISTS
   * failed for a SELECT-only role, and on a mistyped database made empty tables and answered nothing.
   */
  static async open(url: string, timeouts: Partial<PgTimeouts> = {}, opts: OpenOptions = {}): Promise<PostgresStore> {
    const readOnly = opts.readOnly === true;
    const target = targetOf(url);
    const t = { ...DEFAULT_TIMEOUTS, ...timeouts };
    const pool = new pg.Pool({
      connectionString: url,
      max: POOL_MAX,
      connectionTimeoutMillis: t.connectMs,
      application_name: 'uzpgw-collector',
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      statement_timeout: t.statementMs,
      query_timeout: t.queryMs,
      idle_in_transaction_session_timeout: t.idleInTransactionMs,
      ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    });
    // An idle connection that dies (server restart) is reported here; without a listener it would
    // crash the process. The pool drops it, and the next statement fails (typed) or reconnects.
    pool.on('error', () => {});
    const store = new PostgresStore(target, pool, t);
    try {
      const c = await pool.connect();
      const onError = (): void => {}; // as in transaction(): the statement fails on its own
      c.on('error', onError);
      try {
        if (readOnly) {
          const res = await c.query<{ missing: string | null }>("SELECT string_agg(t, ', ') AS missing FROM unnest(ARRAY['readings', 'audit']) AS t WHERE to_regclass(t) IS NULL");
          const missing = res.rows[0]?.missing ?? null;
          if (missing !== null) {
            throw new StoreError(CollectorCode.STORE_UNREACHABLE, `PostgreSQL at ${target} holds no collector database (no table ${missing}): check the database named in the URL given to --db (or the collector config's "db"); reading never creates one`);
          }
          // Readings of a revocation not wholly deleted yet are held back (pg-deletes.ts unrevoked()),
          // which needs the revocations table: a role that cannot read it would be shown them.
          const rev = (await c.query<{ r: string | null; may: boolean | null }>("SELECT to_regclass('revocations') AS r, CASE WHEN to_regclass('revocations') IS NULL THEN NULL ELSE has_table_privilege('revocations', 'SELECT') END AS may")).rows[0];
          store.revocable = (rev?.r ?? null) !== null;
          if (rev?.may === false) {
            throw new StoreError(CollectorCode.STORE_REFUSED, `PostgreSQL at ${target}: this role may not read the table revocations, which says what readings a revocation withdrew and are not to be shown: GRANT SELECT ON readings, audit, revocations TO the role given in --db`);
          }
        } else await createSchema(c, t, target, opts.logger);
      } finally {
        c.off('error', onError);
        c.release(true); // a failed multi-statement may leave the transaction open: never reuse it
      }
    } catch (e) {
      await pool.end().catch(() => {});
      throw store.fail('opening the store', e);
    }
    return store;
  }

  async insert(readings: readonly StoredReading[], at: number = Date.now()): Promise<InsertResult> {
    this.open();
    checkReadings(readings);
    checkAt(at, 'insert');
    if (readings.length === 0) return { inserted: 0, duplicates: 0, conflicts: [] };
    return this.transaction('insert (the batch was rolled back)', (c) => insertBatch(c, readings, at));
  }

  async positions(gateway: Uint8Array): Promise<Map<string, SlotPosition>> {
    this.open();
    checkGateway(gateway, 'positions');
    // (epoch, seq) order: the highest epoch, then its highest seq; not max(seq) across epochs.
    const res = await this.q<{ slot: string; epoch: string; seq: string }>('positions', 'SELECT DISTINCT ON (slot) slot, epoch, seq FROM readings WHERE gateway = $1 ORDER BY slot, epoch DESC, seq DESC', [toHex(gateway)]);
    return new Map(res.rows.map((r) => [r.slot, { epoch: Number(r.epoch), seq: Number(r.seq) }]));
  }

  async counts(gateway: Uint8Array): Promise<Map<string, number>> {
    this.open();
    checkGateway(gateway, 'counts');
    const res = await this.q<{ slot: string; n: string }>('counts', `SELECT slot, readings AS n FROM slot_summary WHERE gateway = $1 ${this.shown('slot_summary')}`, [toHex(gateway)]);
    return new Map(res.rows.map((r) => [r.slot, Number(r.n)]));
  }

  async query(q: ReadingQuery): Promise<StoredReading[]> {
    this.open();
    const limit = checkQuery(q);
    const args: unknown[] = [];
    const where = [...filtersOf(q, args), ...(this.revocable ? [unrevoked('readings')] : [])];
    args.push(limit);
    const limitAt = args.length;
    args.push(q.valueMaxBytes ?? -1);
    // -1: no bound; a longer value is not read (ReadingQuery.valueMaxBytes).
    const value = `CASE WHEN $${args.length}::int < 0 OR octet_length(value) <= $${args.length}::int THEN value ELSE ''::bytea END AS value, octet_length(value) AS value_bytes`;
    const order = q.newest === true ? 'gateway DESC, slot DESC, epoch DESC, seq DESC' : 'gateway, slot, epoch, seq';
    const sql = `SELECT gateway, slot, device, kind, epoch, seq, ts, ${value} FROM readings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT $${limitAt}`;
    const res = await this.q<Row & { value_bytes: number }>('query', sql, args);
    if (q.newest === true) res.rows.reverse();
    // A copy (storedReading): pg's Buffers may be views into a shared pool slab.
    return res.rows.map((r) => storedReading(r, q.valueMaxBytes));
  }

  async *stream(q: StreamQuery): AsyncIterable<StoredReading> {
    this.open();
    checkStreamQuery(q);
    const base: unknown[] = [];
    const where = [...filtersOf(q, base), ...(this.revocable ? [unrevoked('readings')] : [])];
    const n = base.length;
    // Each page starts after the last row of the one before, by the primary key's order.
    const after = `(gateway, slot, epoch, seq) > ($${n + 1}, $${n + 2}, $${n + 3}::bigint, $${n + 4}::bigint)`;
    // A page is the next STREAM_PAGE_ROWS keys, of which only those whose values, summed in key
    // order, stay within STREAM_PAGE_BYTES come back (the first always): a thousand values of up to
    // 512 KiB were up to 500 MB held in `collector query` at once. octet_length() reads a stored
    // value's size without detoasting it, and rows past the bound never leave the server.
    const order = 'gateway, slot, epoch, seq';
    const sql = (first: boolean): string => {
      const conds = first ? where : [...where, after];
      const page = `SELECT gateway, slot, device, kind, epoch, seq, ts, value, octet_length(value) AS value_bytes FROM readings ${conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ${STREAM_PAGE_ROWS}`;
      const sized = `SELECT p.*, sum(value_bytes) OVER (ORDER BY ${order} ROWS UNBOUNDED PRECEDING) AS upto, count(*) OVER () AS page_rows FROM (${page}) p`;
      return `SELECT * FROM (${sized}) w WHERE upto <= ${STREAM_PAGE_BYTES} OR upto = value_bytes ORDER BY ${order}`;
    };
    let last: Row | undefined;
    for (;;) {
      const args = last === undefined ? base : [...base, last.gateway, last.slot, last.epoch, last.seq];
      const res = await this.q<Row & { value_bytes: number; page_rows: string }>('stream', sql(last === undefined), args);
      for (const r of res.rows) yield storedReading(r, undefined);
      // Done when the page held fewer keys than its bound and all of them came back.
      const keys = res.rows.length === 0 ? 0 : Number(res.rows[0]!.page_rows);
      if (keys < STREAM_PAGE_ROWS && res.rows.length === keys) return;
      last = res.rows[res.rows.length - 1];
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
    return this.deletes.deleteChunked('deleteBefore', toHex(gateway), 'gateway = $1 AND ts < $2', [toHex(gateway), beforeMs]);
  }

  async audit(e: AuditEntry): Promise<void> {
    this.open();
    const detail = auditDetailText(e);
    await this.q('audit', 'INSERT INTO audit (at, gateway, event, detail) VALUES ($1, $2, $3, $4)', [e.at, toHex(e.gateway), e.event, detail]);
  }

  async auditLog(gateway?: Uint8Array): Promise<AuditEntry[]> {
    this.open();
    if (gateway !== undefined) checkGateway(gateway, 'auditLog');
    const res =
      gateway === undefined
        ? await this.q<AuditRow>('auditLog', 'SELECT at, gateway, event, detail FROM audit ORDER BY id', [])
        : await this.q<AuditRow>('auditLog', 'SELECT at, gateway, event, detail FROM audit WHERE gateway = $1 ORDER BY id', [toHex(gateway)]);
    return res.rows.map(auditEntryOf);
  }

  async *auditEvents(event: string): AsyncIterable<AuditEntry> {
    this.open();
    // Keyset pages by id, as stream(): no cursor pinning a connection.
    for (let after = '0'; ; ) {
      const res = await this.q<AuditRow & { id: string }>('auditEvents', `SELECT id, at, gateway, event, detail FROM audit WHERE event = $1 AND id > $2 ORDER BY id LIMIT ${STREAM_PAGE_ROWS}`, [event, after]);
      for (const r of res.rows) yield auditEntryOf(r);
      if (res.rows.length < STREAM_PAGE_ROWS) return;
      after = res.rows[res.rows.length - 1]!.id;
    }
  }

  async auditGateways(): Promise<Uint8Array[]> {
    this.open();
    const res = await this.q<{ gateway: string }>('auditGateways', 'SELECT DISTINCT gateway FROM audit', []);
    return res.rows.map((r) => fromHex(r.gateway));
  }

  async recentAudit(limit: number): Promise<AuditEntry[]> {
    this.open();
    checkAuditLimit(limit);
    const res = await this.q<AuditRow>('recentAudit', 'SELECT at, gateway, event, detail FROM audit ORDER BY id DESC LIMIT $1', [limit]);
    return res.rows.map(auditEntryOf);
  }

  async slotSummaries(): Promise<SlotSummary[]> {
    this.open();
    // slot_summary (pg-insert.ts, deleteChunked): a GROUP BY here counted every reading on every console view.
    const res = await this.q<{ gateway: string; slot: string; n: string; newest: string }>('slotSummaries', `SELECT gateway, slot, readings AS n, newest FROM slot_summary WHERE true ${this.shown('slot_summary')} ORDER BY gateway, slot`, []);
    return res.rows.map((r) => ({ gateway: fromHex(r.gateway), slot: r.slot, readings: Number(r.n), newestTs: Number(r.newest) }));
  }

  async claim(owner: Uint8Array): Promise<void> {
    this.open();
    checkGateway(owner, 'claim');
    const me = toHex(owner);
    // One statement: two collectors claiming at once cannot both win (the primary key decides).
    const res = await this.q<{ value: string }>(
      'claim',
      "WITH ins AS (INSERT INTO meta (key, value) VALUES ('owner', $1) ON CONFLICT (key) DO NOTHING RETURNING value) SELECT value FROM ins UNION ALL SELECT value FROM meta WHERE key = 'owner' LIMIT 1",
      [me],
    );
    // Lost a race: the winner's row was committed after this statement's snapshot; read it now.
    const stored = res.rows[0]?.value ?? (await this.q<{ value: string }>('claim', "SELECT value FROM meta WHERE key = 'owner'", [])).rows[0]?.value ?? me;
    if (stored !== me) throw ownedError(`PostgreSQL database ${this.target}`, stored, me);
  }

  /**
   * Waits for statements under way (at most closeMs), then cuts the connections still busy: their
   * statements fail (nothing is receipted for them) and the server rolls back their transactions.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.gate.close();
    const ended = this.pool.end().catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([ended.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.t.closeMs)))]);
    clearTimeout(timer);
    if (!late) return;
    for (const c of this.clients) (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    // Cut: each statement fails at once and its connection leaves the pool; still bounded.
    await Promise.race([ended, new Promise<void>((r) => setTimeout(r, this.t.closeMs).unref())]);
  }

  /** `AND` what no unpurged revocation withdrew (pg-deletes.ts unrevoked()), when the database records revocations. */
  private shown(table: string): string {
    return this.revocable ? `AND ${unrevoked(table)}` : '';
  }

  private open(): void {
    if (this.closed) throw new StoreError(CollectorCode.STORE_CLOSED, `PostgreSQL at ${this.target}: used after close()`);
  }

  /** One of the POOL_MAX turns; STORE_BUSY when none came free in poolWaitMs. */
  private async turn(what: string): Promise<() => void> {
    try {
      return await this.gate.acquire(this.t.poolWaitMs);
    } catch (e) {
      if (e instanceof GateClosed) throw new StoreError(CollectorCode.STORE_CLOSED, `PostgreSQL at ${this.target}: ${what} was waiting when the store was closed`, { cause: e });
      if (e instanceof PermitTimeout) {
        throw new StoreError(CollectorCode.STORE_BUSY, `PostgreSQL at ${this.target}: ${what} waited ${this.t.poolWaitMs} ms and none of the ${POOL_MAX} connections came free (the server is slow, or a lock holds the statements under way); nothing of it was stored`, { cause: e });
      }
      throw e;
    }
  }

  private async q<R extends pg.QueryResultRow = pg.QueryResultRow>(what: string, sql: string, args: unknown[]): Promise<pg.QueryResult<R>> {
    const done = await this.turn(what);
    try {
      // pg's pool drops a connection whose statement failed (read timeout included).
      return await this.pool.query<R>(sql, args);
    } catch (e) {
      throw this.fail(what, e);
    } finally {
      done();
    }
  }

  /**
   * Runs `f` in one transaction, again after a deadlock or serialization failure. When COMMIT itself
   * fails (connection lost) the outcome is unknown: the caller gets an error and receipts nothing,
   * the gateway sends the window again, and what was stored comes back as duplicates.
   */
  private async transaction<T>(what: string, f: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.open();
      const done = await this.turn(what);
      let c: pg.PoolClient;
      try {
        c = await this.pool.connect();
      } catch (e) {
        done();
        throw this.fail(what, e);
      }
      let broken = false;
      // A connection that dies while checked out emits 'error' on the client (the pool listens only
      // to idle ones): without a listener that is an uncaught exception. The query in flight fails
      // on its own; the connection is not reused.
      const onError = (): void => void (broken = true);
      c.on('error', onError);
      try {
        await c.query('BEGIN; SET LOCAL synchronous_commit = on');
        const out = await f(c);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        // A statement the server never answered leaves the connection mid-statement: a ROLLBACK
        // would wait behind it for another queryMs. Dropped instead; the server rolls back.
        if (e instanceof Error && e.message === READ_TIMEOUT) broken = true;
        else await c.query('ROLLBACK').catch(() => (broken = true));
        if (attempt < ATTEMPTS && e instanceof pg.DatabaseError && RETRYABLE.has(e.code ?? '')) continue;
        throw this.fail(what, e);
      } finally {
        c.off('error', onError);
        c.release(broken);
        done();
      }
    }
  }

  private fail(what: string, e: unknown): StoreError {
    return pgFailure(this.target, this.t.queryMs, what, e);
  }
}

export interface OpenOptions {
  readonly readOnly?: boolean;
  /** Told what opening does that takes long (filling slot_summary on a database from before it). */
  readonly logger?: Pick<Logger, 'info'>;
}

interface AuditRow {
  at: string;
  gateway: string;
  event: string;
  detail: string;
}

/** The WHERE conditions of a reading query, their values appended to `args` ($1, $2, … in order). */
function filtersOf(q: Pick<ReadingQuery, 'gateway' | 'slot' | 'sinceMs' | 'untilMs'>, args: unknown[]): string[] {
  const where: string[] = [];
  const add = (cond: string, v: unknown): void => {
    args.push(v);
    where.push(cond.replace('?', `$${args.length}`));
  };
  if (q.gateway !== undefined) add('gateway = ?', toHex(q.gateway));
  if (q.slot !== undefined) add('slot = ?', q.slot);
  if (q.sinceMs !== undefined) add('ts >= ?', q.sinceMs);
  if (q.untilMs !== undefined) add('ts < ?', q.untilMs);
  return where;
}
