// The reading log's two byte bounds (src/gateway/reading-log/log-size.ts, pending.ts; docs/CONFIG.md
// "The bound"): `maxBytes` holds for the files on disk, whatever the readings carry besides their
// values (slot, device, kind, source JSON, index entries, pages left part empty), and readings
// waiting for a commit on a full disk are held in memory to a byte bound, not only a count, the
// oldest dropped and counted, those held committed once the disk takes them again. A full disk is
// made as the other reading-log tests make it: PRAGMA max_page_count on the log's own connection.

import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_PENDING_BYTES, ReadingLog, type LoggedReading, type ReadingLogStats } from '../../src/gateway/reading-log/reading-log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);
const dbOf = (log: ReadingLog): { exec(sql: string): void } => (log as unknown as { db: { exec(sql: string): void } }).db;
const onDisk = (file: string): number => [file, `${file}-wal`].reduce((s, f) => s + (existsSync(f) ? statSync(f).size : 0), 0);

/** An ordinary MQTT topic of 63 characters (the review's measurement). */
const TOPIC = 'plant/boiler-house/line-3/sensors/temperature/probe-0042/value';
const KINDS = {
  modbus: (slot: number, seq: number): LoggedReading => ({ slot: `rs485-${slot}`, device: 'boiler-1', kind: 'modbus', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: Uint8Array.of(0x82, 0x19, 0x01, 0x2c, 0x19, 0x02, 0x58), source: JSON.stringify({ kind: 'modbus', unit: 2, table: 'holding', addr: 40, count: 2 }) }),
  mqtt: (slot: number, seq: number): LoggedReading => ({ slot: `mqtt-${slot}`, device: 'broker-plant-floor', kind: 'mqtt', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: Uint8Array.of(0xfb, 0x40, 0x37, 0, 0, 0, 0, 0, 0), source: JSON.stringify({ kind: 'mqtt', topic: TOPIC }) }),
  // ~500-byte payloads: one cell per 1 KiB B-tree leaf, the worst fill measured (log-size.ts).
  'mqtt 500-byte payloads': (slot: number, seq: number): LoggedReading => ({ ...KINDS.mqtt(slot, seq), value: new Uint8Array(500).fill(seq & 0xff) }),
};

describe('reading log: the byte bound holds on disk', () => {
  for (const [kind, make] of Object.entries(KINDS)) {
    it(`${kind}: the database and its WAL stay within 1.25x of maxBytes while the bound drops the oldest, counted`, () => {
      const file = fresh();
      const maxBytes = 2 * MIB;
      const log = new ReadingLog({ file, durability: 'batch', batchMs: 200, clock: new FakeClock(0), maxBytes });
      // Four slots interleaved (index entries of each slot's range grow in the middle of the index),
      // 100 readings per commit (a 200 ms batch at 500 readings/s), until the bound has dropped
      // four times what the log keeps.
      const droppedOf = (st: ReadingLogStats): number => Object.values(st.dropped).reduce((a, b) => a + b, 0);
      let seq = 0;
      let peak = 0;
      do {
        for (let i = 0; i < 100; i++, seq++) log.append(make(seq % 4, seq));
        log.flush();
        peak = Math.max(peak, onDisk(file));
        expect(log.stats().bytes).toBeLessThanOrEqual(maxBytes);
      } while (seq < 200_000 && droppedOf(log.stats()) < 4 * log.stats().readings);
      const st = log.stats();
      const dropped = droppedOf(st);
      expect(st.readings).toBeGreaterThan(0);
      expect(dropped).toBeGreaterThanOrEqual(4 * st.readings);
      expect(dropped + st.readings).toBe(seq);
      // 1.25x: the database file holds at most maxBytes of pages in use after each commit, plus what
      // a commit adds before its drops (100 readings: 1-5% of 2 MiB here); the WAL is checkpointed
      // at maxBytes/16 (6.25%) and holds one transaction past that (the same 1-5% and the pages
      // its drops change). Before: 2.5-3.4x.
      expect(peak / maxBytes).toBeLessThanOrEqual(1.25);
      log.close();
    });
  }
});

describe('reading log: pending readings on a full disk are bounded by bytes', () => {
  const mqtt = (seq: number, size: number): LoggedReading => ({ slot: 'mqtt-1', device: 'broker', kind: 'mqtt', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(size).fill(seq & 0xff) });

  /** A log whose disk is full: its first commit failed, and no retry runs while the clock stands. */
  function fullLog(file: string, clock: FakeClock, maxBytes?: number): ReadingLog {
    const log = new ReadingLog({ file, durability: 'batch', batchMs: 200, clock, ...(maxBytes !== undefined ? { maxBytes } : {}) });
    dbOf(log).exec('PRAGMA max_page_count = 40');
    log.append(mqtt(0, 64 * 1024));
    expect(() => log.flush()).toThrow(/database or disk is full/);
    return log;
  }

  it('64 KiB payloads: held to half the log bound, the oldest dropped and counted; those held are committed once the disk takes them', () => {
    const clock = new FakeClock(0);
    const file = fresh();
    const maxBytes = 4 * MIB;
    const log = fullLog(file, clock, maxBytes);
    let peak = 0;
    const total = 200;
    for (let seq = 1; seq < total; seq++) {
      log.append(mqtt(seq, 64 * 1024));
      peak = Math.max(peak, log.stats().pendingBytes);
    }
    const st = log.stats();
    // What a reader of the log sees held (pending readings are read with the stored ones): before,
    // all 200 readings (12.5 MiB) whatever their size, none dropped.
    const held = log.read('mqtt-1', { epoch: 1, seq: 0 }, total);
    expect(held.reduce((s, r) => s + r.value.length, 0)).toBeLessThanOrEqual(maxBytes / 2);
    expect(held.map((r) => r.seq)).toEqual(Array.from({ length: st.pending }, (_, i) => total - st.pending + i));
    expect(st.dropped).toEqual({ 'mqtt-1': total - st.pending });
    // The log's own count of them, at every append: within the bound, and full to one reading below it.
    expect(peak).toBeLessThanOrEqual(maxBytes / 2);
    expect(st.pendingBytes).toBeGreaterThan(maxBytes / 2 - 65 * 1024);
    // The disk takes readings again: the timed retry commits every one held, and the log's own bound drops none.
    dbOf(log).exec('PRAGMA max_page_count = 1000000');
    clock.advance(200);
    expect(log.stats()).toMatchObject({ pending: 0, pendingBytes: 0, readings: st.pending, dropped: st.dropped });
    expect(log.read('mqtt-1', { epoch: 1, seq: 0 }, total).map((r) => r.seq)).toEqual(Array.from({ length: st.pending }, (_, i) => total - st.pending + i));
    log.close();
  });

  it(`with the default bound: held to MAX_PENDING_BYTES (${MAX_PENDING_BYTES / MIB} MiB)`, () => {
    const clock = new FakeClock(0);
    const log = fullLog(fresh(), clock);
    let peak = 0;
    const total = Math.ceil((1.25 * MAX_PENDING_BYTES) / (64 * 1024));
    for (let seq = 1; seq < total; seq++) {
      log.append(mqtt(seq, 64 * 1024));
      peak = Math.max(peak, log.stats().pendingBytes);
    }
    expect(peak).toBeLessThanOrEqual(MAX_PENDING_BYTES);
    expect(log.read('mqtt-1', { epoch: 1, seq: 0 }, total).reduce((s, r) => s + r.value.length, 0)).toBeLessThanOrEqual(MAX_PENDING_BYTES);
    expect(log.stats().dropped['mqtt-1']).toBe(total - log.stats().pending);
    expect(log.stats().dropped['mqtt-1']).toBeGreaterThan(0);
    // Still full: the last try at the close fails, and the log closes all the same.
    expect(() => log.close()).toThrow(/database or disk is full/);
  });

  it('readings whose commit is waited for (an MQTT acknowledgement) are dropped last by the byte bound too', () => {
    const clock = new FakeClock(0);
    const log = fullLog(fresh(), clock, 4 * MIB);
    const lost: number[] = [];
    log.onDropped((id) => lost.push(id));
    for (let seq = 1; seq <= 5; seq++) log.append(mqtt(seq, 64 * 1024), true);
    for (let seq = 6; seq < 200; seq++) log.append(mqtt(seq, 64 * 1024));
    const seqs = log.read('mqtt-1', { epoch: 1, seq: 0 }, 200).map((r) => r.seq);
    expect(seqs.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(seqs.length).toBe(log.stats().pending);
    expect(log.stats().pendingBytes).toBeLessThanOrEqual(2 * MIB);
    expect(lost).toEqual([]);
    expect(() => log.close()).toThrow(/database or disk is full/);
  });
});
