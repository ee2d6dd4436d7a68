// Installing the bundle without ever leaving a mixed tree: copy into a sibling staging directory
// (same filesystem, so rename is atomic), then swap it in by rename. A crash leaves either the old
// tree, or no tree plus a `.uzp-gateway.old-*` leftover that the next flash removes — never half
// of each. Leftovers of an interrupted flash are cleaned up first.
// A power cut as well: the staged files are on the disk before the renames (ext4 writes a renamed
// file's data back up to ~30 s after the rename is journalled, so the new tree could otherwise come
// back as empty files with the old one gone), and the renames are on the disk before the old tree
// is removed. `--target /` on a Pi, which loses power often, is where this matters.

import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fileError } from '../files/fsutil.js';
import type { PlannedFile } from './bundle-plan.js';

/** Removes `.NAME.staging-*` / `.NAME.old-*` directories an interrupted flash left next to `finalDir`. */
export function removeLeftovers(finalDir: string): string[] {
  const parent = dirname(finalDir);
  const prefix = `.${basename(finalDir)}.`;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    if (n.startsWith(prefix) && /\.(staging|old)-[0-9a-f]+$/.test(n)) {
      try {
        rmSync(join(parent, n), { recursive: true, force: true });
      } catch (e) {
        throw fileError(e, join(parent, n), 'remove what an interrupted flash left');
      }
      removed.push(join(parent, n));
    }
  }
  return removed;
}

/** Creates an empty staging directory next to `finalDir` (and the parent, 0755). */
export function newStagingDir(finalDir: string): string {
  const dir = join(dirname(finalDir), `.${basename(finalDir)}.staging-${randomBytes(6).toString('hex')}`);
  try {
    mkdirSync(dirname(finalDir), { recursive: true, mode: 0o755 });
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    throw fileError(e, dir, 'create the staging directory');
  }
  return dir;
}

/** Copies planned files into `dest`; modes are set explicitly so the umask cannot change what is measured. */
export function copyPlanned(files: readonly PlannedFile[], dest: string): void {
  const made = new Set<string>();
  for (const f of files) {
    const to = join(dest, f.rel);
    const dir = dirname(to);
    try {
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
        made.add(dir);
      }
      if (f.kind === 'symlink') symlinkSync(f.linkTarget ?? '', to);
      else {
        copyFileSync(f.src, to);
        chmodSync(to, f.mode);
      }
    } catch (e) {
      throw fileError(e, to, `copy ${f.src}`);
    }
  }
  // mkdir's mode is filtered by the umask; directories must be 0755 for the service user to read them.
  for (const d of made) for (let x = d; x.startsWith(dest) && x !== dest; x = dirname(x)) chmodSync(x, 0o755);
  chmodSync(dest, 0o755);
}

/** Moves `staging` to `finalDir`, replacing what is there; the previous tree is removed afterwards, once the swap is on the disk. */
export function swapIn(staging: string, finalDir: string): 'installed' | 'replaced' {
  syncTree(staging);
  const old = join(dirname(finalDir), `.${basename(finalDir)}.old-${randomBytes(6).toString('hex')}`);
  let replaced = true;
  try {
    renameSync(finalDir, old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(e, finalDir, 'move the installed bundle aside');
    replaced = false;
  }
  try {
    renameSync(staging, finalDir);
  } catch (e) {
    // Put the previous tree back so a failed swap leaves the device as it was.
    if (replaced) {
      try {
        renameSync(old, finalDir);
      } catch {
        throw fileError(e, finalDir, `move the new bundle into place (the previous one is in ${old})`);
      }
    }
    throw fileError(e, finalDir, 'move the new bundle into place');
  }
  syncDirectory(dirname(finalDir));
  if (replaced) rmSync(old, { recursive: true, force: true });
  return replaced ? 'replaced' : 'installed';
}

/**
 * Everything written under `dir` reaches the disk: syncfs(2) of its filesystem (`sync -f`, one
 * call however many files; coreutils has no other way to reach it from Node), else a full sync.
 */
function syncTree(dir: string): void {
  const r = spawnSync('sync', ['-f', dir], { stdio: 'ignore' });
  if (r.status === 0) return;
  // No `sync` at all (not coreutils' world): the swap stays atomic against a crash, not a power cut.
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return;
  const all = spawnSync('sync', [], { stdio: 'ignore' });
  // The disk refused the data (EIO): the new tree is not safely there, so it is not swapped in.
  if (all.status !== 0) throw fileError(r.error ?? all.error ?? new Error(`sync -f exited ${String(r.status)}, sync ${String(all.status)}`), dir, 'flush the staged bundle to disk');
}

/** The directory's entries (renames in it) reach the disk. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    throw fileError(e, dir, 'flush the directory to disk after the swap');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
