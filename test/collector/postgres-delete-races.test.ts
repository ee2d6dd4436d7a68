// PostgreSQL deletes (retention, a revocation's chunks: pg-deletes.ts) running while other
// transactions write the same gateway's readings. Each DELETE sees the rows committed when it
// starts; what committed later reached it anyway: the summary of an insert committed while the
// delete ran was added to before the delete took its count off (slot_summary kept the newest ts of
// readings deleted, counts exact), and a chunk whose rows another delete had just taken counted
// fewer than DELETE_CHUNK_ROWS and was taken for the last (a revocation marked done with readings
// of it still stored, and served). Now every transaction that writes a gateway's readings takes
// that gateway's lock first (pg-locks.ts), so they run one after the other.
//
// The interleavings are explicit, not timed: a transaction of our own holds what the store's
// statement needs, and the test waits until the server says the store's backend is waiting on it.
// SQLite has no counterpart: it has one writer at a time (each chunk and each insert one
// BEGIN IMMEDIATE transaction), so no write runs inside another.

import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REVOKE_EVENT } from '../../src/collector/consents.js';
import { Purges } from '../../src/collector/purges.js';
import { DELETE_CHUNK_ROWS, PostgresStore } from '../../src/collector/store/postgres.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
});

const G = new Uint8Array(32).fill(0x5a);
const GW = '5a'.repeat(32);
const r = (slot: string, seq: number, ts: number): StoredReading => ({ gateway: G, slot, device: 'd', kind: 'k', epoch: 1, seq, ts, value: Uint8Array.of(seq & 0xff) });

/** Resolves once `n` of the store's backends wait for a lock. */
async function waiting(admin: pg.Client, n: number): Promise<void> {
  for (;;) {
    const res = await admin.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'uzpgw-collector' AND wait_event_type = 'Lock'");
    if (Number(res.rows[0]!.n) >= n) return;
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe.skipIf(pgSkip !== undefined)('PostgreSQL deletes racing other writes of the gateway', () => {
  const clients: pg.Client[] = [];
  const client = async (url: string): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  });

  it('an insert that commits while a retention chunk deletes the newest readings: the summary says what is stored', async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const s = await PostgresStore.open(url);
    const admin = await client(url);
    const locker = await client(url);
    try {
      await s.insert([...Array.from({ length: 10 }, (_, i) => r('a', i, 1_000 + i)), r('b', 0, 5_000)]);
      // The insert stops after it stored its reading of 'a' and added it to the slot's summary: its
      // conflicting copy of b/0 waits for another session recording that same conflict.
      await locker.query('BEGIN');
      await locker.query("INSERT INTO reading_conflicts (gateway, slot, epoch, seq) VALUES ($1, 'b', 1, 0)", [GW]);
      // A reading older than the slot's newest (a backfilled range), under the cut-off too.
      const inserting = s.insert([{ ...r('a', 0, 500), epoch: 2 }, { ...r('b', 0, 5_000), value: Uint8Array.of(0xee) }]);
      await waiting(admin, 1);
      const deleting = s.deleteBefore(G, 2_000);
      await waiting(admin, 2);
      await locker.query('ROLLBACK');
      expect(await inserting).toMatchObject({ inserted: 1, duplicates: 1 });
      await deleting;
      const grouped = (await admin.query<{ slot: string; n: string; newest: string }>('SELECT slot, count(*) AS n, max(ts) AS newest FROM readings GROUP BY slot ORDER BY slot')).rows.map((x) => [x.slot, Number(x.n), Number(x.newest)]);
      // Before: 'a' summed up as 1 reading, newest 1009 — the one left is stamped 500, 1009 was deleted.
      expect((await s.slotSummaries()).map((x) => [x.slot, x.readings, x.newestTs])).toEqual(grouped);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('a revocation chunk whose rows a retention chunk deletes meanwhile is not taken for the last: every reading of it goes', async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const s = await PostgresStore.open(url);
    const admin = await client(url);
    const locker = await client(url);
    const N = DELETE_CHUNK_ROWS + 100;
    const scope = { revocation: new Uint8Array(32).fill(0x5b), gateway: G, slots: ['big'] };
    try {
      await s.insert([...Array.from({ length: N }, (_, i) => r('big', i, 1_000 + i)), r('keep', 0, 1e9)]);
      await s.revoke(scope, { at: 1, gateway: G, event: REVOKE_EVENT, detail: { grant: 'ab'.repeat(32), slots: ['big'] } });
      // The retention chunk (the 200 oldest) stops at a row another session holds, the rows before it deleted.
      await locker.query('BEGIN');
      await locker.query("SELECT 1 FROM readings WHERE slot = 'big' AND seq = 150 FOR UPDATE");
      const aging = s.deleteBefore(G, 1_200);
      await waiting(admin, 1);
      const purging = new Purges(s, pino({ level: 'silent' })).finish(scope);
      await waiting(admin, 2);
      await locker.query('ROLLBACK');
      expect(await aging).toBe(200);
      expect(await purging).toBe(N - 200);
      // Before: the revocation's first chunk found 200 of its rows gone, deleted 3,896, and was done;
      // 100 readings of the revoked slot stayed, and were served.
      expect(Number((await admin.query<{ n: string }>("SELECT count(*) AS n FROM readings WHERE slot = 'big'")).rows[0]!.n)).toBe(0);
      expect(await s.unpurged()).toEqual([]);
      expect(await s.counts(G)).toEqual(new Map([['keep', 1]]));
    } finally {
      await s.close();
    }
  }, 60_000);
});
