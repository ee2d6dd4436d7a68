// PostgreSQL deletes (retention, revocation) in statements of DELETE_CHUNK_ROWS: one DELETE of a
// gateway's millions of readings could outlast the store's statement_timeout and then fail at every
// retry (a revocation never applied, a retention sweep never done). Statements counted, not timed.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DELETE_CHUNK_ROWS, PostgresStore } from '../../src/collector/store/postgres.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';
import { revokeAndPurge } from '../helpers/store-revoke.js';

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
    const url = await cluster.createDatabase();
    const s = await PostgresStore.open(url);
    try {
      const N = DELETE_CHUNK_ROWS * 2 + 100;
      await s.insert(Array.from({ length: N }, (_, i) => r('big', i, 1_000 + i)));
      await s.insert(Array.from({ length: 10 }, (_, i) => r('keep', i, 1e12)));
      // A statement-level trigger counts the DELETE statements run on readings (whatever their text).
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE TABLE deletes (n int);
        CREATE FUNCTION note_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO deletes VALUES (1); RETURN NULL; END $$;
        CREATE TRIGGER note_delete AFTER DELETE ON readings FOR EACH STATEMENT EXECUTE FUNCTION note_delete()`);
      const deleted = async (): Promise<number> => Number((await admin.query('DELETE FROM deletes RETURNING n')).rowCount);
      expect(await s.deleteBefore(G, 1e9)).toBe(N);
      expect(await deleted()).toBe(Math.ceil(N / DELETE_CHUNK_ROWS));
      expect((await s.counts(G)).get('keep')).toBe(10);
      await s.insert(Array.from({ length: N }, (_, i) => r('big', i, 1_000 + i)));
      expect(await revokeAndPurge(s, G, ['big'])).toBe(N);
      expect(await deleted()).toBe(Math.ceil(N / DELETE_CHUNK_ROWS));
      expect(await revokeAndPurge(s, G)).toBe(10);
      await admin.end();
    } finally {
      await s.close();
    }
  }, 90_000);
});
