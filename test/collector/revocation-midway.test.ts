// A revocation's deletion that fails midway (src/collector/purges.ts; store.ts revoke(), purge()).
// Deletes run in chunks of DELETE_CHUNK_ROWS, each its own transaction, so a failure between two
// leaves part of the readings deleted. Before, the revocation was recorded only after the last
// chunk: a failure left the rest served (console, `collector query`), the revocation unknown after
// a restart (its slots accepted again), and the rest deleted only if the gateway came back to send
// it again. Now it is recorded first: after a failure nothing of its scope is served, and the
// first retention sweep of the restarted collector deletes the rest, and the conflict rows
// (store/conflicts.ts) of what it deletes with them.
//
// The failures are real ones, on each database: SQLite — the store closed between two chunks, as
// Collector.stop() closes it on SIGTERM while a revocation is being applied (a temporary trigger
// only says when the first chunk is done); PostgreSQL — the connection running a chunk killed by
// the server (pg_terminate_backend), while another session's row lock holds that chunk.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Consents, REVOKE_EVENT } from '../../src/collector/consents.js';
import { CollectorCode } from '../../src/collector/errors.js';
import { Purges, REVOKE_DELETED_EVENT } from '../../src/collector/purges.js';
import { Retention } from '../../src/collector/retention.js';
import { PostgresStore } from '../../src/collector/store/postgres.js';
import { DELETE_CHUNK_ROWS, SqliteStore } from '../../src/collector/store/sqlite.js';
import type { ReadingStore, RevocationScope, StoredReading } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'uzp-revmid-'));
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
  rmSync(dir, { recursive: true, force: true });
});

const G = new Uint8Array(32).fill(0x5e);
const GRANT = 'ab'.repeat(32);
const N = DELETE_CHUNK_ROWS * 2 + 10;
const SCOPE: RevocationScope = { revocation: new Uint8Array(32).fill(0x7e), gateway: G, slots: ['big'] };
const silent = pino({ level: 'silent' });
const r = (slot: string, seq: number): StoredReading => ({ gateway: G, slot, device: 'd', kind: 'k', epoch: 1, seq, ts: 1_000 + seq, value: Uint8Array.of(seq & 0xff) });

async function fill(s: ReadingStore): Promise<void> {
  await s.insert(Array.from({ length: N }, (_, i) => r('big', i)));
  await s.insert(Array.from({ length: 5 }, (_, i) => r('keep', i)));
  // Resent with other content: a conflict row each, one in the part of the slot left after the failure.
  await s.insert([{ ...r('big', N - 1), ts: 1 }, { ...r('keep', 0), ts: 1 }]);
  await s.revoke(SCOPE, { at: 1, gateway: G, event: REVOKE_EVENT, detail: { grant: GRANT, revocation: '7e'.repeat(32), slots: ['big'] } });
}

/** What the restarted collector serves and remembers, before its first sweep; then that sweep. */
async function afterRestart(s: ReadingStore, left: () => Promise<number>, conflicts: () => Promise<string[]>): Promise<void> {
  const before = await left();
  expect(await conflicts()).toEqual(['big', 'keep']);
  expect(before).toBeGreaterThan(0); // the failure was midway: some readings were deleted, some not
  expect(before).toBeLessThan(N);
  // Nothing of the revoked slot is served, by any read.
  expect(await s.query({ slot: 'big' })).toEqual([]);
  const streamed: string[] = [];
  for await (const x of s.stream({})) streamed.push(x.slot);
  expect(streamed).toEqual(Array(5).fill('keep'));
  expect(await s.counts(G)).toEqual(new Map([['keep', 5]]));
  expect((await s.slotSummaries()).map((x) => x.slot)).toEqual(['keep']);
  // The revocation is known: its slot is refused under the grant, and its deletion is pending.
  expect([...(await Consents.load(s)).revokedSlots(Buffer.from(GRANT, 'hex'))]).toEqual(['big']);
  expect(await s.unpurged()).toEqual([SCOPE]);
  // The first retention sweep (the one Collector.start() runs) deletes the rest, and says so.
  const purges = new Purges(s, silent, () => 7);
  await (await Retention.load(s, silent, () => 7, purges)).sweep();
  expect(await left()).toBe(0);
  expect(await conflicts()).toEqual(['keep']);
  expect(await s.unpurged()).toEqual([]);
  expect((await s.auditLog(G)).filter((e) => e.event === REVOKE_DELETED_EVENT)).toEqual([{ at: 7, gateway: G, event: REVOKE_DELETED_EVENT, detail: { revocation: '7e'.repeat(32), slots: ['big'], deleted: N } }]);
  expect(await s.counts(G)).toEqual(new Map([['keep', 5]]));
  // The gateway sending it again is answered with the same count, and deletes nothing more.
  expect(await purges.finish(SCOPE)).toBe(N);
}

describe('a revocation whose deletion fails midway', () => {
  it('SQLite, the store closed between two chunks: after a restart nothing of it is served, and the first sweep deletes the rest', async () => {
    const file = join(dir, 'c.db');
    const s = SqliteStore.open(file);
    await fill(s);
    // The first chunk's last row: close the store before the next chunk starts.
    const db = (s as unknown as { db: DatabaseSync }).db;
    let rows = 0;
    db.function('deleted_one', () => {
      if (++rows === DELETE_CHUNK_ROWS) setImmediate(() => void s.close());
      return null;
    });
    db.exec('CREATE TEMP TRIGGER chunk AFTER DELETE ON main.readings BEGIN SELECT deleted_one(); END');
    await expect(new Purges(s, silent).finish(SCOPE)).rejects.toMatchObject({ code: CollectorCode.STORE_CLOSED });
    const restarted = SqliteStore.open(file);
    const raw = new DatabaseSync(file, { readOnly: true });
    try {
      await afterRestart(
        restarted,
        async () => Number(raw.prepare("SELECT count(*) AS n FROM readings WHERE slot = 'big'").get()!.n),
        async () => raw.prepare('SELECT slot FROM reading_conflicts ORDER BY slot').all().map((x) => String(x.slot)),
      );
    } finally {
      raw.close();
      await restarted.close();
    }
  });

  it.skipIf(pgSkip !== undefined)('PostgreSQL, the connection killed mid-chunk: after a restart nothing of it is served, and the first sweep deletes the rest', async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const s = await PostgresStore.open(url);
    const admin = new pg.Client({ connectionString: url });
    const locker = new pg.Client({ connectionString: url });
    await admin.connect();
    await locker.connect();
    try {
      await fill(s);
      // The last reading of the slot is locked by another session: the chunk that reaches it waits.
      await locker.query('BEGIN');
      await locker.query("SELECT 1 FROM readings WHERE slot = 'big' AND seq = $1 FOR UPDATE", [N - 1]);
      const purging = new Purges(s, silent).finish(SCOPE);
      let pid: number | undefined;
      while (pid === undefined) {
        const w = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'WITH d AS (DELETE FROM readings%'");
        pid = w.rows[0]?.pid;
        if (pid === undefined) await new Promise((res) => setTimeout(res, 20));
      }
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await expect(purging).rejects.toMatchObject({ code: CollectorCode.STORE_UNREACHABLE });
      await locker.query('ROLLBACK');
      await s.close();
      const restarted = await PostgresStore.open(url);
      try {
        await afterRestart(
          restarted,
          async () => Number((await admin.query<{ n: string }>("SELECT count(*) AS n FROM readings WHERE slot = 'big'")).rows[0]!.n),
          async () => (await admin.query<{ slot: string }>('SELECT slot FROM reading_conflicts ORDER BY slot')).rows.map((x) => x.slot),
        );
      } finally {
        await restarted.close();
      }
    } finally {
      await locker.end();
      await admin.end();
      await s.close();
    }
  }, 90_000);
});
