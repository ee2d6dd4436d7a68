// A window resent with readings the PostgreSQL store holds already (src/collector/store/pg-insert.ts
// auditConflicts()). Each duplicate is compared with its stored copy to find a conflict
// (conflicts.ts); before, the server hashed every duplicate's stored value in full, every batch: a
// window of tiny readings reusing the identities of large stored ones read and hashed all of them,
// window after window, even once their conflicts were recorded. Now an identity whose conflict is
// recorded is skipped, lengths are compared first (octet_length() reads a TOASTed value's size from
// its pointer), and a stored value is hashed only for equal lengths (a conflict's record holds
// nothing of the stored copy).
//
// The work is counted on the server: blocks of the readings' TOAST table read (hit or read), from
// pg_statio_user_tables. A backend reports its counts when it exits: each phase runs on a store of
// its own, closed, and the counts are read once no backend of the store is left.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/collector/store/postgres.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
});

const G = new Uint8Array(32).fill(0xcd);
const N = 16;
const reading = (seq: number, value: Uint8Array): StoredReading => ({ gateway: G, slot: 'raw', device: 'd', kind: 'serial', epoch: 1, seq, ts: 1_000, value });

describe('PostgreSQL: duplicates are compared without hashing the stored values', () => {
  it.skipIf(pgSkip !== undefined)('tiny readings reusing the identities of large stored ones: a resend whose conflicts are recorded reads no stored value', async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const monitor = new pg.Client({ connectionString: url });
    await monitor.connect();
    /** Runs `f` on a store of its own, closed after, and resolves with the TOAST blocks of readings it read. */
    const toastRead = async (f: (s: PostgresStore) => Promise<void>): Promise<number> => {
      const blocks = async (): Promise<number> => {
        await monitor.query('SELECT pg_stat_clear_snapshot()');
        const r = await monitor.query<{ n: string | null }>("SELECT coalesce(toast_blks_read, 0) + coalesce(toast_blks_hit, 0) AS n FROM pg_statio_user_tables WHERE relname = 'readings'");
        return Number(r.rows[0]?.n ?? 0);
      };
      const before = await blocks();
      const s = await PostgresStore.open(url);
      try {
        await f(s);
      } finally {
        await s.close();
      }
      // A backend flushes its counts before it leaves pg_stat_activity.
      for (;;) {
        const left = await monitor.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'uzpgw-collector'");
        if (Number(left.rows[0]!.n) === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return (await blocks()) - before;
    };
    try {
      // Random bytes: not compressible, so each value is stored out of line in the TOAST table.
      const stored = Array.from({ length: N }, (_, i) => reading(i, new Uint8Array(randomBytes(512 * 1024))));
      const tiny = Array.from({ length: N }, (_, i) => reading(i, Uint8Array.of(1)));
      let conflicts = 0;
      const first = await toastRead(async (s) => {
        await s.insert(stored, 1);
        conflicts = (await s.insert(tiny, 2)).conflicts.length;
      });
      expect(conflicts).toBe(N);
      expect(first).toBeGreaterThan(0); // the values were written: the counter works
      const resent = await toastRead(async (s) => {
        expect(await s.insert(tiny, 3)).toEqual({ inserted: 0, duplicates: N, conflicts: [] });
        expect(await s.insert(tiny, 4)).toEqual({ inserted: 0, duplicates: N, conflicts: [] });
      });
      expect(resent).toBe(0); // before: every stored value read and hashed in each window
      // An unchanged resend of the large values is found the same (equal lengths: the digests compared).
      const same = await toastRead(async (s) => {
        const more = [reading(100, new Uint8Array(randomBytes(512 * 1024)))];
        await s.insert(more, 5);
        expect(await s.insert(more, 6)).toEqual({ inserted: 0, duplicates: 1, conflicts: [] });
      });
      expect(same).toBeGreaterThan(0);
    } finally {
      await monitor.end();
    }
  });
});
