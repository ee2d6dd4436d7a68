// What the gateway says about its reading log's losses (src/gateway/reading-log-reports.ts): readings
// the log drops unstored while its disk fails — beyond the pending bound in memory (pending.ts), or
// still pending at a close whose last commit fails — are never published, as the byte bound's are:
// counted in the status file apart from the byte bound's, and said once per outage, with how many
// per slot, in the gateway log and the audit log. A full disk is made as the other reading-log tests
// make it: PRAGMA max_page_count on the log's own connection. On a disk that takes readings nothing
// is dropped unstored: a batch larger than the pending bound is committed early; and readings whose
// MQTT acknowledgement waits (held) are not lost at a failed stop: their broker sends them again.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/gateway/hil/audit.js';
import { readingLogReports } from '../../src/gateway/reading-log-reports.js';
import { ReadingLog, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { readingLogStatus } from '../../src/gateway/status-gather.js';
import { FakeClock } from '../helpers/fake-clock.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-reports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);
const dbOf = (log: ReadingLog): { exec(sql: string): void } => (log as unknown as { db: { exec(sql: string): void } }).db;

const reading = (slot: string, seq: number, size: number): LoggedReading => ({ slot, device: 'd', kind: 'line', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(size).fill(seq & 0xff) });

/** A reading log reported on as the gateway does, its log and audit lines kept. */
function reported(maxBytes: number, batchMs = 200) {
  const lines: Record<string, unknown>[] = [];
  const sink = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  const reports = readingLogReports(pino({ level: 'info' }, sink), new AuditLog(pino({ level: 'info' }, sink)));
  const clock = new FakeClock(0);
  const log = new ReadingLog({ file: fresh(), durability: 'batch', batchMs, clock, maxBytes, ...reports.hooks });
  reports.opened('readings.db', log);
  // The audit log writes its lines two turns later (audit.ts).
  const settled = async (): Promise<void> => {
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  };
  const of = (what: string) => lines.filter((l) => l.event === what || l.action === what);
  return { log, clock, lines, of, settled };
}

describe('reading log: readings dropped unstored while the disk fails', () => {
  it('beyond the pending bound: counted in status apart from the byte bound, and said once, with the counts, when the disk takes readings again', async () => {
    const t = reported(1 * MIB); // pending bound: 512 KiB
    dbOf(t.log).exec('PRAGMA max_page_count = 40');
    let seq = 0;
    // An outage of ten retries: 4 KiB readings of two slots, 1.5 MiB in all.
    for (let tick = 0; tick < 10; tick++) {
      for (let i = 0; i < 40; i++) t.log.append(reading(i % 4 === 0 ? 'tty-2' : 'tty-1', seq++, 4096));
      t.clock.advance(200);
    }
    await t.settled();
    const st = t.log.stats();
    expect(st.commitFailing).toBeDefined();
    const lost = st.pendingDropped!;
    expect(lost['tty-1']).toBeGreaterThan(0);
    expect(lost['tty-2']).toBeGreaterThan(0);
    expect(lost['tty-1']! + lost['tty-2']! + st.pending).toBe(seq);
    // The status file: among the readings lost, and apart (before: only in `dropped`, shown as the byte bound's).
    expect(readingLogStatus('readings.db', t.log)).toMatchObject({ dropped: lost, pending_dropped: lost });
    // Nothing said while the outage lasts but the failing commits (the first of them).
    expect(t.of('reading_log.pending_dropped')).toEqual([]);
    expect(t.of('reading_log.commit_failed')).toHaveLength(1);
    // The disk takes readings again: one line in each log, with what was dropped per slot.
    dbOf(t.log).exec('PRAGMA max_page_count = 1000000');
    t.clock.advance(200);
    for (let tick = 0; tick < 5; tick++) {
      for (let i = 0; i < 10; i++) t.log.append(reading('tty-1', seq++, 4096));
      t.clock.advance(200);
    }
    await t.settled();
    expect(t.log.stats()).toMatchObject({ pending: 0, pendingDropped: lost });
    // Before: neither line.
    expect(t.of('reading_log.pending_dropped')).toEqual([expect.objectContaining({ level: 50, readings: lost, total: lost['tty-1']! + lost['tty-2']! })]);
    expect(t.of('reading_log.dropped')).toEqual([expect.objectContaining({ code: 'PENDING_BOUND', decision: 'dropped', readings: lost })]);
    expect(t.of('reading_log.commit_recovered')).toHaveLength(1);
    t.log.close();
  });

  it('a stop while the disk still fails: what was pending is lost with the process, counted and said with the rest', async () => {
    const t = reported(1 * MIB);
    dbOf(t.log).exec('PRAGMA max_page_count = 40');
    for (let seq = 0; seq < 200; seq++) t.log.append(reading('tty-1', seq, 4096));
    t.clock.advance(200);
    const before = t.log.stats();
    expect(before.pending).toBeGreaterThan(0);
    expect(() => t.log.close()).toThrow(/database or disk is full/);
    await t.settled();
    // The status file written after the stop (the closed log's last stats).
    expect(t.log.stats()).toMatchObject({ pending: 0, pendingDropped: { 'tty-1': 200 }, dropped: { 'tty-1': 200 } });
    expect(t.of('reading_log.pending_dropped')).toEqual([expect.objectContaining({ readings: { 'tty-1': 200 }, total: 200 })]);
    expect(t.of('reading_log.dropped')).toEqual([expect.objectContaining({ code: 'PENDING_BOUND', readings: { 'tty-1': 200 } })]);
  });

  it('a stop while the disk fails: readings whose MQTT acknowledgement waits are not counted lost (their broker sends them again on its persistent session)', async () => {
    const t = reported(1 * MIB);
    const forgotten: number[] = [];
    t.log.onDropped((id) => forgotten.push(id));
    dbOf(t.log).exec('PRAGMA max_page_count = 40');
    // QoS 1 messages (held: acknowledged only once stored) and serial lines, all still pending at the stop.
    for (let seq = 0; seq < 30; seq++) t.log.append({ ...reading('mqtt-1', seq, 4096), kind: 'mqtt' }, true, true);
    for (let seq = 0; seq < 20; seq++) t.log.append(reading('tty-1', seq, 4096));
    expect(() => t.log.close()).toThrow(/database or disk is full/);
    await t.settled();
    // Before: { 'mqtt-1': 30, 'tty-1': 20 }, the 30 the broker still holds counted and reported lost.
    expect(t.log.stats()).toMatchObject({ pendingDropped: { 'tty-1': 20 }, dropped: { 'tty-1': 20 } });
    expect(t.of('reading_log.pending_dropped')).toEqual([expect.objectContaining({ readings: { 'tty-1': 20 }, total: 20 })]);
    expect(t.of('reading_log.dropped')).toEqual([expect.objectContaining({ code: 'PENDING_BOUND', readings: { 'tty-1': 20 } })]);
    // Whoever waits for their commit is still told they were never stored (the recorder does not acknowledge them).
    expect(forgotten).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
  it.each([
    { session: 'persistent', resent: true },
    { session: 'clean', resent: false },
  ])('beyond the pending bound, readings whose MQTT acknowledgement waits are dropped from memory; counted lost only on a $session session\'s broker', async ({ resent }) => {
    const t = reported(1 * MIB); // pending bound: 512 KiB
    const forgotten: number[] = [];
    t.log.onDropped((id) => forgotten.push(id));
    dbOf(t.log).exec('PRAGMA max_page_count = 40');
    // An outage under QoS 1 messages only (every pending reading held): 200 of 4 KiB, 800 KiB.
    for (let tick = 0; tick < 5; tick++) {
      for (let i = 0; i < 40; i++) t.log.append({ ...reading('mqtt-1', tick * 40 + i, 4096), kind: 'mqtt' }, true, resent);
      t.clock.advance(200);
    }
    await t.settled();
    const st = t.log.stats();
    expect(st.commitFailing).toBeDefined();
    // Memory stays bounded: the oldest held ones went, and the recorder is told so.
    const n = forgotten.length;
    expect(n).toBeGreaterThan(0);
    expect(n + st.pending).toBe(200);
    expect(forgotten).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // A persistent session's broker still has every one (before: counted and reported lost all the
    // same); a clean session's forgets them at the reconnect.
    const lost = resent ? undefined : { 'mqtt-1': n };
    expect(st.pendingDropped).toEqual(lost);
    dbOf(t.log).exec('PRAGMA max_page_count = 1000000');
    t.clock.advance(200);
    await t.settled();
    expect(t.log.stats()).toMatchObject({ pending: 0 });
    expect(t.of('reading_log.pending_dropped')).toEqual(resent ? [] : [expect.objectContaining({ readings: lost, total: n })]);
    expect(t.of('reading_log.dropped')).toEqual(resent ? [] : [expect.objectContaining({ code: 'PENDING_BOUND', readings: lost })]);
    t.log.close();
  });
});

describe('reading log: a batch larger than the pending bound on a disk that takes readings', () => {
  it('is committed early: nothing dropped unstored, nothing said of a disk outage', async () => {
    // max_mb 1 (pending bound 512 KiB), batch_ms 10000, QoS 0 MQTT payloads of 8 KiB at 10/s: 800 KiB a batch.
    const t = reported(1 * MIB, 10_000);
    let seq = 0;
    for (let s = 0; s < 30; s++) {
      for (let i = 0; i < 10; i++) t.log.append({ ...reading('mqtt-1', seq++, 8192), kind: 'mqtt' });
      t.clock.advance(1000);
      expect(t.log.stats().pendingBytes).toBeLessThanOrEqual(512 * 1024);
    }
    await t.settled();
    const st = t.log.stats();
    expect(st.commitFailing).toBeUndefined();
    // Before: ~100 readings dropped per batch, each batch reported as an outage ("check the disk"), at error level.
    expect(st.pendingDropped).toBeUndefined();
    expect(t.of('reading_log.pending_dropped')).toEqual([]);
    expect(t.lines.filter((l) => l.code === 'PENDING_BOUND')).toEqual([]);
    // 2.4 MB against max_mb 1: the byte bound drops the oldest stored, and says so (LOG_BOUND); every reading is stored or counted there.
    expect(st.readings + st.pending + (st.dropped['mqtt-1'] ?? 0)).toBe(seq);
    expect(t.lines.filter((l) => l.code === 'LOG_BOUND').length).toBeGreaterThan(0);
    t.log.close();
  });
});
