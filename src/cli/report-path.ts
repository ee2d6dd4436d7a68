// A report file a command writes at its end (`hil run --junit FILE`), or appends to while it runs
// (`connect --por-log FILE`), is checked before the command starts anything: a run of minutes must
// not end in "cannot write the report", nor a session go on without the records asked for. A
// regular file (or nothing yet) is checked by the write itself: it is opened for appending (which
// neither truncates an existing report nor follows the path any differently than the final write
// does) and, if it did not exist, removed again. A named pipe (FIFO) is taken only when a reader
// has it open (`--junit >(wc -c)`, a /dev/fd/N pipe; `--por-log /dev/stderr` piped): the write
// to one without a reader waits for ever (`hil run` hung after its run, in writeFileSync), so a
// non-blocking open for writing tells the two apart (ENXIO: nobody reads). A character device
// (`/dev/stderr` on a terminal, `/dev/null`) is the user's explicit choice of where the bytes go:
// it is written to, never replaced. A directory, block device or socket is no report. Each
// refusal says what is wrong in words that fit.

import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { usageError } from './flags.js';

/** Throws a usage error (exit 2) naming `flag` when `file` cannot be written as a report. */
export function checkReportPath(flag: string, file: string): void {
  const abs = resolve(file);
  const target = classifyReportTarget(abs, tryStat(lstatSync, abs), tryStat(statSync, abs));
  if (target.refused !== undefined) throw usageError(`${flag} ${file}: ${target.refused}`);
  if (target.check === 'reader') return checkReader(flag, file, abs);
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

/** The parts of fs.Stats the classification reads (a test can give any kind of file). */
export type StatKind = Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isSymbolicLink'>;

/**
 * How a report path is checked, from lstat (`link`) and stat through links (`st`), either undefined
 * when it failed: 'append' (a regular file or nothing yet: opened for appending), 'reader' (a FIFO
 * or character device: opened for writing without blocking, see checkReader), or why it is refused.
 */
export function classifyReportTarget(abs: string, link: StatKind | undefined, st: StatKind | undefined): { check: 'append' | 'reader'; refused?: undefined } | { refused: string } {
  if (link === undefined) return { check: 'append' };
  if (link.isSymbolicLink() && st === undefined) return { refused: `${abs} is a symbolic link to nothing; give the path of a file, or of one to create` };
  const at = st ?? link;
  if (at.isFile()) return { check: 'append' };
  if (at.isFIFO() || at.isCharacterDevice()) return { check: 'reader' };
  if (at.isDirectory()) return { refused: `${abs} is a directory; give a file path, e.g. ${abs}/report.xml` };
  return { refused: `${abs} is ${at.isSocket() ? 'a socket' : 'a block device'}, not a regular file; give the path of a file, or of one to create` };
}

/**
 * Write ends of FIFOs this check found a reader on, left open until the process exits: closing the
 * last write end is end-of-file to the reader, and one that opened the FIFO by name (`cat FIFO &`)
 * would then stop before the report came, leaving the report's write to wait for ever. (A
 * `>(wc -c)` pipe is also held by the fd the shell gave this process.)
 */
const heldOpen: number[] = [];

/**
 * A FIFO or character device: opened for writing without blocking. On a FIFO ENXIO means nobody
 * has it open for reading, so the report's write would wait for ever; an open that succeeds found
 * its reader (and is kept: heldOpen). A device's fd is closed at once.
 */
function checkReader(flag: string, file: string, abs: string): void {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' && tryStat(statSync, abs)?.isFIFO() === true) {
      throw usageError(
        `${flag} ${file}: ${abs} is a named pipe (FIFO): writing to it waits until a reader opens it, not a regular file; give the path of a file, or start its reader first (e.g. ${flag} >(cat))`,
      );
    }
    throw usageError(`${flag} ${file}: ${whyNot(code, abs)}`);
  }
  if (fstatSync(fd).isFIFO()) heldOpen.push(fd);
  else closeSync(fd);
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
