// ReadingStore.stream() (store.ts), on both stores: what query() returns for the same filters, in
// the same order, read in keyset pages of STREAM_PAGE_ROWS (both stores) across page boundaries,
// and a consumer that stops early ends the read.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { openStore } from '../../src/collector/store/open.js';
import { PostgresStore, STREAM_PAGE_BYTES, STREAM_PAGE_ROWS } from '../../src/collector/store/postgres.js';
import type { ReadingStore, StoredReading, StreamQuery } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'uzp-stream-'));
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
  rmSync(dir, { recursive: true, force: true });
});

const backends = [
  { name: 'sqlite', skip: false, fresh: async () => join(dir, `${Math.random()}.db`) },
  { name: 'postgres', skip: pgSkip !== undefined, fresh: async () => (cluster ??= await startPostgres()).createDatabase() },
];

const G1 = new Uint8Array(32).fill(0x0b);
const G2 = new Uint8Array(32).fill(0xb0);
const r = (gateway: Uint8Array, slot: string, seq: number): StoredReading => ({ gateway, slot, device: 'd', kind: 'k', epoch: 1 + (seq % 2), seq, ts: 1_000 + seq, value: Uint8Array.of(seq & 0xff, 1) });

async function all(it: AsyncIterable<StoredReading>): Promise<StoredReading[]> {
  const out: StoredReading[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.each(backends)('ReadingStore.stream: $name', (b) => {
  it.skipIf(b.skip)('yields what query() returns, in its order, across pages; filters as query()', async () => {
    const s: ReadingStore = await openStore(await b.fresh());
    try {
      const n = STREAM_PAGE_ROWS * 2 + 7;
      await s.insert(Array.from({ length: n }, (_, i) => r(i % 3 === 0 ? G2 : G1, i % 2 === 0 ? 'B' : 'a', i)));
      const queries: StreamQuery[] = [{}, { gateway: G1 }, { gateway: G2, slot: 'B' }, { slot: 'a' }, { sinceMs: 1_500, untilMs: 2_900 }, { gateway: G1, sinceMs: 1_200 }];
      for (const q of queries) expect(await all(s.stream(q))).toEqual(await s.query({ ...q, limit: 1_000_000 }));
      expect((await all(s.stream({}))).length).toBe(n);
      // A consumer that stops early; the store goes on serving.
      let seen = 0;
      for await (const _ of s.stream({})) if (++seen === 3) break;
      expect(seen).toBe(3);
      expect(await s.insert([r(G1, 'late', 1)])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
      await expect(all(s.stream({ limit: 5 } as StreamQuery))).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    } finally {
      await s.close();
    }
  }, 90_000);
});

describe('PostgresStore.stream: pages bounded by bytes', () => {
  it.skipIf(pgSkip !== undefined)('a page is at most STREAM_PAGE_ROWS readings or STREAM_PAGE_BYTES of values (at least one), each reading read once', async () => {
    const s = (await openStore(await (cluster ??= await startPostgres()).createDatabase())) as PostgresStore;
    try {
      const sized = (slot: string, seq: number, bytes: number): StoredReading => ({ ...r(G1, slot, seq), value: new Uint8Array(bytes).fill(seq & 0xff) });
      await s.insert(Array.from({ length: 10 }, (_, i) => sized('big', i, STREAM_PAGE_BYTES / 4)));
      await s.insert([sized('huge', 0, STREAM_PAGE_BYTES * 2)]);
      await s.insert(Array.from({ length: STREAM_PAGE_ROWS + 1 }, (_, i) => r(G1, 'small', i)));
      // What each statement of the stream brought back: its rows' value sizes.
      const pages: number[][] = [];
      const store = s as unknown as { q: (what: string, sql: string, args: unknown[]) => Promise<{ rows: { value_bytes: number }[] }> };
      const q = store.q.bind(s);
      store.q = async (what, sql, args) => {
        const res = await q(what, sql, args);
        if (what === 'stream') pages.push(res.rows.map((x) => Number(x.value_bytes)));
        return res;
      };
      const seen: string[] = [];
      for await (const x of s.stream({})) seen.push(`${x.slot}/${x.seq}/${x.value.length}`);
      expect(seen).toHaveLength(10 + 1 + STREAM_PAGE_ROWS + 1);
      expect(new Set(seen).size).toBe(seen.length);
      expect(pages.flat()).toHaveLength(seen.length); // no reading brought back twice
      for (const p of pages) {
        expect(p.length).toBeLessThanOrEqual(STREAM_PAGE_ROWS);
        // Within the byte bound, or one reading larger than it alone.
        if (p.length > 1) expect(p.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(STREAM_PAGE_BYTES);
      }
      // The 8 MiB value comes alone; the 1 MiB ones four to a page.
      expect(pages.some((p) => p.length === 1 && p[0] === STREAM_PAGE_BYTES * 2)).toBe(true);
      expect(pages.filter((p) => p.every((b) => b === STREAM_PAGE_BYTES / 4)).map((p) => p.length)).toEqual([4, 4, 2]);
    } finally {
      await s.close();
    }
  }, 90_000);
});
