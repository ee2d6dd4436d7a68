// The reading log's reads for the publisher (src/gateway/reading-log/queries.ts): a window and a
// backfill range are read within their byte bound (the longest prefix within maxBytes, at least one
// row), committed rows then pending ones; a range comes in seq order with `more` when some is left,
// and its plan walks the (slot, epoch, seq) index instead of sorting the whole rest of the range.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { RANGE_QUERY_TAIL } from '../../src/gateway/reading-log/queries.js';
import { ReadingLog, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-log-queries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function reading(seq: number, size: number, slot = 'a', epoch = 1): LoggedReading {
  return { slot, device: `dev-${slot}`, kind: 'line', epoch, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(size).fill(seq & 0xff) };
}

/** A log with `committed` readings stored and `pending` more appended after them, not yet committed. */
function logWith(committed: number[], pending: number[]): ReadingLog {
  const clock = new FakeClock(0);
  const log = new ReadingLog({ file: join(dir, `q-${++n}.db`), durability: 'batch', batchMs: 1_000, clock });
  committed.forEach((size, seq) => log.append(reading(seq, size)));
  log.flush();
  pending.forEach((size, i) => log.append(reading(committed.length + i, size)));
  return log;
}

describe('reading log reads within a byte bound', () => {
  it('readAfter: the longest prefix within maxBytes, across committed and pending rows, at least one row', () => {
    const log = logWith([100, 100, 100], [100, 100]);
    expect(log.readAfter(0, 512, 250).map((r) => r.seq)).toEqual([0, 1]);
    expect(log.readAfter(0, 512, 450).map((r) => r.seq)).toEqual([0, 1, 2, 3]); // into the pending rows
    expect(log.readAfter(0, 512, 10).map((r) => r.seq)).toEqual([0]); // one row even over the bound
    expect(log.readAfter(3, 512, 10).map((r) => r.seq)).toEqual([3]); // the first pending one, alone
    expect(log.readAfter(0, 2).map((r) => r.seq)).toEqual([0, 1]); // the row limit as before
    expect(log.readAfter(0).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    log.close();
  });

  it('readRange: seq order, the byte and row bounds, and whether some of the range is left', () => {
    const log = logWith([100, 100, 100, 100], [100, 100]);
    expect(log.readRange('a', 1, 0, 10, 512, 250)).toMatchObject({ rows: [{ seq: 0 }, { seq: 1 }], more: true });
    expect(log.readRange('a', 1, 2, 10, 512, 250)).toMatchObject({ rows: [{ seq: 2 }, { seq: 3 }], more: true });
    expect(log.readRange('a', 1, 4, 10, 512, 250)).toMatchObject({ rows: [{ seq: 4 }, { seq: 5 }], more: false });
    expect(log.readRange('a', 1, 0, 10, 3)).toMatchObject({ rows: [{ seq: 0 }, { seq: 1 }, { seq: 2 }], more: true });
    expect(log.readRange('a', 1, 0, 3, 4)).toMatchObject({ rows: [{ seq: 0 }, { seq: 1 }, { seq: 2 }, { seq: 3 }], more: false });
    expect(log.readRange('a', 1, 0, 10, 6).more).toBe(false);
    expect(log.readRange('a', 2, 0, 10)).toEqual({ rows: [], more: false });
    expect(log.readRange('b', 1, 0, 10)).toEqual({ rows: [], more: false });
    log.close();
  });

  it("readRange's plan walks the (slot, epoch, seq) index: no sort of the rest of the range per read", () => {
    const log = logWith([1, 1, 1], []);
    const db = (log as unknown as { db: DatabaseSync }).db;
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id, value ${RANGE_QUERY_TAIL}`).all('a', 1, 0, 2 ** 53 - 1, 4096) as { detail: string }[];
    const text = plan.map((p) => p.detail).join('; ');
    expect(text).toMatch(/USING INDEX/);
    // Before: ORDER BY id, "USE TEMP B-TREE FOR ORDER BY" (every read sorted what was left of the range).
    expect(text).not.toMatch(/TEMP B-TREE/);
    log.close();
  });
});
