// The directories above a secret key file, checked as OpenSSH's StrictModes checks the path to a
// user's authorized_keys (auth.c, safe_path): whoever may write one of them can rename the key file,
// or a directory on its path, out of the way and put their own in its place, and we would load their
// key as ours and sign with it. The key file's own mode and owner (keyfile.ts) cannot see that.
//
// Every directory a name is looked up in while the path is resolved is checked: from / down, and for
// each symbolic link on the way (a chain of them too) the directory holding it and those of its
// target. Each must be owned by root or this user, and not writable by others, nor by its group
// unless that group's one member is its owner (user private groups: OpenSSH's secure_permissions),
// unless it has the sticky bit, which lets others add names there but not rename or remove ours
// (/tmp, /dev/shm). Up to /, not only the containing directory: a writable grandparent swaps the
// whole parent just as well.
// OpenSSH stops at the home directory because authorized_keys lives under it; a key here may live
// anywhere (/var/lib/uzp-gateway, /etc, a temporary directory), so there is no such stopping point.

import { lstatSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { isAbsolute } from 'node:path';
import { FileErrorCode } from './errors.js';
import { fileError } from './fsutil.js';
import { LocalError } from '../lib/errors.js';

const STICKY = 0o1000;
/** Symbolic links followed at most on one path, as the kernel's ELOOP bound (40 on Linux). */
const MAX_LINKS = 40;

/** Where user and group names come from (a test gives its own files). */
export interface Accounts {
  readonly passwd: string;
  readonly group: string;
}
const SYSTEM_ACCOUNTS: Accounts = { passwd: '/etc/passwd', group: '/etc/group' };

/**
 * Every directory a name is looked up in while `path` is resolved, component by component as the
 * kernel does: the directories on the way, and for each symbolic link met, the directory that
 * holds it and then those of its target (whoever may write any of them can point the path
 * elsewhere). `last` false: the final name is looked up but not followed (a file about to be
 * written by rename, which replaces a link there). A name that does not exist ends the walk (the
 * read or the write that follows reports it).
 */
function lookedUpIn(path: string, last: boolean): string[] {
  const dirs: string[] = [];
  // Not normalised: `link/..` is the parent of the link's target, as the kernel reads it.
  let pending = (isAbsolute(path) ? path : `${process.cwd()}/${path}`).split('/').filter((c) => c !== '' && c !== '.');
  let cur = '/';
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '..') {
      cur = cur === '/' ? '/' : cur.slice(0, cur.lastIndexOf('/')) || '/';
      continue;
    }
    if (!dirs.includes(cur)) dirs.push(cur);
    if (pending.length === 0 && !last) break;
    const next = cur === '/' ? `/${name}` : `${cur}/${name}`;
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
      throw fileError(e, next, 'check the path to the key file');
    }
    if (!st.isSymbolicLink()) {
      cur = next;
      continue;
    }
    if (++links > MAX_LINKS) throw new LocalError(FileErrorCode.FILE_INVALID, `${path}: more than ${MAX_LINKS} symbolic links on the way to the key file`);
    const target = readlinkSync(next);
    if (target.startsWith('/')) cur = '/';
    pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
  }
  return dirs;
}

/** The entries of a passwd- or group-format file: name, id, and the fields after. */
function entries(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/**
 * A group-writable directory is safe when its group has exactly one member, the directory's
 * owner, as OpenSSH's secure_permissions() judges it (misc.c): the user private groups of
 * Fedora, RHEL and others, whose umask 002 makes every new directory group-writable. Members are
 * the users whose primary group it is and those the group lists; a group that cannot be found (not
 * in the files: LDAP, NSS) or has no member is not taken as safe.
 */
function soleMemberIsOwner(st: Stats, accounts: Accounts): boolean {
  const group = entries(accounts.group).find((g) => Number(g[2]) === st.gid);
  if (group === undefined) return false;
  const users = entries(accounts.passwd);
  const owner = users.find((u) => Number(u[2]) === st.uid)?.[0];
  if (owner === undefined) return false;
  const primary = users.filter((u) => Number(u[3]) === st.gid).map((u) => u[0]);
  const listed = (group[3] ?? '').split(',').filter((m) => m !== '');
  const members = new Set([...primary, ...listed]);
  return members.size === 1 && members.has(owner);
}

/** Why `st` (the directory `dir`) lets someone else replace a key under it, with the fix; undefined when it does not. */
function unsafe(dir: string, st: Stats, me: number, accounts: Accounts): string | undefined {
  if (st.uid !== me && st.uid !== 0) {
    return `${dir}, which uid ${st.uid} owns (not this user, uid ${me}, nor root), so that user could replace the key; keep the key in a directory you own (or: chown ${me} ${dir})`;
  }
  if ((st.mode & STICKY) !== 0) return undefined;
  const group = (st.mode & 0o020) !== 0 && !soleMemberIsOwner(st, accounts);
  const writers = [group ? 'group' : '', st.mode & 0o002 ? 'others' : ''].filter((w) => w !== '');
  if (writers.length > 0) {
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
export function checkKeyDirs(file: string, me: number | undefined = process.geteuid?.(), accounts: Accounts = SYSTEM_ACCOUNTS): void {
  if (process.platform === 'win32' || me === undefined) return;
  checkDirs(file, lookedUpIn(file, true), me, accounts);
}

/**
 * The same check for a key file about to be written (keygen, pantheon init, first boot): refused
 * before it is written, not at every later load. The atomic write renames over the final name (a
 * symbolic link there is replaced, not followed), so that name is looked up but not followed. A
 * directory that does not exist is left to the write, which says so with what to do.
 */
export function checkKeyDirsForWrite(file: string, me: number | undefined = process.geteuid?.(), accounts: Accounts = SYSTEM_ACCOUNTS): void {
  if (process.platform === 'win32' || me === undefined) return;
  checkDirs(file, lookedUpIn(file, false), me, accounts);
}

function checkDirs(file: string, dirs: readonly string[], me: number, accounts: Accounts): void {
  for (const dir of dirs) {
    let st: Stats;
    try {
      st = statSync(dir);
    } catch (e) {
      throw fileError(e, dir, 'check a directory above the key file');
    }
    const why = unsafe(dir, st, me, accounts);
    if (why !== undefined) throw new LocalError(FileErrorCode.KEY_FILE_PERMISSIONS, `${file}: secret key file under ${why}`);
  }
}
