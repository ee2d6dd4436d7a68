// PostgreSQL deletes (retention, revocation) in statements of DELETE_CHUNK_ROWS: one DELETE of a
// gateway's millions of readings could outlast the store's statement_timeout and then fail at every
// retry (a revocation never applied, a retention sweep never done). Statements counted, not timed.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DELETE_CHUNK_ROWS, PostgresStore } from '../../src/collector/store/postgres.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
});

const G = new Uint8Array(32).fill(0x44);
const r = (slot: string, seq: number, ts: number): StoredReading => ({ gateway: G, slot, device: 'd', kind: 'k', epoch: 1, seq, ts, value: Uint8Array.of(1) });

describe.skipIf(pgSkip !== undefined)('PostgresStore deletes', () => {
  it('a delete of N readings runs in ceil(N / DELETE_CHUNK_ROWS) statements, and leaves the rest', async () => {
    cluster = await startPostgres();
    const s = await PostgresStore.open(await cluster.createDatabase());
    try {
      const N = DELETE_CHUNK_ROWS * 2 + 100;
      await s.insert(Array.from({ length: N }, (_, i) => r('big', i, 1_000 + i)));
      await s.insert(Array.from({ length: 10 }, (_, i) => r('keep', i, 1e12)));
      const pool = (s as unknown as { pool: pg.Pool }).pool;
      const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
      let deletes = 0;
      (pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
        if (typeof a[0] === 'string' && a[0].startsWith('DELETE')) deletes++;
        return query(...a);
      };
      expect(await s.deleteBefore(G, 1e9)).toBe(N);
      expect(deletes).toBe(Math.ceil(N / DELETE_CHUNK_ROWS));
      expect((await s.counts(G)).get('keep')).toBe(10);
      await s.insert(Array.from({ length: N }, (_, i) => r('big', i, 1_000 + i)));
      deletes = 0;
      expect(await s.deleteScope(G, ['big'])).toBe(N);
      expect(deletes).toBe(Math.ceil(N / DELETE_CHUNK_ROWS));
      expect(await s.deleteScope(G)).toBe(10);
    } finally {
      await s.close();
    }
  }, 90_000);
});
