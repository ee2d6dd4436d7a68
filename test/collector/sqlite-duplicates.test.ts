// A window resent with readings the SQLite store holds already (src/collector/store/sqlite.ts,
// sqlite-schema.ts STORED_MATCH). Each duplicate is compared with its stored copy to find a
// conflict (conflicts.ts); before, the store read the stored copy whole — value included, up to
// 512 KiB — into JS for every duplicate. A window of 4,096 tiny readings reusing the identity of
// one stored 512 KiB reading read 2 GiB into JS and held the event loop (intake, receipts, the
// console) for seconds, window after window. Now SQLite compares (lengths first), an identity whose
// conflict is recorded is not compared again, and no stored value reaches JS (a conflict's record
// holds nothing of the stored copy, conflicts.ts).
//
// The work is counted at the seam between SQLite and JS: the bytes of values the store's
// statements return (StatementSync get/all/iterate, instrumented), never the time taken.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatementSync } from 'node:sqlite';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { StoredReading } from '../../src/collector/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-dups-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const G = new Uint8Array(32).fill(0xcc);
const BIG = new Uint8Array(512 * 1024).fill(0x41);
const WINDOW = 4096;
const reading = (seq: number, value: Uint8Array): StoredReading => ({ gateway: G, slot: 'raw', device: 'd', kind: 'serial', epoch: 1, seq, ts: 1_000, value });

/** Bytes of BLOB values SQLite statements handed to JS since the last reset. */
let blobBytes = 0;
const proto = StatementSync.prototype as unknown as Record<'get' | 'all', (...a: unknown[]) => unknown>;
const original = { get: proto.get, all: proto.all };
const count = (row: unknown): void => {
  if (row === null || typeof row !== 'object') return;
  for (const v of Object.values(row)) if (v instanceof Uint8Array) blobBytes += v.length;
};
beforeEach(() => {
  proto.get = function (this: StatementSync, ...a: unknown[]) {
    const row = original.get.apply(this, a);
    count(row);
    return row;
  };
  proto.all = function (this: StatementSync, ...a: unknown[]) {
    const rows = original.all.apply(this, a) as unknown[];
    rows.forEach(count);
    return rows;
  };
});
afterEach(() => {
  proto.get = original.get;
  proto.all = original.all;
});

describe('SQLite: duplicates are compared without reading the stored values into JS', () => {
  it('4,096 tiny readings reusing the identity of one stored 512 KiB reading: one audit entry, and its value never read into JS', async () => {
    const s = SqliteStore.open(join(dir, 'a.db'));
    try {
      await s.insert([reading(0, BIG)], 1);
      blobBytes = 0;
      const tiny = Array.from({ length: WINDOW }, () => reading(0, Uint8Array.of(1)));
      const first = await s.insert(tiny, 2);
      expect(first).toMatchObject({ inserted: 0, duplicates: WINDOW });
      expect(first.conflicts.map((c) => c.detail)).toEqual([{ slot: 'raw', epoch: 1, seq: 0, differs: ['value'] }]);
      expect(blobBytes).toBe(0); // before: WINDOW × 512 KiB
      blobBytes = 0;
      expect(await s.insert(tiny, 3)).toEqual({ inserted: 0, duplicates: WINDOW, conflicts: [] });
      expect(blobBytes).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('a window resent unchanged: every duplicate found the same, no stored value read into JS', async () => {
    const s = SqliteStore.open(join(dir, 'b.db'));
    try {
      const rows = Array.from({ length: 64 }, (_, i) => reading(i, i % 8 === 0 ? BIG : Uint8Array.of(i)));
      await s.insert(rows, 1);
      blobBytes = 0;
      expect(await s.insert(rows, 2)).toEqual({ inserted: 0, duplicates: 64, conflicts: [] });
      expect(blobBytes).toBe(0);
      // Same length, other bytes: still a conflict (the bytes are compared when the lengths match).
      const other = new Uint8Array(BIG.length).fill(0x42);
      expect((await s.insert([reading(8, other)], 3)).conflicts.map((c) => c.detail.seq)).toEqual([8]);
    } finally {
      await s.close();
    }
  });
});
