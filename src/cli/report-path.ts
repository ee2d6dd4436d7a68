// A report file a command writes at its end (`hil run --junit FILE`) is checked before the
// command starts anything: a run of minutes must not end in "cannot write the report". The check
// is the write itself: the file is opened for appending (which neither truncates an existing report
// nor follows the path any differently than the final write does) and, if it did not exist,
// removed again. Each refusal says what is wrong in words that fit its errno.

import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { usageError } from './flags.js';

/** Throws a usage error (exit 2) naming `flag` when `file` cannot be written. */
export function checkReportPath(flag: string, file: string): void {
  const abs = resolve(file);
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
