// Who made a temporary directory, written into it as it is made (temp-dir.ts) and read back by the
// sweep (temp-sweep.ts), which removes the directory only when that owner is provably dead. A
// runner's reaper removes its directories when the runner dies; a kill that takes the reaper too
// (a whole cgroup: systemctl stop, a CI job's teardown, the OOM killer's group kill) leaves them,
// and they can hold a throwaway domain's root key.
//
// The owner is named as the reaper names a process (reaper-main.ts): pid and /proc start time,
// since pids are reused. Both mean something only in one boot and one pid namespace, so those are
// recorded too; a marker from another boot or namespace (a reboot, another host sharing TMPDIR over
// NFS, a container sharing /tmp) says nothing about any process here, and its directory is kept.

import { closeSync, constants, fstatSync, openSync, readFileSync, readlinkSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { procStat, stillOurs } from './reaper-main.js';

/** The marker's name inside the directory it marks. */
export const OWNER_FILE = '.uzpgw-owner';
/** A marker is one short JSON line; anything longer is not one of ours. */
const MAX_MARKER = 512;

export interface Owner {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22). */
  readonly start: string;
  /** /proc/sys/kernel/random/boot_id: a new one at every boot. */
  readonly boot: string;
  /** The pid namespace, as /proc/self/ns/pid reads (`pid:[4026531836]`). */
  readonly pidns: string;
}

const BOOT = /^[0-9a-f-]{36}$/;
const PIDNS = /^pid:\[\d+\]$/;

/** This process as an owner; undefined without /proc (then nothing is marked, and nothing swept). */
export function thisProcess(): Owner | undefined {
  try {
    const s = procStat(process.pid);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidns = readlinkSync('/proc/self/ns/pid');
    if (s === undefined || !BOOT.test(boot) || !PIDNS.test(pidns)) return undefined;
    return { pid: process.pid, start: s.start, boot, pidns };
  } catch {
    return undefined;
  }
}

/** Marks `dir` as this process's. A directory left unmarked is never swept: nothing fails for it. */
export function writeOwnerMarker(dir: string, owner = thisProcess()): void {
  if (owner === undefined) return;
  try {
    writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner) + '\n', { flag: 'wx', mode: 0o600 });
  } catch {
    // no space, or the directory went: it stays unmarked (kept by every sweep)
  }
}

/**
 * The owner `dir`'s marker names, or undefined when there is none that this user wrote as this
 * module does: the marker must be a regular file (a symlink is not followed; a FIFO does not block
 * the read), owned by `uid`, short, and hold exactly the four fields.
 */
export function readOwnerMarker(dir: string, uid: number): Owner | undefined {
  let fd: number;
  try {
    fd = openSync(join(dir, OWNER_FILE), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== uid || st.size > MAX_MARKER) return undefined;
    const buf = Buffer.alloc(MAX_MARKER + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_MARKER) return undefined;
    return parseOwner(buf.subarray(0, n).toString('utf8'));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function parseOwner(text: string): Owner | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length !== 4) return undefined;
  const { pid, start, boot, pidns } = o;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 1) return undefined;
  if (typeof start !== 'string' || !/^\d{1,20}$/.test(start)) return undefined;
  if (typeof boot !== 'string' || !BOOT.test(boot) || typeof pidns !== 'string' || !PIDNS.test(pidns)) return undefined;
  return { pid, start, boot, pidns };
}

/**
 * 'dead' only when provable: same boot and pid namespace as `self`, and the pid is gone, exited
 * (a zombie), or taken by a process with another start time (reused). 'unknown' for another boot
 * or namespace: a process there cannot be looked up from here.
 */
export function ownerState(owner: Owner, self: Owner): 'alive' | 'dead' | 'unknown' {
  if (owner.boot !== self.boot || owner.pidns !== self.pidns) return 'unknown';
  return stillOurs(owner.pid, owner.start) ? 'alive' : 'dead';
}
