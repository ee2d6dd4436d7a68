// The gateway's boot epoch (issue #10): a counter in the state directory, one higher at every
// start, stamped on every reading next to its per-device sequence number. Sequence numbers restart
// at 0 with the process; (epoch, seq) does not go backwards, so a consumer tells a restart from a
// regression (a replayed or reordered reading). A counter rather than the start time: a Pi's clock
// can step backwards between boots, a file cannot.

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/fsutil.js';

/** Next to the identity key, in the one directory the service may write. */
export function bootEpochFileOf(identityKey: string): string {
  return join(dirname(identityKey), 'boot-epoch');
}

const MAX_EPOCH = 2 ** 32 - 1;

/**
 * Reads the last epoch (absent: 0), writes and returns the next one. When the file cannot be
 * written the epoch is 0 and `error` says why: readings still flow, but restarts cannot be told apart.
 */
export function nextBootEpoch(file: string): { readonly epoch: number; readonly error?: string } {
  let last = 0;
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (/^\d{1,10}$/.test(text) && Number(text) <= MAX_EPOCH) last = Number(text);
  } catch {
    // first start, or unreadable: start from 0
  }
  const epoch = last >= MAX_EPOCH ? 1 : last + 1;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileAtomic(file, `${epoch}\n`, { mode: 0o600, overwrite: true });
    return { epoch };
  } catch (e) {
    // writeFileAtomic wraps the errno in a LocalError; the reason is the errno either way.
    const errno = (e as NodeJS.ErrnoException).code ?? ((e as { cause?: NodeJS.ErrnoException }).cause?.code);
    return { epoch: 0, error: `${file}: ${errno ?? String(e)}` };
  }
}
