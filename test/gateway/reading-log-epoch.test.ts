// The reading log as the second record of the boot epoch (src/gateway/reading-log/epoch-record.ts):
// a start whose epoch file is lost or cannot be written still picks an epoch above every stored
// reading's, so its readings are not dropped as already logged (INSERT OR IGNORE) nor taken by a
// collector for ones it has.

import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nextBootEpoch } from '../../src/gateway/boot-epoch.js';
import { ReadingLog, type LoggedReading } from '../../src/gateway/reading-log/reading-log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-log-epoch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function reading(epoch: number, seq: number): LoggedReading {
  return { slot: 'a', device: 'dev-a', kind: 'line', epoch, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array([seq & 0xff]) };
}

/** One gateway run: epoch from the file and the log, `n` readings from seq 0, committed. */
function run(logFile: string, epochFile: string, n: number, clock: FakeClock, receiptAll = false): number {
  const log = new ReadingLog({ file: logFile, durability: 'full', clock, receipts: receiptAll });
  const { epoch } = nextBootEpoch(epochFile, log.recordedEpoch);
  log.beginEpoch(epoch);
  for (let s = 0; s < n; s++) log.append(reading(epoch, s));
  if (receiptAll) {
    log.setAudience(() => ['c1']);
    log.receipted('c1', log.nextId - 1);
    log.flush();
  }
  log.close();
  return epoch;
}

describe('the reading log remembers the boot epoch', () => {
  it('a lost epoch file: the next run is above the stored readings, and its readings are all logged', () => {
    const logFile = join(dir, 'lost.db');
    const epochFile = join(dir, 'lost-epoch');
    const clock = new FakeClock(0);
    expect([run(logFile, epochFile, 5, clock), run(logFile, epochFile, 5, clock)]).toEqual([1, 2]);
    unlinkSync(epochFile); // a card restored without the state file, or its directory wiped
    // Before: epoch 1 again, and its 5 readings were ignored as already logged.
    expect(run(logFile, epochFile, 5, clock)).toBe(3);
    const log = new ReadingLog({ file: logFile, durability: 'full', clock });
    expect(log.stats().readings).toBe(15);
    expect(log.recordedEpoch).toBe(3);
    log.close();
  });

  it('readings receipted and deleted still leave their epoch recorded', () => {
    const logFile = join(dir, 'receipted.db');
    const epochFile = join(dir, 'receipted-epoch');
    const clock = new FakeClock(0);
    expect(run(logFile, epochFile, 4, clock, true)).toBe(1);
    expect(run(logFile, epochFile, 4, clock, true)).toBe(2);
    const log = new ReadingLog({ file: logFile, durability: 'full', clock });
    expect(log.stats().readings).toBe(0); // every reading receipted and deleted
    expect(log.recordedEpoch).toBe(2);
    log.close();
    unlinkSync(epochFile);
    expect(run(logFile, epochFile, 1, clock)).toBe(3);
  });

  it('a run whose readings were all receipted before their commit (none written) still records its epoch', () => {
    const logFile = join(dir, 'elided.db');
    const epochFile = join(dir, 'elided-epoch');
    const clock = new FakeClock(0);
    const once = (): number => {
      const log = new ReadingLog({ file: logFile, durability: 'batch', batchMs: 200, clock, receipts: true });
      const { epoch } = nextBootEpoch(epochFile, log.recordedEpoch);
      log.beginEpoch(epoch);
      for (let s = 0; s < 10; s++) log.append(reading(epoch, s));
      log.setAudience(() => ['c1']);
      log.receipted('c1', log.nextId - 1); // receipted within batch_ms: never written
      clock.advance(200);
      expect(log.stats()).toMatchObject({ readings: 0, pending: 0 }); // nothing stored, nothing waiting
      log.close();
      return epoch;
    };
    expect([once(), once()]).toEqual([1, 2]);
    unlinkSync(epochFile);
    // Before (a review's repro): 2 again, and a collector took the new run's readings for duplicates.
    expect(once()).toBe(3);
  });

  it('a log written before the counter: the newest row gives the floor', () => {
    const logFile = join(dir, 'legacy.db');
    const clock = new FakeClock(0);
    const log = new ReadingLog({ file: logFile, durability: 'full', clock });
    for (let s = 0; s < 3; s++) log.append(reading(9, s)); // no beginEpoch: nothing in the counter
    log.close();
    const again = new ReadingLog({ file: logFile, durability: 'full', clock });
    expect(again.recordedEpoch).toBe(9);
    again.close();
  });
});
