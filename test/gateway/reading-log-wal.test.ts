// A WAL left by a crash, damaged (src/gateway/reading-log/wal-check.ts): SQLite's recovery drops
// every frame from the first damaged one, committed transactions after it included, and says
// nothing; the reading log finds it before SQLite opens the file and counts it. The WAL a crash
// leaves is made here by copying a log's database and WAL while its connection is still open after
// its commits (what a SIGKILL leaves: reading-log.test.ts kills a real writer for that).

import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadingLog, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-wal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `log-${++n}.db`);
/** 1 KiB pages (schema.ts): a frame is its 24-byte header and the page, after the WAL's 32-byte header. */
const FRAME_HEADER = 24;
const FRAME = FRAME_HEADER + 1024;
const frameAt = (i: number): number => 32 + (i - 1) * FRAME;

function reading(seq: number): LoggedReading {
  return { slot: 'tty-1', device: 'd', kind: 'line', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(40).fill(seq & 0xff) };
}

const READINGS = 60;
/** A log with READINGS committed one by one (durability full), left open: its WAL stays (a close checkpoints and deletes it). */
const original = fresh();
let writer: ReadingLog;
beforeAll(() => {
  writer = new ReadingLog({ file: original, durability: 'full' });
  for (let s = 0; s < READINGS; s++) writer.append(reading(s));
});
afterAll(() => writer.close());

/** A copy of that log's database and WAL: as a crash leaves them. */
function crashed(): string {
  const copy = fresh();
  for (const x of ['', '-wal']) copyFileSync(original + x, copy + x);
  return copy;
}

describe('reading log: a damaged WAL at open', () => {
  it('intact: every reading, nothing reported', () => {
    expect(statSync(`${original}-wal`).size).toBeGreaterThan(frameAt(READINGS));
    const log = new ReadingLog({ file: crashed() });
    expect([log.walDamage, log.stats().readings, log.stats().walDiscarded]).toEqual([undefined, READINGS, undefined]);
    log.close();
  });

  it('a byte flipped in an early frame: SQLite drops every later commit, and the log reports and counts them', () => {
    const file = crashed();
    const wal = readFileSync(`${file}-wal`);
    const at = frameAt(5) + FRAME_HEADER + 100;
    wal[at] = wal[at]! ^ 0xff;
    writeFileSync(`${file}-wal`, wal);
    const log = new ReadingLog({ file });
    // The loss itself (SQLite's, silent): most readings are gone.
    expect(log.stats().readings).toBeLessThan(READINGS / 2);
    // Before: nothing said so.
    expect(log.walDamage?.frame).toBe(5);
    expect(log.walDamage!.commits).toBeGreaterThanOrEqual(READINGS / 2);
    expect(log.walDamage!.frames).toBeGreaterThanOrEqual(log.walDamage!.commits);
    expect(log.stats().walDiscarded).toBe(log.walDamage!.commits);
    log.close();
    // Counted in the database: a later open (the WAL is gone, checkpointed at the close) still shows it.
    const again = new ReadingLog({ file });
    expect([again.walDamage, again.stats().walDiscarded]).toEqual([undefined, log.walDamage!.commits]);
    again.close();
  });

  it('the last commit alone behind a damaged frame: lost, and not reported (the same bytes as a write torn by the crash)', () => {
    const file = crashed();
    const wal = readFileSync(`${file}-wal`);
    // Commit frames carry the database size after the commit (frame header bytes 4-7); the last transaction starts after the one before the last.
    const commits = [...Array(Math.floor((wal.length - 32) / FRAME)).keys()].map((i) => i + 1).filter((i) => wal.readUInt32BE(frameAt(i) + 4) !== 0);
    const first = commits.at(-2)! + 1;
    // Its first frame: this WAL's salts, a page whose checksum fails, its commit frame after it.
    const at = frameAt(first) + FRAME_HEADER + 100;
    wal[at] = wal[at]! ^ 0xff;
    writeFileSync(`${file}-wal`, wal);
    const log = new ReadingLog({ file });
    expect(log.stats().readings).toBe(READINGS - 1);
    expect([log.walDamage, log.stats().walDiscarded]).toEqual([undefined, undefined]);
    log.close();
  });

  it('a torn last frame or garbage over it (a crash during the last write): not reported', () => {
    const size = statSync(`${original}-wal`).size;
    const torn = crashed();
    truncateSync(`${torn}-wal`, size - 500);
    const garbage = crashed();
    const wal = readFileSync(`${garbage}-wal`);
    wal.fill(0xab, wal.length - 700);
    writeFileSync(`${garbage}-wal`, wal);
    for (const file of [torn, garbage]) {
      const log = new ReadingLog({ file });
      expect([log.walDamage, log.stats().walDiscarded]).toEqual([undefined, undefined]);
      expect(log.stats().readings).toBeGreaterThanOrEqual(READINGS - 1);
      log.close();
    }
  });
});
