// The gateway's reading log (src/gateway/reading-log/reading-log.ts): SQLite in WAL mode through
// node:sqlite, every reading once by (slot, epoch, seq), read back in order from an (epoch, seq),
// the byte bound dropping the oldest and counting exactly what it dropped, batch commits on the
// injected clock, and what each durability mode promises surviving a SIGKILL of a real process.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_MAX_BYTES, ReadingLog, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readingLogStatus } from '../../src/gateway/status-gather.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);

function reading(slot: string, epoch: number, seq: number, size = 8): LoggedReading {
  return { slot, device: `dev-${slot}`, kind: 'line', epoch, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(size).fill(seq & 0xff) };
}

describe('reading log', () => {
  it('keeps every reading once, in append order, and reads a slot from an (epoch, seq) on', () => {
    const log = new ReadingLog({ file: fresh(), durability: 'full' });
    for (let s = 0; s < 5; s++) log.append(reading('a', 1, s));
    for (let s = 0; s < 3; s++) log.append(reading('b', 1, s));
    log.append(reading('a', 1, 2)); // the same reading again: ignored
    for (let s = 0; s < 2; s++) log.append(reading('a', 2, s)); // the gateway restarted: a new boot epoch
    expect(log.stats().readings).toBe(10);
    expect(log.read('a', { epoch: 1, seq: 3 }).map((r) => [r.epoch, r.seq])).toEqual([[1, 3], [1, 4], [2, 0], [2, 1]]);
    expect(log.read('a', { epoch: 2, seq: 0 }, 1).map((r) => r.seq)).toEqual([0]);
    const [r] = log.read('b', { epoch: 1, seq: 2 });
    expect(r).toEqual(reading('b', 1, 2));
    log.close();
  });

  it("a full disk's own error reaches the caller (SQLite has rolled the transaction back itself), and the readings stay pending", () => {
    const clock = new FakeClock(0);
    const log = new ReadingLog({ file: fresh(), durability: 'batch', batchMs: 200, clock });
    // SQLITE_FULL as a full card gives it: the database may not grow past 40 pages (this connection's limit).
    const db = (log as unknown as { db: { exec(sql: string): void } }).db;
    db.exec('PRAGMA max_page_count = 40');
    const startedAt = Date.now();
    let seq = 0;
    let failure: unknown;
    while (failure === undefined && seq < 100_000) {
      for (let i = 0; i < 100; i++) log.append(reading('a', 1, seq++, 100));
      try {
        log.flush();
      } catch (e) {
        failure = e;
      }
    }
    // Before: "cannot rollback - no transaction is active", from our ROLLBACK after SQLite's own.
    expect(String((failure as Error).message)).toMatch(/database or disk is full/);
    expect(log.stats().pending).toBe(100);
    expect(log.failing).toBe(true);
    expect(log.stats().commitFailing).toMatchObject({ error: 'database or disk is full' });
    // The status file's line (uzpgw status: COMMITS FAILING, exit 1): since the first failure, on the wall clock.
    const st = readingLogStatus('readings.db', log);
    expect(st).toMatchObject({ pending: 100, commit_failing: { error: 'database or disk is full' } });
    expect(Date.parse(st.commit_failing!.since)).toBeGreaterThanOrEqual(startedAt);
    expect(Date.parse(st.commit_failing!.since)).toBeLessThanOrEqual(Date.now());
    expect(() => log.flush()).toThrow(/the last commit failed \(database or disk is full\); 100 readings stay pending, retried in 200 ms/);
    // Room again: close() tries at once, back-off or not, and stores them.
    db.exec('PRAGMA max_page_count = 1000000');
    clock.advance(200); // the timed retry: stored, and no longer failing
    expect([log.stats().pending, log.stats().commitFailing, log.failing]).toEqual([0, undefined, false]);
    expect(readingLogStatus('readings.db', log).commit_failing).toBeUndefined();
    log.close();
    const again = new ReadingLog({ file: join(dir, `log-${n}.db`), durability: 'batch', clock });
    expect(again.stats().readings).toBe(seq);
    again.close();
  });

  it('close() on a disk still full: it throws the disk\'s error, and closes all the same (no retry timer keeps the process)', () => {
    const clock = new FakeClock(0);
    const log = new ReadingLog({ file: fresh(), durability: 'batch', batchMs: 200, clock });
    (log as unknown as { db: { exec(sql: string): void } }).db.exec('PRAGMA max_page_count = 40');
    let seq = 0;
    for (let tries = 0; !log.failing && tries < 1000; tries++) {
      for (let i = 0; i < 100; i++) log.append(reading('a', 1, seq++, 100));
      try {
        log.flush();
      } catch {
        // full: expected at some point
      }
    }
    expect(log.failing).toBe(true);
    // Before: close() threw and left the log open with its retry timer, which kept the gateway's
    // process alive after its stop for as long as the disk stayed full.
    expect(() => log.close()).toThrow(/database or disk is full/);
    expect(clock.pending).toBe(0);
    expect(() => log.append(reading('a', 1, seq, 100))).toThrow(/closed/);
  });

  it('batch mode commits on the injected clock every batchMs; another connection sees nothing before', () => {
    const clock = new FakeClock(0);
    const file = fresh();
    const log = new ReadingLog({ file, durability: 'batch', batchMs: 200, clock });
    for (let s = 0; s < 4; s++) log.append(reading('a', 1, s));
    const other = new ReadingLog({ file, durability: 'full' });
    expect([log.stats().pending, other.stats().readings]).toEqual([4, 0]);
    clock.advance(199);
    expect(new ReadingLog({ file }).stats().readings).toBe(0);
    clock.advance(1);
    expect(log.stats().pending).toBe(0);
    const again = new ReadingLog({ file });
    expect(again.read('a', { epoch: 1, seq: 0 }).map((r) => r.seq)).toEqual([0, 1, 2, 3]);
    for (const l of [log, other, again]) l.close();
  });

  it('the byte bound drops the oldest readings and counts exactly what it dropped, per slot, across reopening', () => {
    const file = fresh();
    // durability off and a flush per reading: a commit per reading (the bound applies at each), no fsync.
    const log = new ReadingLog({ file, durability: 'off', maxBytes: MIN_MAX_BYTES });
    for (let s = 0; s < 600; s++) {
      log.append(reading(s % 3 === 0 ? 'b' : 'a', 1, s, 100));
      log.flush();
    }
    const st = log.stats();
    expect(st.bytes).toBeLessThanOrEqual(MIN_MAX_BYTES);
    const kept = [...log.read('a', { epoch: 1, seq: 0 }), ...log.read('b', { epoch: 1, seq: 0 })].map((r) => r.seq).sort((x, y) => x - y);
    const droppedSeqs = [...Array(600).keys()].filter((s) => !kept.includes(s));
    // The dropped ones are exactly the oldest, and the counts per slot match them one for one.
    expect(droppedSeqs.length).toBeGreaterThan(0);
    expect(droppedSeqs).toEqual([...Array(droppedSeqs.length).keys()]);
    expect(st.dropped).toEqual({ a: droppedSeqs.filter((s) => s % 3 !== 0).length, b: droppedSeqs.filter((s) => s % 3 === 0).length });
    expect(st.readings).toBe(kept.length);
    log.close();
    // Closed, it still tells what it held (the gateway's last status file is written after the close).
    expect(log.stats()).toEqual(st);
    const reopened = new ReadingLog({ file, maxBytes: MIN_MAX_BYTES });
    expect(reopened.stats()).toMatchObject({ readings: kept.length, dropped: st.dropped });
    expect(reopened.stats().bytes).toBeLessThanOrEqual(MIN_MAX_BYTES);
    reopened.close();
  });

  for (const durability of ['full', 'batch'] as const) {
    it(`${durability}: every reading acknowledged as durable survives a SIGKILL of the writing process`, async () => {
      const file = fresh();
      const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/reading-log-writer.mjs', import.meta.url)), file, durability], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      await new Promise<void>((resolve, reject) => {
        const check = setInterval(() => {
          if ((out.match(/durable/g) ?? []).length >= 200) {
            clearInterval(check);
            resolve();
          }
          if (child.exitCode !== null) {
            clearInterval(check);
            reject(new Error(`writer exited: ${err}`));
          }
        }, 5);
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const acked = Math.max(...[...out.matchAll(/durable (\d+)/g)].map((m) => Number(m[1])));
      const log = new ReadingLog({ file });
      const seqs = log.read('tty-1', { epoch: 3, seq: 0 }, 1_000_000).map((r) => r.seq);
      log.close();
      // Everything up to the last acknowledged seq is there, once, in order (more may be too).
      expect(seqs.slice(0, acked + 1)).toEqual([...Array(acked + 1).keys()]);
      expect(new Set(seqs).size).toBe(seqs.length);
    });
  }
});
