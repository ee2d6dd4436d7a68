// The reading log's "receipted before committed" (src/gateway/reading-log/reading-log.ts): with
// publishing on, a reading every collector receipted before its commit never reaches the disk, and
// yet the loss window holds: at every instant, each reading appended batchMs ago or earlier is
// either stored (seen from another connection) or receipted. Checked by example and as a property
// over random appends, receipts and clock steps (fast-check), with one collector and with two.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadingLog, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-elision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);
const BATCH_MS = 200;

function reading(seq: number): LoggedReading {
  return { slot: 'tty-1', device: 'sensor', kind: 'line', epoch: 4, seq, ts: 1_700_000_000_000 + seq, value: Uint8Array.of(0x41, seq & 0xff) };
}

function open(collectors = ['c1']) {
  const file = fresh();
  const clock = new FakeClock(0);
  const log = new ReadingLog({ file, durability: 'batch', batchMs: BATCH_MS, clock, receipts: true });
  log.setAudience(() => collectors);
  const reader = new DatabaseSync(file, { readOnly: true });
  const stored = (): Set<number> => new Set((reader.prepare('SELECT seq FROM readings').all() as { seq: number }[]).map((r) => Number(r.seq)));
  const settled: number[] = [];
  log.onCommit((_added, durableTo) => settled.push(durableTo));
  return { log, clock, stored, settled, collectors, close: () => (log.close(), reader.close()) };
}

describe('reading log: receipted before committed', () => {
  it('a reading receipted within the window is never written; one not receipted is written within batchMs', () => {
    const t = open();
    for (let s = 0; s < 10; s++) t.log.append(reading(s)); // ids 1..10 at t=0
    t.clock.advance(10);
    t.log.receipted('c1', 10);
    t.clock.advance(BATCH_MS);
    expect(t.stored().size).toBe(0);
    expect(t.log.stats()).toMatchObject({ pending: 0, readings: 0, receipted: 10 });
    expect(t.settled.at(-1)).toBe(10); // receipted readings are safe: what waits on them settles
    t.log.append(reading(10)); // id 11 at t=210, never receipted
    const appendedAt = t.clock.now();
    t.clock.advance(5);
    t.log.receipted('c1', 10);
    while (!t.stored().has(10)) {
      expect(t.clock.now() - appendedAt, 'written within the loss window').toBeLessThanOrEqual(BATCH_MS);
      t.clock.advance(10);
    }
    t.close();
  });

  it('with two collectors, only what both receipted is skipped', () => {
    const t = open(['c1', 'c2']);
    for (let s = 0; s < 4; s++) t.log.append(reading(s));
    t.log.receipted('c1', 4);
    t.log.receipted('c2', 2);
    t.clock.advance(BATCH_MS);
    expect([...t.stored()].sort()).toEqual([2, 3]);
    t.close();
  });

  it('reopened, the log gives ids above every id a cursor names, though the readings were never stored', () => {
    const file = fresh();
    const clock = new FakeClock(0);
    const log = new ReadingLog({ file, durability: 'batch', batchMs: BATCH_MS, clock, receipts: true });
    for (let s = 0; s < 5; s++) log.append(reading(s));
    log.setAudience(() => ['c1']);
    log.receipted('c1', 5);
    log.close(); // the cursor is stored; no reading is
    const again = new ReadingLog({ file, durability: 'batch', batchMs: BATCH_MS, clock, receipts: true });
    expect(again.stats().readings).toBe(0);
    expect(again.nextId).toBe(6);
    again.append(reading(5));
    again.flush();
    // Not covered by the old cursor: a new reading is never taken as receipted.
    expect(again.readAfter(again.cursor('c1')).map((r) => r.seq)).toEqual([5]);
    again.close();
  });

  it('property: whatever the order of appends, receipts and time, nothing older than batchMs is only in memory', () => {
    const step = fc.oneof(
      fc.record({ k: fc.constant('append' as const), n: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ k: fc.constant('receipt' as const), c: fc.constantFrom('c1', 'c2'), lag: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 120 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), fc.boolean(), (steps, two) => {
        const t = open(two ? ['c1', 'c2'] : ['c1']);
        const appendedAt: number[] = [];
        const receiptedBy = new Map<string, number>();
        let seq = 0;
        try {
          for (const s of steps) {
            if (s.k === 'append') {
              for (let i = 0; i < s.n; i++) {
                appendedAt.push(t.clock.now());
                t.log.append(reading(seq++));
              }
            } else if (s.k === 'receipt') {
              if (!t.collectors.includes(s.c)) continue;
              const id = Math.max(0, t.log.lastId - s.lag);
              receiptedBy.set(s.c, Math.max(id, receiptedBy.get(s.c) ?? 0));
              t.log.receipted(s.c, id);
            } else t.clock.advance(s.ms);
            const floor = Math.min(...t.collectors.map((c) => receiptedBy.get(c) ?? 0));
            const stored = t.stored();
            for (let i = 0; i < appendedAt.length; i++) {
              // Reading i has row id i + 1 (the log's first id on a fresh file).
              if (t.clock.now() - appendedAt[i]! >= BATCH_MS && i + 1 > floor && !stored.has(i)) return false;
            }
          }
          return true;
        } finally {
          t.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
