// The reading recorder settles a reading (Reading.settled: an MQTT message's PUBACK waits for it,
// issue #12) only once the reading log has committed it: in durability full during the append, in
// batch after the next commit (on the injected clock), early once 16 settles wait, after a commit
// that added nothing new (a duplicate), and after a failed commit only with the one that finally
// takes the reading. Every settle checks, from its own connection, that the row is on disk.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HilDevice, Reading } from '../../src/hil/device.js';
import { Listeners } from '../../src/hil-devices/readings.js';
import { MAX_PENDING, ReadingLog, type Durability } from '../../src/gateway/reading-log/reading-log.js';
import { ReadingRecorder, SETTLE_FLUSH_AT } from '../../src/gateway/reading-log/recorder.js';
import { HELD_SCAN_MAX } from '../../src/gateway/reading-log/pending.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-recorder-settle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0).reverse()) o.close();
});
let n = 0;

/** A device that emits what the test says, and the recorder over a fresh log. */
function setup(durability: Durability): { clock: FakeClock; log: ReadingLog; rec: ReadingRecorder; emit: (seq: number, settles?: boolean) => void; settled: number[]; errors: unknown[]; file: string; committed: () => number; lostCalls: () => number } {
  const file = join(dir, `log-${++n}.db`);
  const clock = new FakeClock(0);
  const log = new ReadingLog({ file, durability, batchMs: 200, clock });
  open.push(log);
  const listeners = new Listeners<[Reading]>('test readings');
  const dev: HilDevice = { slot: 'net-1', id: 'line-1', driver: 'mqtt-bridge', kind: 'mqtt', onReading: (cb) => listeners.on(cb) };
  const errors: unknown[] = [];
  const rec = new ReadingRecorder({ log, devices: new Map([['net-1', dev]]), epoch: 7, onError: (e) => errors.push(e) });
  rec.start();
  const reader = new DatabaseSync(file, { readOnly: true });
  open.push(reader);
  const committed = (): number => Number((reader.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n);
  const isCommitted = (seq: number): boolean => reader.prepare('SELECT 1 FROM readings WHERE slot = ? AND epoch = 7 AND seq = ?').get('net-1', seq) !== undefined;
  const settled: number[] = [];
  // One function for every reading, as a bridge gives: the recorder calls it once per commit.
  let lostCalls = 0;
  const lost = (): void => void lostCalls++;
  const emit = (seq: number, settles = true): void =>
    listeners.emit({
      slot: 'net-1',
      device: 'line-1',
      kind: 'mqtt',
      seq,
      ts: 1_700_000_000_000 + seq,
      value: { topic: 'plant/line/n', payload: String(seq) },
      ...(settles
        ? {
            settled: () => {
              // Durable means committed: another connection sees the row when the settle runs.
              expect(isCommitted(seq), `reading ${seq} settled before it was committed`).toBe(true);
              settled.push(seq);
            },
            lost,
          }
        : {}),
    });
  return { clock, log, rec, emit, settled, errors, file, committed, lostCalls: () => lostCalls };
}

/** Holds the database's write lock from another connection until the returned function is called. */
function lock(file: string): () => void {
  const db = new DatabaseSync(file);
  db.exec('BEGIN IMMEDIATE');
  return () => {
    db.exec('ROLLBACK');
    db.close();
  };
}

describe('ReadingRecorder settles readings once they are durable', () => {
  it('full: settled during the append (its commit fsyncs)', () => {
    const t = setup('full');
    t.emit(0);
    expect(t.settled).toEqual([0]);
    t.emit(1);
    expect(t.settled).toEqual([0, 1]);
    expect(t.rec.unsettledCount).toBe(0);
  });

  it('batch: settled only by the commit that holds the reading, after batch_ms on the clock', () => {
    const t = setup('batch');
    for (let s = 0; s < 3; s++) t.emit(s);
    t.clock.advance(199);
    expect([t.settled, t.committed(), t.rec.unsettledCount]).toEqual([[], 0, 3]);
    t.clock.advance(1);
    expect([t.settled, t.committed()]).toEqual([[0, 1, 2], 3]);
    t.emit(3);
    expect(t.settled).toEqual([0, 1, 2]);
    t.clock.advance(200);
    expect(t.settled).toEqual([0, 1, 2, 3]);
  });

  it(`batch: ${SETTLE_FLUSH_AT} waiting settles commit at once, without waiting for batch_ms`, () => {
    const t = setup('batch');
    for (let s = 0; s < SETTLE_FLUSH_AT - 1; s++) t.emit(s);
    expect([t.settled.length, t.committed()]).toEqual([0, 0]);
    t.emit(SETTLE_FLUSH_AT - 1);
    expect([t.settled.length, t.committed(), t.log.stats().pending]).toEqual([SETTLE_FLUSH_AT, SETTLE_FLUSH_AT, 0]);
    expect(t.clock.now()).toBe(0);
  });

  it('batch: a commit that adds nothing new (the reading was logged already) still settles', () => {
    const t = setup('batch');
    t.emit(0);
    t.clock.advance(200);
    t.emit(0); // the same (slot, epoch, seq): the log keeps it once
    t.clock.advance(200);
    expect([t.settled, t.committed()]).toEqual([[0, 0], 1]);
  });

  it('full: an append whose commit failed is settled by the commit that finally takes it', () => {
    const t = setup('full');
    const unlock = lock(t.file);
    t.emit(0);
    expect([t.settled, t.errors.length, t.log.stats().pending]).toEqual([[], 1, 1]);
    unlock();
    // Within batch_ms of the failure an append does not try again (FILE_IO, nothing written)...
    t.emit(1);
    expect([t.settled, t.committed(), (t.errors[1] as { code?: string }).code]).toEqual([[], 0, 'FILE_IO']);
    // ...the timed retry takes both, and appends are on disk at once again.
    t.clock.advance(200);
    expect([t.settled, t.committed()]).toEqual([[0, 1], 2]);
    t.emit(2);
    expect([t.settled, t.committed(), t.errors.length]).toEqual([[0, 1, 2], 3, 2]);
  });

  it('a failing disk costs one commit try per batch_ms, not one per reading', () => {
    // Each try writes the whole pending backlog (up to MAX_PENDING readings) before a full card
    // refuses it, so a try per reading made the gateway's work grow with the square of the outage.
    for (const durability of ['full', 'batch'] as const) {
      const t = setup(durability);
      const unlock = lock(t.file);
      const n = 40 * SETTLE_FLUSH_AT;
      for (let s = 0; s < n; s++) t.emit(s);
      // One try failed on the database (locked); full's later appends were refused before any try.
      const codes = t.errors.map((e) => (e as { code?: string }).code);
      expect([codes.filter((c) => c !== 'FILE_IO').length, codes.length]).toEqual([1, durability === 'full' ? n : 1]);
      expect([t.settled.length, t.log.stats().pending, t.log.failing]).toEqual([0, n, true]);
      t.clock.advance(200); // the timed retry, still locked: fails, and the next is batch_ms away
      expect([t.log.stats().pending, t.log.failing]).toEqual([n, true]);
      unlock();
      t.clock.advance(200);
      expect([t.settled.length, t.committed(), t.log.failing]).toEqual([n, n, false]);
    }
  });

  it('batch: a failed commit settles nothing; the next one settles what it took', () => {
    const t = setup('batch');
    t.emit(0);
    const unlock = lock(t.file);
    // The timer's commit fails (locked): no exception escapes the timer; the reading stays pending.
    expect(() => t.clock.advance(200)).not.toThrow();
    expect([t.settled, t.log.stats().pending]).toEqual([[], 1]);
    // No early commit at SETTLE_FLUSH_AT while the retry is batch_ms away: nothing tried, nothing settled.
    for (let s = 1; s < SETTLE_FLUSH_AT; s++) t.emit(s);
    expect([t.settled, t.errors.length, t.rec.unsettledCount]).toEqual([[], 0, SETTLE_FLUSH_AT]);
    unlock();
    t.clock.advance(200);
    expect([t.settled.length, t.committed(), t.rec.unsettledCount]).toEqual([SETTLE_FLUSH_AT, SETTLE_FLUSH_AT, 0]);
  });

  it('batch: past MAX_PENDING while the disk fails the log drops readings nobody waits on, and keeps those whose PUBACK waits', () => {
    const t = setup('batch');
    const unlock = lock(t.file);
    // Five readings whose PUBACK waits, then MAX_PENDING more (QoS 0: nothing waits) before any
    // commit (the clock stands still), then one more that waits.
    for (let s = 0; s < 5; s++) t.emit(s);
    for (let s = 5; s < MAX_PENDING + 5; s++) t.emit(s, false);
    t.emit(MAX_PENDING + 5);
    expect([t.settled.length, t.log.stats().pending, t.rec.unsettledCount]).toEqual([0, MAX_PENDING, 6]);
    unlock();
    t.clock.advance(200);
    // Each settle checks that its row is on disk (setup). Without the rule the log dropped 0..5, the
    // oldest, and the commit of the rest settled 0..4 as well: acknowledged to the broker, never stored.
    expect(t.settled).toEqual([0, 1, 2, 3, 4, MAX_PENDING + 5]);
    expect([t.committed(), t.rec.unsettledCount, t.rec.unacknowledged]).toEqual([MAX_PENDING, 0, 0]);
  });

  it('batch: past MAX_PENDING on a disk that takes readings (commits not keeping up with the rate), the batch is committed early, nothing dropped', () => {
    const t = setup('batch');
    // As above, the clock standing still, but nothing fails: the reading past the bound commits the batch first.
    for (let s = 0; s < 5; s++) t.emit(s);
    for (let s = 5; s < MAX_PENDING + 5; s++) t.emit(s, false);
    t.emit(MAX_PENDING + 5);
    // Before: the oldest QoS 0 reading dropped, and counted as lost to a failing disk.
    expect(t.log.stats()).toMatchObject({ pending: 6, dropped: {} });
    expect([t.committed(), t.settled, t.rec.unsettledCount]).toEqual([MAX_PENDING, [0, 1, 2, 3, 4], 1]);
    t.clock.advance(200);
    expect([t.committed(), t.settled.at(-1), t.rec.unsettledCount, t.rec.unacknowledged]).toEqual([MAX_PENDING + 6, MAX_PENDING + 5, 0, 0]);
  });

  it('held readings the log had to drop are never settled; their source is told once, at the next commit', () => {
    const t = setup('batch');
    const unlock = lock(t.file);
    // The disk fails (locked) while held readings fill the whole scan window, then unheld ones
    // push the batch past MAX_PENDING: the log drops the oldest held readings.
    const held = HELD_SCAN_MAX + 6;
    for (let s = 0; s < held; s++) t.emit(s);
    for (let s = held; s < held + MAX_PENDING; s++) t.emit(s, false);
    expect([t.rec.unacknowledged, t.lostCalls(), t.settled.length]).toEqual([7, 0, 0]);
    // Not while the disk still fails: a redelivered message would only be dropped again.
    t.clock.advance(200);
    expect(t.lostCalls()).toBe(0);
    unlock();
    t.clock.advance(200);
    // One call for the seven (the bridge reconnects once); every held reading kept is settled, in order.
    expect([t.lostCalls(), t.settled.length, t.settled[0], t.rec.unsettledCount]).toEqual([1, held - 7, 7, 0]);
    t.clock.advance(200);
    expect(t.lostCalls()).toBe(1);
  });
});
