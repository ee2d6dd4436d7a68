// The values no publish message carries (over MAX_READING_VALUE) in the reading log: kept for no
// collector, and the first the byte bound drops (prune.ts), counted through their partial index
// (schema.ts). The index is built when a log written before it is first opened: a write, which a
// full card refuses; that open failed ("database or disk is full") and the gateway reported a config
// error. Simulated here by another connection holding the write lock, which makes SQLite refuse the
// same write ("database is locked"); the log now opens and counts those values by a scan until an
// open builds the index.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadingLog, type Audience, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { TOO_LARGE_INDEX } from '../../src/gateway/reading-log/schema.js';
import { MAX_READING_VALUE } from '../../src/hil/publish-messages.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-too-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);

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
});
