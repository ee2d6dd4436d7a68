// What the PostgreSQL store (postgres.ts) deletes and how: retention's deleteBefore() and a
// revocation's purge(), both in transactions of DELETE_CHUNK_ROWS, and the record of a revocation
// that makes the chunks safe to stop anywhere (store.ts revoke()).

import type pg from 'pg';
import { fromHex, toHex } from '../../uzp/bytes.js';
import { CollectorCode, StoreError } from '../errors.js';
import { auditDetailText } from './checks.js';
import { lockGateways } from './pg-locks.js';
import { DELETE_CHUNK_ROWS } from './pg-settings.js';
import type { AuditEntry, PurgeResult, RevocationScope } from './store.js';

/** The store's transaction(): `f` in one transaction, typed failures, the pool's bounds. */
export type Transaction = <T>(what: string, f: (c: pg.PoolClient) => Promise<T>) => Promise<T>;
/** The store's q(): one statement outside a transaction. */
export type Statement = <R extends pg.QueryResultRow>(what: string, sql: string, args: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * The condition a row of `table` (readings or slot_summary) meets when no unpurged revocation
 * withdrew it: what readers see between a revocation's record and its last deleted chunk.
 */
export function unrevoked(table: string): string {
  return `NOT EXISTS (SELECT 1 FROM revocations v WHERE NOT v.done AND v.gateway = ${table}.gateway AND (v.slots IS NULL OR ${table}.slot = ANY(v.slots)))`;
}

export class PgDeletes {
  constructor(
    private readonly transaction: Transaction,
    private readonly q: Statement,
  ) {}

  /** Records `scope` and `entry` in one transaction; false, and nothing written, when the revocation is recorded already. */
  revoke(scope: RevocationScope, entry: AuditEntry): Promise<boolean> {
    const detail = auditDetailText(entry);
    return this.transaction('revoke', async (c) => {
      const added = await c.query('INSERT INTO revocations (revocation, gateway, slots) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [toHex(scope.revocation), toHex(scope.gateway), scope.slots === undefined ? null : [...scope.slots]]);
      if (added.rowCount !== 1) return false;
      await c.query('INSERT INTO audit (at, gateway, event, detail) VALUES ($1, $2, $3, $4)', [entry.at, toHex(entry.gateway), entry.event, detail]);
      return true;
    });
  }

  /** store.ts purge(): the last chunk marks the revocation done and writes `finished`'s entry, in its transaction. */
  async purge(revocation: Uint8Array, finished: (deleted: number) => AuditEntry): Promise<PurgeResult> {
    const id = toHex(revocation);
    const row = (await this.q<{ gateway: string; slots: string[] | null; deleted: string; done: boolean }>('purge', 'SELECT gateway, slots, deleted, done FROM revocations WHERE revocation = $1', [id])).rows[0];
    if (row === undefined) throw new StoreError(CollectorCode.STORE_INVALID, `purge: revocation ${id} was never recorded (revoke() first)`);
    if (row.done) return { deleted: Number(row.deleted), finished: false };
    // One array parameter: any number of slots, no parameter limit.
    const where = row.slots === null ? 'gateway = $1' : 'gateway = $1 AND slot = ANY($2::text[])';
    let deleted = Number(row.deleted);
    await this.deleteChunked('purge', row.gateway, where, row.slots === null ? [row.gateway] : [row.gateway, row.slots], async (c, k, last) => {
      const total = (await c.query<{ deleted: string }>('UPDATE revocations SET deleted = deleted + $1, done = $2 WHERE revocation = $3 RETURNING deleted', [k, last, id])).rows[0]!.deleted;
      if (last) {
        const e = finished(Number(total));
        await c.query('INSERT INTO audit (at, gateway, event, detail) VALUES ($1, $2, $3, $4)', [e.at, toHex(e.gateway), e.event, auditDetailText(e)]);
      }
      deleted = Number(total);
    });
    return { deleted, finished: true };
  }

  async unpurged(gateway?: Uint8Array): Promise<RevocationScope[]> {
    const res =
      gateway === undefined
        ? await this.q<{ revocation: string; gateway: string; slots: string[] | null }>('unpurged', 'SELECT revocation, gateway, slots FROM revocations WHERE NOT done ORDER BY revocation', [])
        : await this.q<{ revocation: string; gateway: string; slots: string[] | null }>('unpurged', 'SELECT revocation, gateway, slots FROM revocations WHERE NOT done AND gateway = $1 ORDER BY revocation', [toHex(gateway)]);
    return res.rows.map((r) => ({ revocation: fromHex(r.revocation), gateway: fromHex(r.gateway), ...(r.slots !== null ? { slots: r.slots } : {}) }));
  }

  /**
   * Deletes what `where` selects, DELETE_CHUNK_ROWS per transaction, with what it takes from
   * slot_summary, the readings' conflict rows (ON DELETE CASCADE, pg-settings.ts) and `each` (chunk
   * rows, whether it was the last) in the same transaction: one DELETE of a gateway's millions of
   * readings could outlast statement_timeout and then never complete (cancelled at each retry),
   * and held its row locks against the intake throughout. Each
   * chunk first takes the write lock of `gateway` (pg-locks.ts), whose readings `where` selects: no
   * insert or other delete of them runs inside it. A slot left with no reading loses its summary
   * row; one left with some keeps its newest ts (a retention sweep takes the oldest readings; a
   * revocation takes whole slots).
   */
  async deleteChunked(what: string, gateway: string, where: string, args: unknown[], each?: (c: pg.PoolClient, n: number, last: boolean) => Promise<void>): Promise<number> {
    const sql = `WITH d AS (DELETE FROM readings WHERE ctid = ANY(ARRAY(SELECT ctid FROM readings WHERE ${where} LIMIT ${DELETE_CHUNK_ROWS})) RETURNING gateway, slot)
      SELECT gateway, slot, count(*) AS n FROM d GROUP BY gateway, slot ORDER BY gateway, slot`;
    let total = 0;
    for (;;) {
      const n = await this.transaction(what, async (c) => {
        await lockGateways(c, [gateway]);
        const gone = (await c.query<{ gateway: string; slot: string; n: string }>(sql, args)).rows;
        if (gone.length > 0) await summaryTake(c, gone);
        const k = gone.reduce((sum, g) => sum + Number(g.n), 0);
        await each?.(c, k, k < DELETE_CHUNK_ROWS);
        return k;
      });
      total += n;
      if (n < DELETE_CHUNK_ROWS) return total;
    }
  }
}

/** Takes deleted readings off slot_summary (in the delete's transaction; rows in (gateway, slot) order, as insert takes them). */
async function summaryTake(c: pg.PoolClient, gone: readonly { gateway: string; slot: string; n: string }[]): Promise<void> {
  const args = [gone.map((g) => g.gateway), gone.map((g) => g.slot), gone.map((g) => g.n)];
  // An UPDATE … FROM takes its rows in the join's order: locked first in insert's order instead.
  await c.query('SELECT 1 FROM slot_summary WHERE (gateway, slot) IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY gateway, slot FOR UPDATE', args.slice(0, 2));
  await c.query('UPDATE slot_summary s SET readings = s.readings - g.n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS g(gateway, slot, n) WHERE s.gateway = g.gateway AND s.slot = g.slot', args);
  await c.query('DELETE FROM slot_summary WHERE (gateway, slot) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND readings <= 0', args.slice(0, 2));
}
