// The filesystem primitives of the identity/artefact area: atomic writes with explicit modes,
// capped reads, and fs errors turned into LocalErrors that name the file and the fix.

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileErrorCode } from './errors.js';
import { type CodedError, isCodedError, LocalError } from '../lib/errors.js';

/** Maps a Node fs error to a LocalError naming the file; other values pass through unchanged. */
export function fileError(e: unknown, file: string, action: string): CodedError | unknown {
  if (isCodedError(e)) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new LocalError(FileErrorCode.FILE_NOT_FOUND, `${file}: no such file (while trying to ${action})`, { cause: e });
  if (code === 'EEXIST') return new LocalError(FileErrorCode.FILE_EXISTS, `${file}: already exists; refusing to overwrite it (move it away first)`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new LocalError(FileErrorCode.FILE_IO, `${file}: permission denied (while trying to ${action})`, { cause: e });
  if (code === 'ENAMETOOLONG') {
    return new LocalError(FileErrorCode.FILE_IO, `${file}: name too long for the filesystem (a name is at most 255 bytes on most, a whole path 4096); give a shorter one (while trying to ${action})`, { cause: e });
  }
  if (typeof code === 'string') return new LocalError(FileErrorCode.FILE_IO, `${file}: cannot ${action}: ${code}`, { cause: e });
  return e;
}

interface WriteOptions {
  /** File mode, applied at creation and again with chmod (the umask cannot loosen or tighten it). */
  readonly mode: number;
  /**
   * When false (default) anything at the path (a dangling symlink too) is refused with FILE_EXISTS;
   * when true a regular file there is replaced atomically, through a symlink as a shell's `>` writes
   * (replaceTarget); 'any': whatever is at the path is replaced (an installer laying out a root
   * filesystem it owns: flash), a symlink as the link, never where it leads.
   */
  readonly overwrite?: boolean | 'any';
}

/**
 * Writes via a temporary file in the target's directory, fsyncs it, then either renames it over the
 * target (overwrite) or hard-links it into place, which fails atomically if the target exists.
 * A reader therefore sees the old file or the complete new one, never a partial write.
 * A write that replaces goes where a symlink at the path leads (the link stays a link) and only
 * ever replaces a regular file: a rename puts a new regular file in the place of whatever the name
 * was (a FIFO, a device node: `--out /dev/null` as root replaced the machine's /dev/null), so
 * anything else is refused before a byte is written (replaceTarget), unless the caller owns the
 * path (overwrite 'any').
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, opts: WriteOptions): void {
  const target = opts.overwrite === true ? replaceTarget(file) : file;
  const dir = dirname(target);
  const tmp = join(dir, tempName(basename(target)));
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', opts.mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    chmodSync(tmp, opts.mode);
    if (opts.overwrite === true || opts.overwrite === 'any') renameSync(tmp, target);
    else {
      linkSync(tmp, target);
      unlinkSync(tmp);
    }
    syncDir(dir);
  } catch (e) {
    cleanUpAfter(fd, tmp);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && absent(dir)) {
      throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${file}: its directory ${dir} does not exist; create it first (mkdir -p), or give another path`, { cause: e });
    }
    throw fileError(e, file, 'write it');
  }
  sweepStaleTemps(dir, basename(target), Date.now());
}

/** Removes this write's own temporary file after a failure (never throwing over the failure). */
function cleanUpAfter(fd: number | undefined, tmp: string): void {
  // The cleanup must never stand in for the error that made it necessary (an rmSync of a name
  // too long threw its own ENAMETOOLONG, shown as an unexpected error with a stack).
  try {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
  } catch {
    // nothing more to do: the temporary file is hidden and says which file it was for
  }
}

/**
 * A temporary file older than this is an orphan: its writer died between create and rename (a
 * crash, a power cut, SIGKILL). A write takes milliseconds, seconds on a slow SD card's fsync.
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * After a write, removes orphaned temporary files of the same target name (`.NAME~RANDOM.tmp`, ours,
 * NAME at most 28 bytes,
 * regular, older than STALE_TEMP_MS) from its directory. A key file's orphan holds a copy of the
 * secret key, which would outlive a rotation of the key; a state file's orphans pile up one per
 * crash. Best effort: a directory that cannot be read or a file that cannot be removed (another
 * user's, in a sticky directory) is left as it is; the write itself has already succeeded.
 */
function sweepStaleTemps(dir: string, name: string, now: number): void {
  // A longer name is cut to whole characters, to 29-32 bytes (a UTF-8 character is at most 4), and
  // shares its temporary name with every name that starts the same: an orphan of a name of 29 bytes
  // or more cannot be told from one of a longer name, so none is removed.
  if (Buffer.byteLength(name) > UNCUT_NAME_BYTES) return;
  const prefix = tempName(name).slice(0, -TEMP_SUFFIX_BYTES);
  const uid = process.getuid?.();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix) || n.length !== prefix.length + TEMP_SUFFIX_BYTES || !/^~[0-9a-f]{12}\.tmp$/.test(n.slice(prefix.length))) continue;
    try {
      const at = join(dir, n);
      const st = lstatSync(at);
      if (!st.isFile() || (uid !== undefined && st.uid !== uid) || now - st.mtimeMs < STALE_TEMP_MS) continue;
      unlinkSync(at);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/** NAME_MAX: the most bytes one name (path component) takes on Linux filesystems. */
const NAME_MAX = 255;
/** Symbolic links followed in a row before giving up, as the kernel does (ELOOP). */
const MAX_LINKS = 40;

/**
 * The path a write that replaces `file` renames its new file over, checked so that the write
 * cannot be refused for what is at the path or its directory. A symbolic link is followed as a
 * shell's `>` follows it (pantheon's `domain/state.json -> ../persist/state.json`, a boot-epoch
 * file linked to a persistent partition): the file it leads to is replaced and the link stays a
 * link. Refusing links broke every such state file; replacing the link itself would silently move
 * the state off the partition it was put on. A dangling link is written through when the directory
 * it points into exists. What is finally there must be a regular file or nothing: a FIFO, device,
 * directory or socket, at the path or at the end of its links (`--out` a link to /dev/null), is
 * FILE_INVALID, as a rename would put a regular file in its place (as root, `--out /dev/null`
 * replaced the machine's). The directory must exist (FILE_NOT_FOUND) and the name be at most
 * NAME_MAX bytes (FILE_IO), checked here, so a command that counts what it writes (Pantheon's
 * sequence numbers) calls it before it takes a counter and a refused output consumes none.
 * Returns the final path: its directory resolved (realpath), its name the link's target's.
 */
export function replaceTarget(file: string): string {
  let cur = file;
  for (let links = 0; ; links++) {
    // In messages: the path as given, and where its links led when that is elsewhere.
    const via = cur === file ? '' : ` (a symbolic link to ${cur})`;
    if (cur.endsWith('/')) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}${via}: ends with '/', the name of a directory; give the path of a file`);
    const name = basename(cur);
    if (Buffer.byteLength(name) > NAME_MAX) {
      throw new LocalError(FileErrorCode.FILE_IO, `${file}${via}: name too long for the filesystem (a name is at most ${NAME_MAX} bytes on most, a whole path 4096); give a shorter one`);
    }
    const at = join(directoryOf(file, dirname(cur), via), name);
    let st: Stats;
    try {
      st = lstatSync(at);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return at; // nothing there yet: created
      throw fileError(e, file, 'write it');
    }
    if (st.isFile()) return at;
    if (!st.isSymbolicLink()) {
      throw new LocalError(FileErrorCode.FILE_INVALID, `${file}${via}: is ${kindOf(st)}; refusing to replace it with a regular file: give the path of a regular file, or a new name`);
    }
    if (links === MAX_LINKS) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: more than ${MAX_LINKS} symbolic links in a row (a loop?); give the path of a regular file`);
    refuseForeignLink(file, at, st);
    let target: string;
    try {
      target = readlinkSync(at);
    } catch (e) {
      throw fileError(e, file, 'read the symbolic link');
    }
    cur = target.endsWith('/') ? target : resolve(dirname(at), target);
  }
}

/**
 * The kernel's protected_symlinks rule, which a link read here by hand would sidestep: a symlink in a
 * sticky, world-writable directory (/tmp) is followed only if we or the directory's owner own it.
 * Otherwise anybody could plant `/tmp/report -> /etc/shadow` for root's `--out /tmp/report`.
 */
function refuseForeignLink(file: string, link: string, st: Stats): void {
  const uid = process.geteuid?.();
  if (uid === undefined || st.uid === uid) return;
  let dir: Stats;
  try {
    dir = statSync(dirname(link));
  } catch {
    return; // the walk names the directory's own failure
  }
  if ((dir.mode & 0o1002) === 0o1002 && st.uid !== dir.uid) {
    throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${link} is a symbolic link of another user (uid ${st.uid}) in a shared directory (sticky, world-writable); refusing to follow it: give a path of your own`);
  }
}

/** `dir` resolved (realpath), when it is an existing directory; otherwise an error naming `file`. */
function directoryOf(file: string, dir: string, via: string): string {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${file}${via}: its directory ${dir} does not exist; create it first (mkdir -p), or give another path`, { cause: e });
    if (code === 'ENOTDIR') throw new LocalError(FileErrorCode.FILE_IO, `${file}${via}: a part of ${dir} is a file, not a directory; give another path`, { cause: e });
    throw fileError(e, file, 'write it');
  }
  let st: Stats;
  try {
    st = statSync(real);
  } catch (e) {
    throw fileError(e, file, 'write it');
  }
  if (!st.isDirectory()) throw new LocalError(FileErrorCode.FILE_IO, `${file}${via}: ${dir} is ${kindOf(st)}, not a directory; give another path`);
  return real;
}

/** Bytes of the target's name kept in the temporary file's name: enough to tell whose it is. */
const TEMP_PREFIX_BYTES = 32;

/**
 * `.NAME~RANDOM.tmp`, NAME cut to 32 bytes (whole characters): at most 50 bytes whatever the target's
 * name, so every name the filesystem takes can be written (the whole name plus pid and suffix went
 * past NAME_MAX for names of 229 bytes and more). 48 random bits and the exclusive create keep two
 * writers apart.
 */
function tempName(name: string): string {
  let prefix = '';
  for (const ch of name) {
    if (Buffer.byteLength(prefix + ch) > TEMP_PREFIX_BYTES) break;
    prefix += ch;
  }
  return `.${prefix}~${randomBytes(6).toString('hex')}.tmp`;
}

/** The longest name that no longer name's cut temporary name can equal (TEMP_PREFIX_BYTES - 3). */
const UNCUT_NAME_BYTES = TEMP_PREFIX_BYTES - 3;

/** `~` + 12 hex digits + `.tmp`: the part of tempName after the target's name. */
const TEMP_SUFFIX_BYTES = 17;

/** What `st` is, for the message refusing to replace it (or to write into it). */
function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * replaceTarget without its result: a command that counts what it writes (Pantheon's sequence
 * numbers) calls it before it takes a counter, so an --out the write would refuse (not a regular
 * file, even at the end of a link; a missing directory; a name over NAME_MAX) consumes none.
 */
export function checkReplaceable(file: string): void {
  replaceTarget(file);
}

/**
 * fsync of a directory, so the rename or link just made survives a power cut: without it the new
 * name can be lost while a later write (the artefact a state file's counter was taken for) is
 * kept, and the counter is used again after the reboot. A filesystem that cannot sync a directory
 * (EINVAL on some), or a directory this user may write but not list, gives no more than the rename did.
 */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EIO' || code === 'ENOSPC' || code === 'EDQUOT') throw e; // the disk failed: say so; otherwise (EINVAL, EACCES…) nothing more to do
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Reads a regular file of at most `maxBytes`; bigger files are refused without reading them whole. */
export function readFileCapped(file: string, maxBytes: number, what: string): { bytes: Uint8Array; mode: number; uid: number } {
  let fd: number;
  try {
    // Non-blocking: opening a named pipe (FIFO) for reading blocks until a writer comes, which hung
    // every command given one; the check below then refuses it as not a regular file.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fileError(e, file, `read the ${what}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: not a regular file (expected a ${what})`);
    if (st.size > maxBytes) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: ${st.size} bytes is too large for a ${what} (at most ${maxBytes})`);
    // Sized by the file, not the cap (up to 128 MiB for some files, which every read allocated and
    // every kept view pinned), with one byte more so a file that grows (or lies about its size) is
    // seen: the buffer then grows, and past the cap the file is refused.
    let buf = Buffer.allocUnsafeSlow(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > maxBytes) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: too large for a ${what} (at most ${maxBytes} bytes)`);
    }
    return { bytes: new Uint8Array(buf.buffer, buf.byteOffset, n), mode: st.mode, uid: st.uid };
  } catch (e) {
    throw fileError(e, file, `read the ${what}`);
  } finally {
    closeSync(fd);
  }
}

/**
 * True only when nothing is at `file` (ENOENT of lstat). A dangling symlink, or a path this user
 * cannot look at, is not "absent": reading it then fails with an error that names the problem,
 * where taking it for a missing file let a state file silently start over.
 */
export function absent(file: string): boolean {
  try {
    lstatSync(file);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

export function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** mkdir -p with a mode for the directories it creates. */
export function ensureDir(dir: string, mode = 0o700): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
  } catch (e) {
    throw fileError(e, dir, 'create the directory');
  }
}
