// Small JSON state files (e.g. Pantheon's counters): read with a cap, written atomically.

import { exists, readFileCapped, writeFileAtomic } from './fsutil.js';
import { utf8Text } from './json.js';
import { FileErrorCode } from './errors.js';

/** Returns the file's text, or undefined when it does not exist. */
export function readTextFileIfExists(file: string, maxBytes: number, what: string): string | undefined {
  if (!exists(file)) return undefined;
  return utf8Text(readFileCapped(file, maxBytes, what).bytes, file, FileErrorCode.FILE_INVALID);
}

export function writeJsonFileAtomic(file: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', { mode, overwrite: true });
}
