// Opening a PostgreSQL collector database from before slot_summary (src/collector/store/pg-settings.ts
// schema(), postgres.ts createSchema()). The schema transaction creates slot_summary and fills it
// from every reading in one GROUP BY. Before, it ran under the statement bound (30 s): on a large
// database the fill was cancelled, everything rolled back, and every start failed the same way with
// no advice. Now the transaction is bounded by upgradeMs (an hour) instead, its start and end are
// logged, and a fill that fails says how to fill the table by hand — advice this test follows.
//
// The statement bound is shortened (PgTimeouts) below what the fill of a million readings takes;
// the failure is a real cancel (pg_cancel_backend) sent once the server says the fill started.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { PostgresStore } from '../../src/collector/store/postgres.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
});

const N = 1_000_000;
const GW = 'ab'.repeat(32);

describe('PostgreSQL: opening a database from before slot_summary', () => {
  it.skipIf(pgSkip !== undefined)('fills it past the statement bound, logged; a fill that fails says how to fill it by hand, and that works', async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // The current layout, N readings in 7 slots written by the server, then slot_summary dropped: the previous layout.
      await (await PostgresStore.open(url)).close();
      await admin.query(`INSERT INTO readings SELECT $1, 's' || (i % 7), 'd', 'k', 1, i, i, '\\x01' FROM generate_series(1, ${N}) i`, [GW]);
      await admin.query('DROP TABLE slot_summary');
      const expected = Array.from({ length: 7 }, (_, k) => ({ slot: `s${k}`, readings: Math.floor(N / 7) + (k >= 1 && k <= N % 7 ? 1 : 0) }));

      // With a statement bound far below what the fill takes: it still completes, logged at start and end.
      const events: string[] = [];
      await (await PostgresStore.open(url, { statementMs: 20 }, { logger: { info: (o: { event?: string }) => void events.push(o.event ?? '') } })).close();
      expect(events).toEqual(['store.upgrade', 'store.upgraded']);
      // Read under the usual bound: 20 ms is shorter than a loaded machine may take for any query
      // (a CI run beside other files had this 7-row read cancelled).
      const s = await PostgresStore.open(url);
      try {
        expect((await s.slotSummaries()).map((x) => ({ slot: x.slot, readings: x.readings }))).toEqual(expected);
      } finally {
        await s.close();
      }

      await admin.query('DROP TABLE slot_summary');
      // A fill that fails (cancelled once it started): nothing changed, and the message gives the SQL.
      const cancelling = {
        info: (o: { event?: string }): void => {
          if (o.event !== 'store.upgrade') return;
          void admin.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'uzpgw-collector' AND state = 'active'");
        },
      };
      const failed = await PostgresStore.open(url, {}, { logger: cancelling }).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(failed?.code).toBe(CollectorCode.STORE_FAILED);
      expect(failed?.message).toMatch(/filling slot_summary .* nothing was changed, and every start tries again\. Fill it once by hand/);
      expect((await admin.query("SELECT to_regclass('slot_summary') AS t")).rows[0].t).toBeNull();
      const sql = /psql connected to that database: (.*) — then start the collector again/.exec(failed!.message)![1]!;
      await admin.query(sql);
      const reopened = await PostgresStore.open(url);
      expect((await reopened.slotSummaries()).map((x) => ({ slot: x.slot, readings: x.readings }))).toEqual(expected);
      await reopened.close();

      // Opened again: nothing to fill, nothing logged.
      const again: string[] = [];
      await (await PostgresStore.open(url, {}, { logger: { info: (o: { event?: string }) => void again.push(o.event ?? '') } })).close();
      expect(again).toEqual([]);
    } finally {
      await admin.end();
    }
  }, 120_000); // a million readings written and summed twice: 9-22 s alone, more beside other files on 2 cores
});
