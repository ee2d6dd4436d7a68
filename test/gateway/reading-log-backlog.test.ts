// What `uzpgw status` counts per collector as awaiting receipt, and as kept for no collector
// (src/gateway/reading-log/backlog.ts): only readings the collector may receive count as awaiting
// it — a slot outside its consent, or a value no message carries, is never sent to it, and
// counting it made a backlog that never drains. The committed part is counted once and then only
// what came since; checked here against a count of everything the log holds, whatever the order of
// appends, commits, receipts and the byte bound's drops.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_MAX_BYTES, ReadingLog, type Audience, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { readingLogStatus } from '../../src/gateway/status-gather.js';
import { MAX_READING_VALUE } from '../../src/hil/publish-messages.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-backlog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);

function reading(slot: string, seq: number, size = 2): LoggedReading {
  return { slot, device: `dev-${slot}`, kind: 'line', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(size).fill(0x41 + (seq % 20)) };
}

function collector(key: string, ...slots: string[]): Audience {
  return { key, receives: (slot) => slots.includes(slot), receivesAny: () => true };
}

/** What `c` is owed, counted the long way: every reading the log holds, committed or pending, of a slot it receives, after its cursor, small enough to send. */
function owed(log: ReadingLog, c: Audience): number {
  const at = log.cursor(c.key);
  return log.readAfter(0, 1_000_000).filter((r) => c.receives(r.slot) && r.id > at && r.value.length <= MAX_READING_VALUE).length;
}

describe('reading log: readings awaiting a collector', () => {
  it('two slots, one granted: only the granted slot\'s unreceipted readings count, committed and pending', () => {
    const clock = new FakeClock(0);
    const log = new ReadingLog({ file: fresh(), durability: 'batch', batchMs: 200, clock, receipts: true });
    const c1 = collector('c1', 'tty-1');
    for (let seq = 0; seq < 20; seq++) {
      log.append(reading('tty-1', seq));
      log.append(reading('tty-2', seq));
    }
    log.append(reading('tty-1', 20, MAX_READING_VALUE + 1)); // no message carries it: never sent
    clock.advance(200);
    for (let seq = 21; seq < 26; seq++) log.append(reading('tty-1', seq)); // pending
    // Before: 46, every reading after its cursor (0), tty-2's and the large one included.
    expect(log.unreceipted('c1', c1.receives)).toBe(25);
    // One whose scope is unknown (its files did not check out) may be sent every slot.
    expect(log.unreceipted('c3', () => true)).toBe(45);
    // Its windows up to tty-1 #9 (id 19) are receipted, tty-2 passed over from id 2 on.
    log.setAudience(() => [c1]);
    log.receipted('c1', 19, { from: 0, passed: new Map([['tty-2', 1]]) });
    log.flush();
    expect(log.unreceipted('c1', c1.receives)).toBe(15);
    // A slot it receives nothing of, or a collector that receives nothing: none.
    expect(log.unreceipted('c2', collector('c2', 'tty-9').receives)).toBe(0);
    log.close();
  });

  it('kept for no collector: the slots none may receive, and the values none can be sent, in the status file when publishing', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'full', receipts: true });
    for (let seq = 0; seq < 12; seq++) log.append(reading('tty-1', seq));
    for (let seq = 0; seq < 7; seq++) log.append(reading('tty-2', seq));
    log.append(reading('tty-1', 12, MAX_READING_VALUE + 1));
    const c1 = collector('c1', 'tty-1');
    expect(log.heldForNobody([c1])).toBe(8);
    expect(log.heldForNobody([c1, collector('c2', 'tty-2')])).toBe(1);
    // A collector whose scope is unknown is waited for on every slot: only the large value is no one's.
    expect(log.heldForNobody([c1, 'c3'])).toBe(1);
    expect(readingLogStatus('readings.db', log, [c1])).toMatchObject({ readings: 20, kept_for_nobody: 8 });
    // Not publishing: no such line (everything is kept for nobody, and the bound says what goes).
    expect(readingLogStatus('readings.db', log)).not.toHaveProperty('kept_for_nobody');
    expect(readingLogStatus('readings.db', log, [])).not.toHaveProperty('kept_for_nobody');
    // The large values are counted from their partial index, not by reading the table.
    const db = (log as unknown as { db: DatabaseSync }).db;
    const plan = (db.prepare(`EXPLAIN QUERY PLAN SELECT slot, count(*) AS n FROM readings WHERE length(value) > ${MAX_READING_VALUE} GROUP BY slot`).all() as { detail: string }[]).map((p) => p.detail).join('; ');
    expect(plan).toMatch(/USING (COVERING )?INDEX readings_too_large/);
    log.close();
    // The per-slot counts are the log's own, read again at open.
    const again = new ReadingLog({ file: join(dir, `log-${n}.db`), durability: 'full' });
    expect(again.heldForNobody([c1])).toBe(8);
    again.close();
  });

  it('property: whatever the order of appends, commits, receipts and byte-bound drops, each collector\'s count, and no collector\'s, is what the log holds for it', () => {
    const slots = ['tty-1', 'tty-2', 'tty-3'];
    const step = fc.oneof(
      { arbitrary: fc.record({ k: fc.constant('append' as const), slots: fc.array(fc.constantFrom(...slots), { minLength: 1, maxLength: 40 }), size: fc.integer({ min: 300, max: 1000 }) }), weight: 3 },
      { arbitrary: fc.record({ k: fc.constant('receipt' as const), c: fc.constantFrom(0, 1), lag: fc.integer({ min: 0, max: 30 }) }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 250 }) }), weight: 1 },
      { arbitrary: fc.constant({ k: 'flush' as const }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 20, maxLength: 60 }), (steps) => {
        const clock = new FakeClock(0);
        const log = new ReadingLog({ file: fresh(), durability: 'off', batchMs: 200, clock, receipts: true, maxBytes: MIN_MAX_BYTES });
        // c1 takes tty-1 and tty-3, c2 tty-1; tty-2 is no one's.
        const cs = [collector('c1', 'tty-1', 'tty-3'), collector('c2', 'tty-1')];
        log.setAudience(() => cs);
        let seq = 0;
        try {
          for (const s of steps) {
            if (s.k === 'append') for (const slot of s.slots) log.append(reading(slot, seq++, s.size));
            else if (s.k === 'receipt') {
              const c = cs[s.c]!;
              const from = log.cursor(c.key);
              const upTo = Math.max(from, log.lastId - s.lag);
              // Its windows passed over what it does not receive.
              log.receipted(c.key, upTo, { from, passed: new Map(slots.filter((x) => !c.receives(x)).map((x) => [x, from])) });
            } else if (s.k === 'tick') clock.advance(s.ms);
            else log.flush();
            for (const c of cs) if (log.unreceipted(c.key, c.receives) !== owed(log, c)) return false;
            // And what is kept for no collector, from the per-slot counts receipts' deletes and drops move.
            const all = log.readAfter(0, 1_000_000);
            const committed = all.slice(0, all.length - log.stats().pending);
            if (log.heldForNobody(cs) !== committed.filter((r) => r.slot === 'tty-2').length) return false;
            // tty-3, which receipts delete, counted as no one's when c2 alone is asked about.
            if (log.heldForNobody([cs[1]!]) !== committed.filter((r) => r.slot !== 'tty-1').length) return false;
          }
          return true;
        } finally {
          log.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('the byte bound dropping what a collector was owed: the count follows', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'off', maxBytes: MIN_MAX_BYTES, receipts: true });
    const c1 = collector('c1', 'tty-1');
    let counted = 0;
    for (let seq = 0; seq < 400; seq++) {
      log.append(reading('tty-1', seq, 500));
      log.flush();
      counted = log.unreceipted('c1', c1.receives);
    }
    expect(log.stats().dropped['tty-1']).toBeGreaterThan(0);
    expect(counted).toBe(log.stats().readings);
    expect(counted).toBe(owed(log, c1));
    log.close();
  });
});
