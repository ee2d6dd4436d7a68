// `collector query` on SQLite (SqliteStore.stream()) next to a running collector: it held one
// statement open from the first reading to the last, and with it a read snapshot, for as long as its
// reader (stdout, a pipe into a slow consumer) took. A WAL checkpoint cannot copy past a reader's
// snapshot, so the running collector's WAL grew for the whole export. Now it reads keyset pages
// (at most STREAM_PAGE_ROWS readings or STREAM_PAGE_BYTES of values, each a statement of its own)
// and holds no snapshot while the reader works through one. Checked by what a checkpoint reports
// and by counting statements, not by timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore, STREAM_PAGE_BYTES, STREAM_PAGE_ROWS } from '../../src/collector/store/sqlite.js';
import type { StoredReading } from '../../src/collector/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-sqlstream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const G = new Uint8Array(32).fill(0x21);
const r = (slot: string, seq: number, value = Uint8Array.of(seq & 0xff)): StoredReading => ({ gateway: G, slot, device: 'd', kind: 'k', epoch: 1, seq, ts: 1_000 + seq, value });
const dbOf = (s: SqliteStore): DatabaseSync => (s as unknown as { db: DatabaseSync }).db;

describe('SqliteStore.stream holds no read snapshot between pages', () => {
  it('a reader paused mid-export does not keep the collector from checkpointing its WAL', async () => {
    const file = join(dir, `s${++files}.db`);
    const collector = SqliteStore.open(file);
    const n = STREAM_PAGE_ROWS * 3;
    await collector.insert(Array.from({ length: n }, (_, i) => r('a', i)));
    const query = SqliteStore.open(file, { readOnly: true });
    const it = query.stream({})[Symbol.asyncIterator]();
    const first = await it.next(); // the export has begun; its reader is slow
    expect(first.value).toMatchObject({ slot: 'a', seq: 0 });
    // The collector goes on storing, then checkpoints.
    await collector.insert(Array.from({ length: 500 }, (_, i) => r('b', i)));
    const cp = dbOf(collector).prepare('PRAGMA wal_checkpoint(PASSIVE)').get() as { busy: number; log: number; checkpointed: number };
    expect(cp.log).toBeGreaterThan(0);
    expect(cp.checkpointed).toBe(cp.log);
    // The export goes on, each reading once and in order; what was stored meanwhile after its position too.
    const seen = [first.value as StoredReading];
    for (let x = await it.next(); x.done !== true; x = await it.next()) seen.push(x.value);
    expect(seen.map((x) => `${x.slot}/${x.seq}`)).toEqual([...Array.from({ length: n }, (_, i) => `a/${i}`), ...Array.from({ length: 500 }, (_, i) => `b/${i}`)]);
    await query.close();
    await collector.close();
  });

  it('a page is at most STREAM_PAGE_ROWS readings or STREAM_PAGE_BYTES of values (at least one reading)', async () => {
    const s = SqliteStore.open(join(dir, `s${++files}.db`));
    const big = STREAM_PAGE_BYTES / 4;
    await s.insert(Array.from({ length: 10 }, (_, i) => r('big', i, new Uint8Array(big).fill(i))));
    await s.insert([r('huge', 0, new Uint8Array(STREAM_PAGE_BYTES * 2))]);
    await s.insert(Array.from({ length: STREAM_PAGE_ROWS + 1 }, (_, i) => r('small', i)));
    // What each statement stepped: its rows' value sizes.
    const db = dbOf(s);
    const prepare = db.prepare.bind(db);
    const pages: number[][] = [];
    db.prepare = ((sql: string) => {
      const st = prepare(sql);
      if (!/FROM readings INDEXED BY/.test(sql)) return st;
      const iterate = st.iterate.bind(st);
      st.iterate = ((...args: Parameters<typeof st.iterate>) => {
        const sizes: number[] = [];
        pages.push(sizes);
        const it = iterate(...args);
        const next = it.next.bind(it);
        it.next = () => {
          const x = next();
          if (x.done !== true) sizes.push(Number((x.value as { value_bytes: number }).value_bytes));
          return x;
        };
        return it;
      }) as typeof st.iterate;
      return st;
    }) as typeof db.prepare;
    const seen: string[] = [];
    for await (const x of s.stream({})) seen.push(`${x.slot}/${x.seq}/${x.value.length}`);
    db.prepare = prepare;
    expect(seen).toHaveLength(10 + 1 + STREAM_PAGE_ROWS + 1);
    expect(pages.flat()).toHaveLength(seen.length); // no reading read twice
    for (const p of pages) {
      expect(p.length).toBeLessThanOrEqual(STREAM_PAGE_ROWS);
      expect(p.slice(0, -1).reduce((a, b) => a + b, 0)).toBeLessThan(STREAM_PAGE_BYTES); // the last one may pass it
    }
    expect(Math.max(...pages.map((p) => p.length))).toBe(STREAM_PAGE_ROWS);
    expect(pages.filter((p) => p.some((b) => b === big))).toEqual([[big, big, big, big], [big, big, big, big], [big, big]]);
    await s.close();
  });
});
