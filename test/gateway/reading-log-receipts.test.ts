// What the reading log deletes on receipts (src/gateway/reading-log/receipt-floors.ts): a reading
// leaves the log (or is never written) only when every configured collector that may receive it
// has receipted it, and at least one has. A collector's windows that passed a slot over (outside
// its consent) do not count as its receipt for that slot; a slot no collector takes stays until
// the byte bound. Driven here through ReadingLog.receipted() as a publishing session calls it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadingLog, type Audience, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-receipts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);

function reading(slot: string, seq: number): LoggedReading {
  return { slot, device: `dev-${slot}`, kind: 'line', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: Uint8Array.of(0x41, seq & 0xff) };
}

/** A collector that may receive `slots` (mutable: a test narrows or widens them). */
function collector(key: string, ...slots: string[]): Audience & { slots: Set<string>; revoked: boolean } {
  const c = {
    key,
    slots: new Set(slots),
    revoked: false,
    receives: (slot: string) => !c.revoked && c.slots.has(slot),
    receivesAny: () => !c.revoked,
  };
  return c;
}

/** The slots of the readings the log still holds, in id order. */
function held(log: ReadingLog): string[] {
  return log.readAfter(0, 1000).map((r) => `${r.slot}#${r.seq}`);
}

/** ids 1..6: tty-1 #0, tty-2 #0, tty-3 #0, tty-1 #1, tty-2 #1, tty-3 #1. */
function sixReadings(log: ReadingLog): void {
  for (let seq = 0; seq < 2; seq++) for (const slot of ['tty-1', 'tty-2', 'tty-3']) log.append(reading(slot, seq));
}

describe('reading log: what receipts let go', () => {
  it('readings a collector\'s windows passed over are neither deleted nor counted receipted', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'full', receipts: true });
    sixReadings(log);
    // The only collector's windows up to 6 are done; they passed tty-3 over (outside its consent) from id 3 on.
    log.setAudience(() => ['c1']);
    log.receipted('c1', 6, { from: 0, passed: new Map([['tty-3', 2]]) });
    log.flush();
    // Before: all six deleted and counted receipted.
    expect(held(log)).toEqual(['tty-3#0', 'tty-3#1']);
    expect(log.stats()).toMatchObject({ readings: 2, receipted: 4, dropped: {} });
    log.close();
  });

  it('a slot no collector takes stays; one only some take goes once every collector reached it and those that take it receipted it', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'full', receipts: true });
    sixReadings(log);
    const c1 = collector('c1', 'tty-1');
    const c2 = collector('c2', 'tty-1', 'tty-2');
    const both = [c1, c2];
    log.setAudience(() => both);
    // c1's windows up to 6: tty-2 passed over from id 2 on, tty-3 from id 3 on. c2 has not reached any.
    log.receipted('c1', 6, { from: 0, passed: new Map([['tty-2', 1], ['tty-3', 2]]) });
    log.flush();
    expect(held(log)).toHaveLength(6);
    // c2's windows up to 6: tty-3 passed over. tty-1 both receipted, tty-2 c2 (c1 does not take it), tty-3 nobody.
    log.receipted('c2', 6, { from: 0, passed: new Map([['tty-3', 2]]) });
    log.flush();
    // Before: the floor was the lowest cursor, 6, and every reading went, tty-3's counted receipted.
    expect(held(log)).toEqual(['tty-3#0', 'tty-3#1']);
    expect(log.stats()).toMatchObject({ readings: 2, receipted: 4 });
    log.close();
  });

  it('a collector whose consent is wholly revoked holds nothing back, and what it receipted before still goes', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'full', receipts: true });
    sixReadings(log);
    const c1 = collector('c1', 'tty-1', 'tty-2', 'tty-3');
    const c2 = collector('c2', 'tty-1', 'tty-2', 'tty-3');
    log.setAudience(() => [c1, c2]);
    log.receipted('c1', 3);
    c1.revoked = true; // c1's cursor stays at 3 from now on
    log.receipted('c2', 6);
    log.flush();
    expect(held(log)).toEqual([]);
    expect(log.stats().receipted).toBe(6);
    log.close();
  });

  it('a pending reading of a slot no collector takes is written, not skipped as receipted', () => {
    const file = fresh();
    const clock = new FakeClock(0);
    const log = new ReadingLog({ file, durability: 'batch', batchMs: 200, clock, receipts: true });
    const reader = new DatabaseSync(file, { readOnly: true });
    sixReadings(log);
    // Receipted before the batch commits: c1's windows passed tty-3 over from id 3 on.
    log.setAudience(() => ['c1']);
    log.receipted('c1', 6, { from: 0, passed: new Map([['tty-3', 2]]) });
    clock.advance(200);
    // Before: none written, all six counted receipted.
    expect((reader.prepare('SELECT slot, seq FROM readings ORDER BY id').all() as { slot: string; seq: number }[]).map((r) => `${r.slot}#${r.seq}`)).toEqual(['tty-3#0', 'tty-3#1']);
    expect(log.stats()).toMatchObject({ readings: 2, receipted: 4 });
    reader.close();
    log.close();
  });

  it('a slot passed over and in the consent again (a renewed grant) is sent from its own position, and goes once receipted', () => {
    const file = fresh();
    const log = new ReadingLog({ file, durability: 'full', receipts: true });
    sixReadings(log);
    const c1 = collector('c1', 'tty-1', 'tty-2');
    log.setAudience(() => [c1]);
    log.receipted('c1', 6, { from: 0, passed: new Map([['tty-3', 2]]) });
    log.flush();
    expect(held(log)).toEqual(['tty-3#0', 'tty-3#1']);
    log.close();
    // After a restart the position is kept: without tty-3 the next session starts after 6, with it after 2.
    const again = new ReadingLog({ file, durability: 'full', receipts: true });
    expect(again.cursor('c1')).toBe(6);
    expect(again.resumeAt('c1', c1.receives)).toBe(6);
    c1.slots.add('tty-3');
    expect(again.resumeAt('c1', c1.receives)).toBe(2);
    // Windows from 2 to 6 done, nothing passed over: tty-3 is covered now, and goes.
    again.setAudience(() => [c1]);
    again.receipted('c1', 6, { from: 2 });
    again.flush();
    expect(held(again)).toEqual([]);
    expect(again.resumeAt('c1', c1.receives)).toBe(6);
    expect(again.stats().receipted).toBe(6);
    again.close();
  });

  it('within one run too: a slot back in the consent is caught up and then deleted with the others', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'full', receipts: true });
    sixReadings(log);
    const c1 = collector('c1', 'tty-1', 'tty-2');
    log.setAudience(() => [c1]);
    log.receipted('c1', 6, { from: 0, passed: new Map([['tty-3', 2]]) });
    log.flush();
    for (let seq = 2; seq < 4; seq++) for (const slot of ['tty-1', 'tty-2', 'tty-3']) log.append(reading(slot, seq)); // ids 7..12
    c1.slots.add('tty-3');
    const from = log.resumeAt('c1', c1.receives);
    expect(from).toBe(2);
    // A session resumed at 2 got as far as 4 (tty-3 #0 receipted), then on to 12.
    log.receipted('c1', 4, { from });
    log.flush();
    expect(held(log)).toEqual(['tty-3#1', 'tty-1#2', 'tty-2#2', 'tty-3#2', 'tty-1#3', 'tty-2#3', 'tty-3#3']);
    log.receipted('c1', 12, { from: 4 });
    log.flush();
    expect(held(log)).toEqual([]);
    expect(log.stats().receipted).toBe(12);
    log.close();
  });
  it('past its byte bound the log drops the readings no collector receives first, not those a collector is owed', () => {
    const big = (slot: string, seq: number): LoggedReading => ({ ...reading(slot, seq), value: new Uint8Array(200).fill(seq & 0xff) });
    const fill = (log: ReadingLog): void => {
      // 150 readings of tty-1 (a collector's, never receipted: it is away) among 600 of tty-2 (nobody's).
      for (let i = 0; i < 150; i++) {
        log.append(big('tty-1', i));
        for (let k = 0; k < 4; k++) log.append(big('tty-2', 4 * i + k));
        if (i % 10 === 9) log.flush();
      }
      log.flush();
    };
    const c1 = collector('c1', 'tty-1');
    const log = new ReadingLog({ file: fresh(), durability: 'batch', receipts: true, maxBytes: 64 * 1024 });
    log.setAudience(() => [c1]); // c1 receipted nothing yet
    fill(log);
    const { dropped } = log.stats();
    expect(dropped['tty-2']).toBeGreaterThan(0);
    expect(dropped['tty-1']).toBeUndefined(); // before: the oldest of both went, tty-1's among them
    expect(held(log).filter((x) => x.startsWith('tty-1#'))).toHaveLength(150);
    log.close();
    // No collector at all (not publishing): oldest first.
    const unknown = new ReadingLog({ file: fresh(), durability: 'batch', receipts: true, maxBytes: 64 * 1024 });
    fill(unknown);
    expect(unknown.stats().dropped['tty-1']).toBeGreaterThan(0);
    unknown.close();
  });
  it('after a restart, before any collector is back, too: the log is told its collectors at open, not by their first receipt', () => {
    const big = (slot: string, seq: number): LoggedReading => ({ ...reading(slot, seq), value: new Uint8Array(400) });
    // The collector is away: a quarter of the readings are its, the rest tty-2's (no one's); 120 KB against 64 KiB.
    const fill = (log: ReadingLog, from: number): void => {
      for (let i = 0; i < 300; i++) {
        log.append(big(i % 4 === 0 ? 'tty-1' : 'tty-2', from + i));
        log.flush();
      }
    };
    const file = fresh();
    const c1 = collector('c1', 'tty-1');
    const first = new ReadingLog({ file, durability: 'off', maxBytes: 64 * 1024, receipts: true });
    first.setAudience(() => [c1]);
    for (let seq = 0; seq < 10; seq++) first.append(big('tty-1', seq));
    first.flush();
    first.receipted('c1', first.lastId, { from: 0 });
    first.close();
    const again = new ReadingLog({ file, durability: 'off', maxBytes: 64 * 1024, receipts: true });
    again.setAudience(() => [c1]);
    fill(again, 10);
    // Before (the collectors first named by a receipt of the run): {"tty-1": 51, "tty-2": 153}.
    expect(again.stats().dropped).toEqual({ 'tty-2': expect.any(Number) });
    expect(again.unreceipted('c1', c1.receives)).toBe(75);
    again.close();
    // A collector whose scope is unknown (its files did not check out) may receive any slot: none is no one's, oldest first.
    const unknown = new ReadingLog({ file: fresh(), durability: 'off', maxBytes: 64 * 1024, receipts: true });
    unknown.setAudience(() => [c1, 'c3']);
    fill(unknown, 0);
    expect(unknown.stats().dropped).toEqual({ 'tty-1': expect.any(Number), 'tty-2': expect.any(Number) });
    unknown.close();
  });
  it('a reading too large for any message goes first too, though its slot is a collector\'s', () => {
    const c1 = collector('c1', 'tty-1');
    const log = new ReadingLog({ file: fresh(), durability: 'batch', receipts: true, maxBytes: 2 * 1024 * 1024 });
    log.setAudience(() => [c1]);
    const small = (seq: number): LoggedReading => ({ ...reading('tty-1', seq), value: new Uint8Array(200).fill(seq & 0xff) });
    for (let seq = 0; seq < 6000; seq++) {
      if (seq === 3000) log.append({ ...reading('tty-1', 99_999), value: new Uint8Array(600 * 1024) });
      log.append(small(seq));
      if (seq % 100 === 99) log.flush();
    }
    log.flush();
    expect(log.stats().dropped).toEqual({ 'tty-1': 1 }); // before: 804 of the oldest small ones
    const kept = log.readAfter(0, 10_000);
    expect(kept).toHaveLength(6000);
    expect(kept.every((r) => r.value.length === 200)).toBe(true);
    log.close();
  });
});
