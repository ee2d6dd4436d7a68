// The values no publish message carries (over MAX_READING_VALUE) in the reading log: kept for no
// collector, and the first the byte bound drops (prune.ts), found through their partial index
// (schema.ts) rather than by a scan of the whole table at every prune (452 ms at a million rows).
// The index is built when a log written before it is first opened: a write, which a full card
// refuses; that open failed ("database or disk is full") and the gateway reported a config error.
// Simulated here by another connection holding the write lock, which makes SQLite refuse the same
// write ("database is locked"); the log now opens and counts those values by a scan until an open
// builds the index. What the byte bound asks of a slot no collector takes is asked only while that
// slot holds readings: asked of an emptied one, the query read the whole table for none.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_MAX_BYTES, ReadingLog, type Audience, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { TOO_LARGE_INDEX, TOO_LARGE_SQL } from '../../src/gateway/reading-log/schema.js';
import { MAX_READING_VALUE } from '../../src/hil/publish-messages.js';
import { FakeClock } from '../helpers/fake-clock.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-too-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);
const dbOf = (log: ReadingLog): DatabaseSync => (log as unknown as { db: DatabaseSync }).db;

const reading = (slot: string, seq: number, size: number): LoggedReading => ({ slot, device: `dev-${slot}`, kind: 'line', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(size).fill(seq & 0xff) });
const c1: Audience = { key: 'c1', receives: (slot) => slot === 'tty-1', receivesAny: () => true };
const hasIndex = (file: string): boolean => {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare("SELECT 1 AS one FROM sqlite_master WHERE type = 'index' AND name = ?").get(TOO_LARGE_INDEX) !== undefined;
  } finally {
    db.close();
  }
};

/** Every statement `log` prepares while `f` runs. */
function prepared(log: ReadingLog, f: () => void): string[] {
  const db = dbOf(log);
  const prepare = db.prepare.bind(db);
  const seen: string[] = [];
  db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
  try {
    f();
  } finally {
    db.prepare = prepare;
  }
  return seen;
}

describe('reading log: values no message carries', () => {
  it('a log written before their index opens though the index cannot be written, counts and drops them by a scan, and the next open builds it', () => {
    const file = fresh();
    const first = new ReadingLog({ file, durability: 'full', maxBytes: 2 * MIB });
    for (let seq = 0; seq < 4; seq++) first.append(reading('tty-1', seq, 100));
    first.append(reading('tty-1', 4, MAX_READING_VALUE + 1));
    first.close();
    // As the log was before the index (commit e9e3d52).
    const other = new DatabaseSync(file);
    other.exec(`DROP INDEX ${TOO_LARGE_INDEX}`);
    other.exec('BEGIN IMMEDIATE'); // no write but this connection's, as no write on a full card
    let log: ReadingLog;
    try {
      // Before: threw "database is locked" (on a full card "database or disk is full"): no gateway.
      log = new ReadingLog({ file, durability: 'full', maxBytes: 2 * MIB });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(hasIndex(file)).toBe(false);
    log.setAudience(() => [c1]);
    expect(log.heldForNobody([c1])).toBe(1);
    // Past the bound the large value goes first, found without its index.
    for (let seq = 5; seq < 5000 && Object.keys(log.stats().dropped).length === 0; seq++) log.append(reading('tty-1', seq, 1000));
    expect(log.stats().dropped).toEqual({ 'tty-1': 1 });
    expect(log.heldForNobody([c1])).toBe(0);
    log.close();
    const again = new ReadingLog({ file, durability: 'full', maxBytes: 2 * MIB });
    expect(hasIndex(file)).toBe(true);
    again.close();
  });

  it('past the byte bound they are found through their partial index, and an emptied slot no collector takes is not looked for', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'batch', clock: new FakeClock(0), maxBytes: MIN_MAX_BYTES, receipts: true });
    log.setAudience(() => [c1]);
    let seq = 0;
    // tty-2 is no one's: its readings go first, then the oldest of tty-1.
    for (let i = 0; i < 20; i++) log.append(reading('tty-2', i, 400));
    const fill = (): void => {
      for (let i = 0; i < 400; i++) {
        log.append(reading('tty-1', seq++, 400));
        if (i % 50 === 49) log.flush();
      }
    };
    const first = prepared(log, fill);
    expect(log.stats().dropped['tty-2']).toBe(20);
    const then = prepared(log, fill);
    expect(log.stats().dropped['tty-1']).toBeGreaterThan(0);
    const large = [...first, ...then].filter((sql) => sql.includes(TOO_LARGE_SQL));
    expect(large.length).toBeGreaterThan(0);
    for (const sql of large) {
      const plan = (dbOf(log).prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((p) => p.detail).join('; ');
      // Before: "SCAN readings", the whole table at every prune.
      expect(plan, sql).toMatch(new RegExp(`USING (COVERING )?INDEX ${TOO_LARGE_INDEX}`));
    }
    // tty-2 emptied by the first prunes: the later ones ask only for what exists (before: its slot every time).
    expect(first.some((sql) => /slot IN/.test(sql))).toBe(true);
    expect(then.some((sql) => /slot IN/.test(sql))).toBe(false);
    log.close();
  });
});
