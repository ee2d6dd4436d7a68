// Small JSON state files (e.g. Pantheon's counters): read with a cap, written atomically.

import { LocalError } from '../lib/errors.js';
import { absent, readFileCapped, writeFileAtomic } from './fsutil.js';
import { parseJsonObject, utf8Text } from './json.js';
import { FileErrorCode } from './errors.js';

/** Returns the file's text, or undefined when nothing is there (a dangling link or unreadable path is an error). */
export function readTextFileIfExists(file: string, maxBytes: number, what: string): string | undefined {
  if (absent(file)) return undefined;
  return utf8Text(readFileCapped(file, maxBytes, what).bytes, file, FileErrorCode.FILE_INVALID);
}

export function writeJsonFileAtomic(file: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', { mode, overwrite: true });
}

/** How a list state file looks: `{"kind": kind, <key>: [item, ...]}`, at most `max` items. */
export interface JsonListFile {
  readonly kind: string;
  readonly key: string;
  readonly max: number;
  readonly maxBytes: number;
  /** What the file holds, for the size error ("discovery revocations"). */
  readonly what: string;
  /** What one item is, for the list error ("entries", "hex envelopes"). */
  readonly items: string;
}

/** The items of a list state file, each read by `item`; none when the file does not exist. FILE_INVALID otherwise. */
export function readJsonList<T>(file: string, f: JsonListFile, item: (v: unknown, where: string, index: number) => T): T[] {
  const text = readTextFileIfExists(file, f.maxBytes, f.what);
  if (text === undefined) return [];
  const list = parseJsonObject(text, file, f.kind, ['kind', f.key], FileErrorCode.FILE_INVALID)[f.key];
  if (!Array.isArray(list) || list.length > f.max) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: "${f.key}" must be a list of at most ${f.max} ${f.items}`);
  return list.map((v, i) => item(v, `${file}: ${f.key}[${i}]`, i));
}
