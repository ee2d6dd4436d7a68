// The gateway's boot epoch (issue #10): a counter in the state directory, one higher at every
// start, stamped on every reading next to its per-device sequence number. Sequence numbers restart
// at 0 with the process; (epoch, seq) does not go backwards, so a consumer tells a restart from a
// regression (a replayed or reordered reading). A counter rather than the start time: a Pi's clock
// can step backwards between boots, a file cannot.
// The epoch must also stay above every epoch a stored or sent reading carries, or the new run's
// (slot, epoch, seq) keys collide with old ones: the reading log drops them as already stored, and a
// collector takes them for readings it has, receipts them, and the gateway deletes them unsent. So
// the next epoch is one above both the file and the reading log's record (epoch-record.ts: a lost
// or damaged file), and when the file cannot be written it is at least the clock's seconds: a run
// whose epoch nothing durable holds (a full card: the log cannot commit either, yet its readings
// may reach collectors from memory) is followed by one at a later second, not by the same epoch.

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/fsutil.js';

/** Next to the identity key, in the one directory the service may write. */
export function bootEpochFileOf(identityKey: string): string {
  return join(dirname(identityKey), 'boot-epoch');
}

const MAX_EPOCH = 2 ** 32 - 1;

/**
 * Reads the last epoch (absent: 0), writes and returns the next one: above the file's and `floor`
 * (the reading log's recordedEpoch). When the file cannot be written the epoch is also at least
 * `nowMs` in whole seconds, and `error` says why.
 */
export function nextBootEpoch(file: string, floor = 0, nowMs: number = Date.now()): { readonly epoch: number; readonly error?: string } {
  let last = 0;
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (/^\d{1,10}$/.test(text) && Number(text) <= MAX_EPOCH) last = Number(text);
  } catch {
    // first start, or unreadable: start from 0
  }
  const above = Math.max(last, Number.isSafeInteger(floor) ? Math.min(floor, MAX_EPOCH) : 0);
  const epoch = above >= MAX_EPOCH ? 1 : above + 1;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, `${epoch}\n`, { mode: 0o600, overwrite: true });
    return { epoch };
  } catch (e) {
    // writeFileAtomic wraps the errno in a LocalError; the reason is the errno either way.
    const errno = (e as NodeJS.ErrnoException).code ?? ((e as { cause?: NodeJS.ErrnoException }).cause?.code);
    const seconds = Math.floor(nowMs / 1000);
    const byClock = Number.isSafeInteger(seconds) && seconds > epoch && seconds <= MAX_EPOCH ? seconds : epoch;
    return { epoch: byClock, error: `${file}: ${errno ?? String(e)}` };
  }
}
