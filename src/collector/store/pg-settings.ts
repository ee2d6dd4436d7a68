// The PostgreSQL store's bounds, schema and failure mapping (postgres.ts): how long a connect, a
// statement, a wait for a connection and close() may take, and what each failure is called.

import pg from 'pg';
import type { Logger } from 'pino';
import { CollectorCode, StoreError } from '../errors.js';
import { messageOf } from './checks.js';

/** Connections kept: the collector writes one batch per window; more would only contend on the same index. */
export const POOL_MAX = 4;
/** A host that drops packets must not hang the collector's start (or a `collector query`). */
export const CONNECT_TIMEOUT_MS = 10_000;
/**
 * A statement's bound on the server (statement_timeout). The longest statement the collector runs is
 * one window's insert (at most INTAKE_MAX_WAITING_BYTES = 16 MiB of readings, CHUNK_ROWS per
 * statement) or one delete chunk: seconds on a healthy server. Past this the server cancels it
 * (57014) and the window is sent again.
 */
export const STATEMENT_TIMEOUT_MS = 30_000;
/**
 * A statement's bound on our side (pg's query_timeout): when the server does not answer at all (a
 * silent partition, a frozen host) nothing cancels it there, and without this the insert waited
 * until TCP gave up (~15 min) holding its connection. Longer than STATEMENT_TIMEOUT_MS, so a server
 * that is there answers with its own cancel first.
 */
export const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 5_000;
/** A transaction whose collector vanished mid-way releases its row locks after this (server side). */
export const IDLE_IN_TRANSACTION_MS = STATEMENT_TIMEOUT_MS;
/** TCP keepalive: a dead peer of an idle pooled connection is noticed in tens of seconds, not hours. */
export const KEEPALIVE_DELAY_MS = 10_000;
/** How long a statement waits for one of the POOL_MAX connections: as long as a holder may legitimately take. */
export const POOL_WAIT_MS = QUERY_TIMEOUT_MS;
/** close() waits this long for statements under way, then cuts their connections (SIGTERM must end the process). */
export const CLOSE_TIMEOUT_MS = 5_000;

/**
 * The bound on opening's schema transaction instead of STATEMENT_TIMEOUT_MS (server and client
 * side, plus the same 5 s on ours): on a database from before slot_summary it fills the table from
 * every reading in one GROUP BY, minutes on a large one. Under the 30 s bound it was cancelled,
 * everything rolled back, and every start failed the same way.
 */
export const UPGRADE_TIMEOUT_MS = 60 * 60_000;

/** The bounds above; a test shortens them. */
export interface PgTimeouts {
  readonly connectMs: number;
  readonly statementMs: number;
  readonly upgradeMs: number;
  readonly queryMs: number;
  readonly idleInTransactionMs: number;
  readonly poolWaitMs: number;
  readonly closeMs: number;
}
export const DEFAULT_TIMEOUTS: PgTimeouts = { connectMs: CONNECT_TIMEOUT_MS, statementMs: STATEMENT_TIMEOUT_MS, upgradeMs: UPGRADE_TIMEOUT_MS, queryMs: QUERY_TIMEOUT_MS, idleInTransactionMs: IDLE_IN_TRANSACTION_MS, poolWaitMs: POOL_WAIT_MS, closeMs: CLOSE_TIMEOUT_MS };
/** pg's message when query_timeout passed: the connection is mid-statement and cannot be reused. */
export const READ_TIMEOUT = 'Query read timeout';
export const COLUMNS = 8;
/** Rows one DELETE removes (retention, revocation): each statement well inside STATEMENT_TIMEOUT_MS. */
export const DELETE_CHUNK_ROWS = 4096;
/** Rows stream() reads per statement: keyset pages, so at most this many are held and no cursor pins a connection. */
export const STREAM_PAGE_ROWS = 1000;
/** And bytes of values per page (at least one reading), as the SQLite store's (sqlite-pages.ts): a value may be 512 KiB. */
export const STREAM_PAGE_BYTES = 4 * 1024 * 1024;
/** The wire protocol counts a statement's bind parameters in 16 bits (Bind message): at most 65,535. */
export const MAX_PARAMS = 65_535;
export const CHUNK_ROWS = Math.floor(MAX_PARAMS / COLUMNS);
/** A deadlock or serialization failure rolls the whole transaction back: safe to run it again. */
export const ATTEMPTS = 3;
export const RETRYABLE = new Set(['40P01', '40001']);
/** Serialises schema creation by two collectors starting on one database at once (CREATE … IF NOT EXISTS races otherwise). */
const SCHEMA_LOCK = 0x757a7067; // "uzpg"

/** slot_summary, and its one filling from readings (a database from before it); also what the failure advice tells an operator to run. */
export const SLOT_SUMMARY_TABLE = `CREATE TABLE slot_summary (
        gateway text COLLATE "C" NOT NULL, slot text COLLATE "C" NOT NULL, readings bigint NOT NULL, newest bigint NOT NULL,
        PRIMARY KEY (gateway, slot))`;
export const SLOT_SUMMARY_FILL = 'INSERT INTO slot_summary (gateway, slot, readings, newest) SELECT gateway, slot, count(*), max(ts) FROM readings GROUP BY gateway, slot';
/** The server's notice (RAISE NOTICE) when the fill starts: the store logs it, and knows what a failure was doing. */
export const FILLING_NOTICE = 'filling slot_summary from every stored reading (a database from before it; once)';

/** The foreign key that deletes a conflict row with its reading, in the same statement (conflicts.ts). */
const CONFLICT_READING = 'reading_conflicts_reading';
/**
 * A database from before conflict rows kept the copy sent: its conflict audit entries held both
 * copies, digests included, and a revoked reading's row stayed (conflicts.ts). Once, in the schema's
 * transaction: the row gains the copy sent (from its entry), a row whose reading is gone is deleted
 * (which the foreign key, added last, then requires), and every entry keeps the identity and which
 * fields differed, in ConflictField order.
 */
const CONFLICTS_UPGRADE = `
      ALTER TABLE reading_conflicts ADD COLUMN IF NOT EXISTS at bigint, ADD COLUMN IF NOT EXISTS sent_device text, ADD COLUMN IF NOT EXISTS sent_kind text,
        ADD COLUMN IF NOT EXISTS sent_ts bigint, ADD COLUMN IF NOT EXISTS sent_sha256 text;
      DELETE FROM reading_conflicts c WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE (r.gateway, r.slot, r.epoch, r.seq) = (c.gateway, c.slot, c.epoch, c.seq));
      UPDATE reading_conflicts c SET at = a.at, sent_device = a.d #>> '{sent,device}', sent_kind = a.d #>> '{sent,kind}', sent_ts = (a.d #>> '{sent,ts}')::bigint, sent_sha256 = a.d #>> '{sent,sha256}'
        FROM (SELECT at, gateway, detail::jsonb AS d FROM audit WHERE event = 'readings.conflict') a
       WHERE a.gateway = c.gateway AND a.d ->> 'slot' = c.slot AND (a.d ->> 'epoch')::bigint = c.epoch AND (a.d ->> 'seq')::bigint = c.seq AND a.d ? 'sent';
      UPDATE audit SET detail = jsonb_build_object('slot', d -> 'slot', 'epoch', d -> 'epoch', 'seq', d -> 'seq', 'differs',
          (SELECT coalesce(jsonb_agg(f ORDER BY o), '[]'::jsonb) FROM (VALUES (1, 'device', 'device'), (2, 'kind', 'kind'), (3, 'ts', 'ts'), (4, 'value', 'sha256')) v(o, f, k)
            WHERE d -> 'kept' -> k IS DISTINCT FROM d -> 'sent' -> k))::text
        FROM (SELECT id AS old, detail::jsonb AS d FROM audit WHERE event = 'readings.conflict') o
       WHERE audit.id = o.old AND o.d ? 'kept';
      ALTER TABLE reading_conflicts ADD CONSTRAINT ${CONFLICT_READING} FOREIGN KEY (gateway, slot, epoch, seq) REFERENCES readings ON DELETE CASCADE;`;

/**
 * The collector's tables, created if absent, in one transaction bounded by `upgradeMs` instead of
 * the statement bound (UPGRADE_TIMEOUT_MS).
 */
export function schema(upgradeMs: number): string {
  return `
  BEGIN;
  SET LOCAL statement_timeout = ${Math.floor(upgradeMs)};
  SELECT pg_advisory_xact_lock(${SCHEMA_LOCK});
  CREATE TABLE IF NOT EXISTS readings (
    gateway text COLLATE "C" NOT NULL, slot text COLLATE "C" NOT NULL, device text NOT NULL, kind text NOT NULL,
    epoch bigint NOT NULL, seq bigint NOT NULL, ts bigint NOT NULL, value bytea NOT NULL,
    PRIMARY KEY (gateway, slot, epoch, seq));
  CREATE INDEX IF NOT EXISTS readings_ts ON readings (ts);
  CREATE TABLE IF NOT EXISTS audit (
    id bigserial PRIMARY KEY, at bigint NOT NULL, gateway text COLLATE "C" NOT NULL,
    event text NOT NULL, detail text NOT NULL);
  CREATE INDEX IF NOT EXISTS audit_gateway ON audit (gateway, id);
  CREATE INDEX IF NOT EXISTS audit_event ON audit (event, id);
  CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);
  -- slot_summary: as SQLite's (sqlite-schema.ts), filled once from readings when first made (a
  -- database from before it), under the same lock and in the same transaction as its creation.
  DO $$ BEGIN
    IF to_regclass('slot_summary') IS NULL THEN
      RAISE NOTICE '${FILLING_NOTICE}';
      ${SLOT_SUMMARY_TABLE};
      ${SLOT_SUMMARY_FILL};
    END IF;
  END $$;
  -- A revocation recorded before its readings are deleted (store.ts revoke()); slots NULL: every
  -- slot. Kept once done: the count answers a revocation the gateway sends again.
  CREATE TABLE IF NOT EXISTS revocations (
    revocation text PRIMARY KEY, gateway text COLLATE "C" NOT NULL, slots text[],
    deleted bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false);
  CREATE INDEX IF NOT EXISTS revocations_undone ON revocations (gateway) WHERE NOT done;
  -- A reading resent with other content (conflicts.ts): the copy sent, deleted with the reading.
  CREATE TABLE IF NOT EXISTS reading_conflicts (
    gateway text COLLATE "C" NOT NULL, slot text COLLATE "C" NOT NULL, epoch bigint NOT NULL, seq bigint NOT NULL,
    at bigint, sent_device text, sent_kind text, sent_ts bigint, sent_sha256 text,
    PRIMARY KEY (gateway, slot, epoch, seq),
    CONSTRAINT ${CONFLICT_READING} FOREIGN KEY (gateway, slot, epoch, seq) REFERENCES readings ON DELETE CASCADE);
  DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'reading_conflicts'::regclass AND conname = '${CONFLICT_READING}') THEN
      ${CONFLICTS_UPGRADE}
    END IF;
  END $$;
  COMMIT;`;
}

/** The failure of opening while it filled slot_summary: nothing was changed, and how to do it by hand. */
export function fillFailure(target: string, upgradeMs: number, e: unknown): StoreError {
  return new StoreError(
    CollectorCode.STORE_FAILED,
    `PostgreSQL at ${target}: filling slot_summary from the stored readings (this database is from before it) failed or did not finish within ${upgradeMs} ms (${messageOf(e)}); nothing was changed, and every start tries again. Fill it once by hand, with no time limit, e.g. in psql connected to that database: BEGIN; ${SLOT_SUMMARY_TABLE.replace(/\s+/g, ' ')}; ${SLOT_SUMMARY_FILL}; COMMIT; — then start the collector again`,
    { cause: e },
  );
}

/** Maps a failure to a typed error: the server refused us, cannot be reached, or a statement failed. */
export function pgFailure(target: string, queryMs: number, what: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const msg = messageOf(e);
  const code = e instanceof pg.DatabaseError ? (e.code ?? '') : undefined;
  // SQLSTATE class 28: invalid authorization; 3D000: no such database.
  if (code !== undefined && (code.startsWith('28') || code === '3D000')) {
    return new StoreError(CollectorCode.STORE_REFUSED, `PostgreSQL at ${target} refused the connection (${msg}); check the user, password and database name in the URL given to --db (or the collector config's "db")`, { cause: e });
  }
  // No SQLSTATE: the socket failed (refused, timed out, reset); class 08 and 57P0x: connection
  // failures and a server shutting down or starting up.
  if (e instanceof Error && e.message === READ_TIMEOUT) {
    return new StoreError(CollectorCode.STORE_UNREACHABLE, `PostgreSQL at ${target} did not answer ${what} within ${queryMs} ms (the network or the server is not passing anything); the connection was dropped and nothing of it was stored`, { cause: e });
  }
  if (code === undefined || code.startsWith('08') || /^57P0[1-3]$/.test(code)) {
    return new StoreError(CollectorCode.STORE_UNREACHABLE, `cannot reach PostgreSQL at ${target} (${what}: ${msg}); check the URL given to --db (or the collector config's "db") and that the server is running and accepts connections there`, { cause: e });
  }
  return new StoreError(CollectorCode.STORE_FAILED, `PostgreSQL at ${target}: ${what} failed (${msg}, SQLSTATE ${code})`, { cause: e });
}

/** "host:port/database" of a postgres:// URL, for messages: never its user or password. */
export function targetOf(url: string): string {
  try {
    const u = new URL(url);
    // A unix-socket URL names its directory in ?host=…
    const host = u.searchParams.get('host') ?? (u.hostname !== '' ? u.hostname : 'localhost');
    const port = u.searchParams.get('port') ?? (u.port !== '' ? u.port : '5432');
    const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
    return `${host}:${port}${db !== '' ? `/${db}` : ''}`;
  } catch {
    return '(an unparsable URL)';
  }
}

/**
 * Creates what is absent, in one transaction bounded by upgradeMs, not the statement bound: filling
 * slot_summary on a database from before it may take minutes (UPGRADE_TIMEOUT_MS). Its start and
 * end are logged; a failure during it says how to fill it by hand.
 */
export async function createSchema(c: pg.PoolClient, t: PgTimeouts, target: string, logger: Pick<Logger, 'info'> | undefined): Promise<void> {
  let filling: number | undefined;
  const onNotice = (n: { message?: string }): void => {
    if (n.message !== FILLING_NOTICE) return;
    filling = Date.now();
    logger?.info({ event: 'store.upgrade', target, boundMs: t.upgradeMs }, `PostgreSQL: ${FILLING_NOTICE}; this may take minutes on a large database`);
  };
  c.on('notice', onNotice);
  try {
    await c.query({ text: schema(t.upgradeMs), query_timeout: t.upgradeMs + (t.queryMs - t.statementMs) } as pg.QueryConfig);
  } catch (e) {
    throw filling !== undefined ? fillFailure(target, t.upgradeMs, e) : e;
  } finally {
    c.off('notice', onNotice);
  }
  if (filling !== undefined) logger?.info({ event: 'store.upgraded', target, ms: Date.now() - filling }, 'PostgreSQL: slot_summary filled');
}
