// A report file a command writes at its end (`hil run --junit FILE`), or appends to while it runs
// (`connect --por-log FILE`), is checked before the command starts anything: a run of minutes must
// not end in "cannot write the report", nor a session go on without the records asked for. What is
// at the path must be a regular file (or nothing yet): a named pipe (FIFO) blocks the write until
// some reader opens it (`hil run` hung after its run, in writeFileSync), and a device or socket is
// no report. Then the check is the write itself: the file is opened for appending (which neither
// truncates an existing report nor follows the path any differently than the final write does)
// and, if it did not exist, removed again. Each refusal says what is wrong in words that fit.

import { closeSync, existsSync, lstatSync, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { usageError } from './flags.js';

/** Throws a usage error (exit 2) naming `flag` when `file` cannot be written as a report. */
export function checkReportPath(flag: string, file: string): void {
  const abs = resolve(file);
  const kind = notRegular(abs);
  if (kind !== undefined) throw usageError(`${flag} ${file}: ${kind}`);
  const existed = existsSync(abs);
  let fd: number;
  try {
    fd = openSync(abs, 'a');
  } catch (e) {
    throw usageError(`${flag} ${file}: ${whyNot((e as NodeJS.ErrnoException).code, abs)}`);
  }
  closeSync(fd);
  if (!existed) unlinkSync(abs);
}

/** Tries a stat; undefined when it fails (the open below then says why in its own words). */
function tryStat(f: (p: string) => Stats, abs: string): Stats | undefined {
  try {
    return f(abs);
  } catch {
    return undefined;
  }
}

/** Why what is at `abs` is no report file, or undefined for a regular file (through a link) or nothing. */
function notRegular(abs: string): string | undefined {
  const link = tryStat(lstatSync, abs);
  if (link === undefined) return undefined;
  const st = link.isSymbolicLink() ? tryStat(statSync, abs) : link;
  if (st === undefined) return `${abs} is a symbolic link to nothing; give the path of a file, or of one to create`;
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return `${abs} is a directory; give a file path, e.g. ${abs}/report.xml`;
  const what = st.isFIFO() ? 'a named pipe (FIFO): writing to it waits until a reader opens it' : st.isSocket() ? 'a socket' : 'a device';
  return `${abs} is ${what}, not a regular file; give the path of a file, or of one to create`;
}

function whyNot(code: string | undefined, abs: string): string {
  const dir = dirname(abs);
  switch (code) {
    case 'ENOENT':
      return `the directory ${dir} does not exist; make it, or give another path`;
    case 'EISDIR':
      return `${abs} is a directory; give a file path, e.g. ${abs}/report.xml`;
    case 'ENOTDIR':
      return `a part of ${dir} is a file, not a directory; give another path`;
    case 'EACCES':
    case 'EPERM':
      return `no permission to write it (${code}); give a path you can write, or change the permissions of ${existsSync(abs) ? abs : dir}`;
    case 'EROFS':
      return `it is on a read-only file system (EROFS); give a path on a writable one`;
    default:
      return `cannot write it (${code ?? 'unknown error'}); give another path`;
  }
}
