// The filesystem primitives of the identity/artefact area: atomic writes with explicit modes,
// capped reads, and fs errors turned into LocalErrors that name the file and the fix.

import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileErrorCode } from './errors.js';
import { type CodedError, isCodedError, LocalError } from '../lib/errors.js';

/** Maps a Node fs error to a LocalError naming the file; other values pass through unchanged. */
export function fileError(e: unknown, file: string, action: string): CodedError | unknown {
  if (isCodedError(e)) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new LocalError(FileErrorCode.FILE_NOT_FOUND, `${file}: no such file (while trying to ${action})`, { cause: e });
  if (code === 'EEXIST') return new LocalError(FileErrorCode.FILE_EXISTS, `${file}: already exists; refusing to overwrite it (move it away first)`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new LocalError(FileErrorCode.FILE_IO, `${file}: permission denied (while trying to ${action})`, { cause: e });
  if (typeof code === 'string') return new LocalError(FileErrorCode.FILE_IO, `${file}: cannot ${action}: ${code}`, { cause: e });
  return e;
}

interface WriteOptions {
  /** File mode, applied at creation and again with chmod (the umask cannot loosen or tighten it). */
  readonly mode: number;
  /** When false (default) an existing file is refused with FILE_EXISTS; when true it is replaced atomically. */
  readonly overwrite?: boolean;
}

/**
 * Writes via a temporary file in the same directory, fsyncs it, then either renames it over the
 * target (overwrite) or hard-links it into place, which fails atomically if the target exists.
 * A reader therefore sees the old file or the complete new one, never a partial write.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, opts: WriteOptions): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
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
    if (opts.overwrite === true) renameSync(tmp, file);
    else {
      linkSync(tmp, file);
      unlinkSync(tmp);
    }
    syncDir(dirname(file));
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && absent(dirname(file))) {
      throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${file}: its directory ${dirname(file)} does not exist; create it first (mkdir -p), or give another path`, { cause: e });
    }
    throw fileError(e, file, 'write it');
  }
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
