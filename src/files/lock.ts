// A lock file around a read-modify-write of a state file (Pantheon's counters, the gateway's
// discovery revocations). Two commands that read the same state and each wrote it back lost one
// of the updates: two `pantheon revoke` runs issued lists with the same sequence and different
// contents, two `publish revoke` runs dropped a withdrawn consent. The lock is FILE.lock, made with
// O_EXCL (atomic on local filesystems and NFSv3+), holding the holder's pid so a lock left by a
// killed process is recognised and taken over rather than blocking every later command.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { LocalError } from '../lib/errors.js';
import { FileErrorCode } from './errors.js';
import { fileError } from './fsutil.js';

/** How long a command waits for another one's lock before it gives up (they hold it for milliseconds). */
export const LOCK_WAIT_MS = 10_000;
const RETRY_MS = 20;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is another user's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a lock file names, or undefined when it names none (being written, or damaged). */
function holderOf(lock: string): number | undefined {
  try {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryTake(lock: string): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fileError(e, lock, 'create the lock file');
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock only if it still names the holder it was judged by: another waiter may have
 * taken it over and made a fresh one since (what is left is the microseconds between the two calls).
 */
function removeIfStill(lock: string, pid: number | undefined): void {
  if (holderOf(lock) === pid) rmSync(lock, { force: true });
}

/**
 * Runs `fn` holding `file`.lock; waits up to `waitMs` for another holder. A lock whose pid is not
 * running is taken over (a lock without a pid only after it has stayed so for the whole wait).
 */
export function withFileLock<T>(file: string, fn: () => T, waitMs = LOCK_WAIT_MS): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (tryTake(lock)) break;
    const pid = holderOf(lock);
    if (pid !== undefined && !pidAlive(pid)) {
      removeIfStill(lock, pid);
      continue;
    }
    if (Date.now() >= deadline) {
      if (pid === undefined) {
        removeIfStill(lock, pid);
        continue;
      }
      throw new LocalError(FileErrorCode.FILE_IO, `${lock}: held by process ${pid} for over ${waitMs / 1000} s; wait for that command to finish, or remove the file if no such process is running`);
    }
    Atomics.wait(sleeper, 0, 0, RETRY_MS);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
