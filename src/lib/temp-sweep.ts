// The sweep: removes the temporary directories runners left behind when they died together with
// their reapers (owner-marker.ts says how that happens). It runs once at the start of every
// runner, at its first use of the reaper (reaper.ts), and removes a directory only when all hold:
//   - its name starts with TEMP_PREFIX (temp-dir.ts makes every one of ours so);
//   - it is a directory itself, not a symlink to one, and owned by this user;
//   - its owner marker is well formed, this user's, and not a symlink;
//   - the owner the marker names is provably dead (ownerState).
// Anything else is kept: an older directory without a marker, a marker from another boot or pid
// namespace, a directory whose owner runs. The removal does not follow symlinks inside the
// directory (fs.rm unlinks them). The work is bounded: at most maxEntries names of TMPDIR are read
// (in batches, never the whole listing at once) and at most maxInspected candidates looked at.

import { lstatSync, opendirSync, rmSync, type Dir } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ownerState, readOwnerMarker, thisProcess, type Owner } from './owner-marker.js';

/** Every temporary directory this project makes in TMPDIR starts so (temp-dir.ts). */
export const TEMP_PREFIX = 'uzpgw-';

export interface SweepLimits {
  /** Names of TMPDIR read at most (a TMPDIR of millions of files costs a bounded pause). */
  readonly maxEntries: number;
  /** Candidates (TEMP_PREFIX names) looked at most: an lstat and a marker read each. */
  readonly maxInspected: number;
}

export const SWEEP_LIMITS: SweepLimits = { maxEntries: 20_000, maxInspected: 256 };

export interface SweepResult {
  /** The directories removed, absolute. */
  readonly removed: readonly string[];
  /** Candidates looked at and kept. */
  readonly kept: number;
}

/**
 * Removes the directories under `root` (default TMPDIR) whose owner is provably dead. Never
 * throws: a sweep that cannot run (no /proc, TMPDIR unreadable) removes nothing.
 */
export function sweepTempDirs(root = tmpdir(), limits: SweepLimits = SWEEP_LIMITS): SweepResult {
  const self = thisProcess();
  const uid = process.getuid?.();
  if (self === undefined || uid === undefined) return { removed: [], kept: 0 };
  const dead: string[] = [];
  let kept = 0;
  let dir: Dir;
  try {
    dir = opendirSync(root);
  } catch {
    return { removed: [], kept: 0 };
  }
  try {
    let inspected = 0;
    for (let read = 0; read < limits.maxEntries && inspected < limits.maxInspected; read++) {
      const e = dir.readSync();
      if (e === null) break;
      if (!e.name.startsWith(TEMP_PREFIX)) continue;
      inspected++;
      const path = join(root, e.name);
      if (ownerIsDead(path, uid, self)) dead.push(path);
      else kept++;
    }
  } catch {
    // TMPDIR changed under us: what was found so far is still judged right
  } finally {
    dir.closeSync();
  }
  const removed: string[] = [];
  for (const path of dead) {
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // another sweep, or the owner's own reaper, removing it at once: the next sweep tries again
    }
  }
  return { removed, kept };
}

function ownerIsDead(path: string, uid: number, self: Owner): boolean {
  try {
    const st = lstatSync(path);
    if (!st.isDirectory() || st.uid !== uid) return false;
  } catch {
    return false;
  }
  const owner = readOwnerMarker(path, uid);
  return owner !== undefined && ownerState(owner, self) === 'dead';
}
