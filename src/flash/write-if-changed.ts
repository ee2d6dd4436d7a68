// Idempotent writes for the small files flash installs (config, unit, sysusers, tmpfiles, manifest):
// a file whose bytes and mode already match is left alone (same mtime, nothing for a package
// manager or an image diff to notice); otherwise it is replaced atomically (temp file + rename).

import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, basename } from 'node:path';
import { fileError, writeFileAtomic } from '../files/fsutil.js';

export type WriteStatus = 'created' | 'updated' | 'unchanged';

function bytesOf(data: Uint8Array | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** What writeIfChanged would do, without doing it (for --dry-run). */
export function plannedWrite(file: string, data: Uint8Array | string, mode: number): WriteStatus {
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return 'created';
  }
  if (!st.isFile()) return 'updated';
  try {
    return (st.mode & 0o777) === mode && readFileSync(file).equals(bytesOf(data)) ? 'unchanged' : 'updated';
  } catch {
    return 'updated';
  }
}

/** mkdir -p with 0755 directories (readable by the service user; umask-proof). */
export function ensureDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try {
      lstatSync(d);
      break;
    } catch {
      missing.push(d);
    }
    if (dirname(d) === d) break;
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const d of missing) chmodSync(d, 0o755);
  } catch (e) {
    throw fileError(e, dir, 'create the directory');
  }
}

export function writeIfChanged(file: string, data: Uint8Array | string, mode: number): WriteStatus {
  const status = plannedWrite(file, data, mode);
  if (status === 'unchanged') return status;
  ensureDirs(dirname(file));
  // The target root is flash's to lay out: whatever is at one of its paths is replaced (a FIFO left
  // there hung flash when it read it: plannedWrite).
  writeFileAtomic(file, bytesOf(data), { mode, overwrite: 'any' });
  return status;
}

/** What ensureSymlink would do. */
export function plannedSymlink(link: string, target: string): WriteStatus {
  try {
    const st = lstatSync(link);
    return st.isSymbolicLink() && readlinkSync(link) === target ? 'unchanged' : 'updated';
  } catch {
    return 'created';
  }
}

/** Points `link` at `target` (replacing a different link or file atomically by rename). */
export function ensureSymlink(link: string, target: string): WriteStatus {
  const status = plannedSymlink(link, target);
  if (status === 'unchanged') return status;
  ensureDirs(dirname(link));
  const tmp = join(dirname(link), `.${basename(link)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, link);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fileError(e, link, 'create the symlink');
  }
  return status;
}
