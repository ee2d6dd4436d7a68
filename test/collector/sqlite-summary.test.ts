// The console's per-slot summary on SQLite (sqlite.ts slot_summary) and the chunked deletes: a
// GROUP BY over every reading ran synchronously on each fleet/gateway/slot view (9-11 s at 2M
// readings), and a retention sweep or revocation deleted millions of rows in one synchronous
// statement. Checked by what SQLite plans and by counting event-loop turns, not by timing; that the
// summary stays right, on both stores, is slot-summary.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { DELETE_CHUNK_ROWS, SqliteStore } from '../../src/collector/store/sqlite.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { revokeAndPurge } from '../helpers/store-revoke.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-sqlsum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = (): string => join(dir, `s${++files}.db`);

const G1 = new Uint8Array(32).fill(0x31);
const r = (seq: number, o: Partial<StoredReading> = {}): StoredReading => ({ gateway: G1, slot: `s${seq % 3}`, device: 'd', kind: 'k', epoch: 1, seq, ts: 1_000 + seq, value: Uint8Array.of(seq & 0xff), ...o });
const dbOf = (s: SqliteStore): DatabaseSync => (s as unknown as { db: DatabaseSync }).db;

describe('SqliteStore slot summaries', () => {
  it('slotSummaries() reads the summary table: its plan touches no reading', async () => {
    const s = SqliteStore.open(fresh());
    await s.insert([0, 1, 2, 3].map((i) => r(i)));
    const db = dbOf(s);
    const prepare = db.prepare.bind(db);
    const seen: string[] = [];
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    await s.slotSummaries();
    db.prepare = prepare;
    expect(seen).toHaveLength(1);
    const plan = prepare(`EXPLAIN QUERY PLAN ${seen[0]}`).all().map((x) => String(x.detail));
    expect(plan.join('; ')).toMatch(/slot_summary/);
    expect(plan.join('; ')).not.toMatch(/\breadings\b/);
    await s.close();
  });

  it('a delete of N rows runs in ceil(N / DELETE_CHUNK_ROWS) statements, each in its own event-loop turn', async () => {
    const s = SqliteStore.open(fresh());
    const N = 10_000;
    await s.insert(Array.from({ length: N }, (_, i) => r(i, { slot: 'big' })));
    await s.insert(Array.from({ length: 10 }, (_, i) => r(i, { slot: 'other', ts: 1e9 })));
    // A ticker counts event-loop turns; a temporary trigger notes the turn each row was deleted in.
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const db = dbOf(s);
    db.function('turn', () => turns);
    db.exec('CREATE TEMP TABLE deleted_in (turn INTEGER); CREATE TEMP TRIGGER note AFTER DELETE ON main.readings BEGIN INSERT INTO deleted_in VALUES (turn()); END;');
    expect(await s.deleteBefore(G1, 1e8)).toBe(N);
    const per = db.prepare('SELECT turn, count(*) AS n FROM deleted_in GROUP BY turn ORDER BY turn').all().map((x) => Number(x.n));
    expect(per).toHaveLength(Math.ceil(N / DELETE_CHUNK_ROWS));
    expect(per.every((n) => n <= DELETE_CHUNK_ROWS)).toBe(true);
    // The same for a revocation.
    db.exec('DELETE FROM deleted_in');
    await s.insert(Array.from({ length: N }, (_, i) => r(i, { slot: 'big' })));
    expect(await revokeAndPurge(s, G1, ['big'])).toBe(N);
    expect(db.prepare('SELECT count(DISTINCT turn) AS n FROM deleted_in').get()!.n).toBe(Math.ceil(N / DELETE_CHUNK_ROWS));
    ticking = false;
    await s.close();
  });
});
