// What the gateway last announced to each collector and had accepted (issue #12, OI §11.4
// "freshness"): the digests of its catalogue and config. After a restart with a changed config or
// catalogue, the next session to that collector signals each change with a `fresh` message
// (docs/PROFILE.md §Freshness). One small JSON file in the state directory, replaced atomically:
//   {"kind": "uzp-gw/announced-digests",
//    "collectors": [{"collector": hex64, "catalogue": hex64, "config"?: hex64, "at": iso}, ...]}
// Losing it costs only the signal (the next announcement carries the digests all the same).

import { dirname, join } from 'node:path';
import { FileErrorCode } from './errors.js';
import { hexField, jsonEntry, textField } from './json.js';
import { readJsonList, writeJsonFileAtomic, type JsonListFile } from './json-file.js';

const KIND = 'uzp-gw/announced-digests';
const FILE_NAME = 'announced-digests.json';
const ENTRY_KEYS = ['collector', 'catalogue', 'config', 'at'] as const;
/** Collectors remembered (the config names far fewer); beyond, the oldest entries go. */
export const MAX_ANNOUNCED = 256;
const FILE: JsonListFile = { kind: KIND, key: 'collectors', max: MAX_ANNOUNCED, maxBytes: MAX_ANNOUNCED * 400 + 4096, what: 'announced digests', items: 'entries' };

export interface AnnouncedDigests {
  /** The collector's CID (hex). */
  readonly collector: string;
  readonly catalogue: string;
  readonly config?: string;
  /** When the collector accepted the announcement (ISO). */
  readonly at: string;
}

/** Next to the identity key: the state directory (like boot-epoch and the status file). */
export function announcedDigestsFileOf(identityKey: string): string {
  return join(dirname(identityKey), FILE_NAME);
}

/** The entries in `file`; none when the file does not exist. */
export function readAnnouncedDigests(file: string): AnnouncedDigests[] {
  return readJsonList(file, FILE, entry);
}

/** Replaces the file with `list` (its newest MAX_ANNOUNCED), atomically: temp file + rename. */
export function writeAnnouncedDigests(file: string, list: readonly AnnouncedDigests[]): void {
  writeJsonFileAtomic(file, { kind: KIND, collectors: list.slice(-MAX_ANNOUNCED) }, 0o600);
}

function entry(v: unknown, where: string): AnnouncedDigests {
  const code = FileErrorCode.FILE_INVALID;
  const o = jsonEntry(v, where, ENTRY_KEYS, code);
  const hex = (k: string): string => Buffer.from(hexField(o, k, 32, where, code)).toString('hex');
  return {
    collector: hex('collector'),
    catalogue: hex('catalogue'),
    ...(o.config !== undefined ? { config: hex('config') } : {}),
    at: textField(o, 'at', 64, where, code, true),
  };
}
