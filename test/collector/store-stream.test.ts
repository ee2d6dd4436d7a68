// ReadingStore.stream() (store.ts), on both stores: what query() returns for the same filters, in
// the same order, read in keyset pages of STREAM_PAGE_ROWS (both stores) across page boundaries,
// and a consumer that stops early ends the read.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { openStore } from '../../src/collector/store/open.js';
import { STREAM_PAGE_ROWS } from '../../src/collector/store/postgres.js';
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
