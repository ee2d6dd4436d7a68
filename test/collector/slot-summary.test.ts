// The console's per-slot summary (slotSummaries(), counts()) on both stores: a table kept in the
// same transaction as every insert and delete, so it must always say what a GROUP BY over every
// reading says — after inserts, duplicates, retention and revocation deletes, and when a database
// from before the table is opened. On PostgreSQL the console's fleet view ran that GROUP BY (a full
// count of every reading) on every refresh; its plan now touches no reading.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/collector/store/open.js';
import type { ReadingStore, StoredReading } from '../../src/collector/store/store.js';
import { storeBackends } from '../helpers/store-backends.js';
import { revokeAndPurge } from '../helpers/store-revoke.js';

const { backends, stop } = storeBackends('uzp-slotsum-');
afterAll(stop);
const postgres = backends.find((b) => b.name === 'postgres')!;

const G1 = new Uint8Array(32).fill(0x31);
const G2 = new Uint8Array(32).fill(0x32);
const r = (seq: number, o: Partial<StoredReading> = {}): StoredReading => ({ gateway: G1, slot: `s${seq % 3}`, device: 'd', kind: 'k', epoch: 1, seq, ts: 1_000 + seq, value: Uint8Array.of(seq & 0xff), ...o });

describe.each(backends)('slot summaries: $name', (b) => {
  /** What a GROUP BY over every reading says: what slotSummaries() must answer. */
  const grouped = async (spec: string): Promise<unknown[]> =>
    (await b.sql(spec, 'SELECT gateway, slot, count(*) AS n, max(ts) AS newest FROM readings GROUP BY gateway, slot ORDER BY gateway, slot')).map((x) => ({ gateway: x.gateway, slot: x.slot, readings: Number(x.n), newestTs: Number(x.newest) }));
  const summaries = async (s: ReadingStore): Promise<unknown[]> => (await s.slotSummaries()).map((x) => ({ gateway: Buffer.from(x.gateway).toString('hex'), slot: x.slot, readings: x.readings, newestTs: x.newestTs }));

  it.skipIf(b.skip)('stay what a GROUP BY over readings says through inserts, duplicates, retention, revocation and a reopen', async () => {
    const spec = await b.fresh();
    let s = await openStore(spec);
    try {
      await s.insert([...Array.from({ length: 30 }, (_, i) => r(i)), ...Array.from({ length: 5 }, (_, i) => r(i, { gateway: G2, ts: 9_000 + i }))]);
      await s.insert([r(1), r(2), r(40, { ts: 5 }), r(3, { value: Uint8Array.of(0xee) })]); // duplicates (one conflicting); one new but older than the newest
      expect(await summaries(s)).toEqual(await grouped(spec));
      expect(await s.counts(G1)).toEqual(new Map([['s0', 10], ['s1', 11], ['s2', 10]]));
      expect(await s.deleteBefore(G1, 1_012)).toBe(13); // 12 of ts 1000..1011, and ts 5
      expect(await summaries(s)).toEqual(await grouped(spec));
      expect(await revokeAndPurge(s, G1, ['s1'])).toBe(6);
      expect(await summaries(s)).toEqual(await grouped(spec));
      expect(await s.counts(G1)).toEqual(new Map([['s0', 6], ['s2', 6]]));
      expect(await s.deleteBefore(G2, 1e12)).toBe(5); // every reading of G2: its rows go
      expect(await summaries(s)).toEqual(await grouped(spec));
      expect(await s.counts(G2)).toEqual(new Map());
      // A database from before the table: filled once at the next open.
      await s.close();
      await b.sql(spec, 'DROP TABLE slot_summary');
      s = await openStore(spec);
      expect(await summaries(s)).toEqual(await grouped(spec));
      expect((await summaries(s)).length).toBe(2);
    } finally {
      await s.close();
    }
  });
});

describe.skipIf(postgres.skip)('slot summaries on PostgreSQL', () => {
  it('slotSummaries() and counts() read slot_summary: their plans touch no reading', async () => {
    const spec = await postgres.fresh();
    const s = await openStore(spec);
    try {
      await s.insert([0, 1, 2, 3].map((i) => r(i)));
      const pool = (s as unknown as { pool: pg.Pool }).pool;
      const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
      const seen: [string, unknown[]][] = [];
      (pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => (seen.push([a[0] as string, (a[1] as unknown[]) ?? []]), query(...a));
      expect((await s.slotSummaries()).map((x) => x.readings)).toEqual([2, 1, 1]);
      expect(await s.counts(G1)).toEqual(new Map([['s0', 2], ['s1', 1], ['s2', 1]]));
      (pool as unknown as { query: unknown }).query = query;
      expect(seen).toHaveLength(2);
      for (const [sql, args] of seen) {
        const plan = (await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, args)).rows.map((x) => x['QUERY PLAN']).join('\n');
        expect(plan).toMatch(/slot_summary/);
        expect(plan).not.toMatch(/\breadings\b/);
      }
    } finally {
      await s.close();
    }
  });
});
