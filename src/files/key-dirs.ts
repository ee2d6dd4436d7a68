// The directories above a secret key file, checked as OpenSSH's StrictModes checks the path to a
// user's authorized_keys (auth.c, safe_path): whoever may write one of them can rename the key file,
// or a directory on its path, out of the way and put their own in its place, and we would load their
// key as ours and sign with it. The key file's own mode and owner (keyfile.ts) cannot see that.
//
// Every directory from the key file's up to / is checked, of the path as given and of its real path
// (so a symlink on the way is judged by both the directory it sits in and the one it leads to): it
// must be owned by root or this user, and not writable by group or others unless it has the sticky
// bit, which lets others add names there but not rename or remove ours (/tmp, /dev/shm). Up to /,
// not only the containing directory: a writable grandparent swaps the whole parent just as well.
// OpenSSH stops at the home directory because authorized_keys lives under it; a key here may live
// anywhere (/var/lib/uzp-gateway, /etc, a temporary directory), so there is no such stopping point.

import { realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileErrorCode } from './errors.js';
import { fileError } from './fsutil.js';
import { LocalError } from '../lib/errors.js';

const STICKY = 0o1000;

/** `path`'s directory, then each one above it, ending with the root. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let d = dirname(path); ; d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) return out;
  }
}

/** Why `st` (the directory `dir`) lets someone else replace a key under it, with the fix; undefined when it does not. */
function unsafe(dir: string, st: Stats, me: number): string | undefined {
  if (st.uid !== me && st.uid !== 0) {
    return `${dir}, which uid ${st.uid} owns (not this user, uid ${me}, nor root), so that user could replace the key; keep the key in a directory you own (or: chown ${me} ${dir})`;
  }
  const writers = [st.mode & 0o020 ? 'group' : '', st.mode & 0o002 ? 'others' : ''].filter((w) => w !== '');
  if (writers.length > 0 && (st.mode & STICKY) === 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    return `${dir}, which ${writers.join(' and ')} may write (mode ${mode}, no sticky bit), so another user could replace the key; fix with: chmod go-w ${dir}`;
  }
  return undefined;
}

/**
 * Refuses (KEY_FILE_PERMISSIONS, naming the directory and the fix) a key file under a directory
 * another user could replace it through. `me` is this process's effective uid (POSIX only: on
 * Windows there is nothing to check).
 */
export function checkKeyDirs(file: string, me: number | undefined = process.geteuid?.()): void {
  if (process.platform === 'win32' || me === undefined) return;
  const given = resolve(file);
  let real: string;
  try {
    real = realpathSync(given);
  } catch (e) {
    throw fileError(e, file, 'resolve the key file path');
  }
  checkDirs(file, given, real, me);
}

/**
 * The same check for a key file about to be written (keygen, pantheon init, first boot): refused
 * before it is written, not at every later load. The file does not exist yet, and the atomic write
 * renames over the name itself (a symlink there is replaced, not followed), so the real path is
 * that of its directory.
 */
export function checkKeyDirsForWrite(file: string, me: number | undefined = process.geteuid?.()): void {
  if (process.platform === 'win32' || me === undefined) return;
  const given = resolve(file);
  let realDir: string;
  try {
    realDir = realpathSync(dirname(given));
  } catch (e) {
    // A directory that does not exist: the write says so, with what to do (writeFileAtomic).
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fileError(e, dirname(given), 'resolve the key file directory');
  }
  checkDirs(file, given, join(realDir, basename(given)), me);
}

function checkDirs(file: string, given: string, real: string, me: number): void {
  const seen = new Set<string>();
  for (const dir of [...ancestors(given), ...ancestors(real)]) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    let st: Stats;
    try {
      st = statSync(dir);
    } catch (e) {
      throw fileError(e, dir, 'check a directory above the key file');
    }
    const why = unsafe(dir, st, me);
    if (why !== undefined) throw new LocalError(FileErrorCode.KEY_FILE_PERMISSIONS, `${file}: secret key file under ${why}`);
  }
}
