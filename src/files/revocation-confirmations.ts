// What the gateway knows its collectors have in force of the discovery revocations it signed (OI
// §11.6), kept across restarts (issue #12): without it a restarted gateway sent every revocation
// again and, for a wholly revoked grant, announced to a collector that refuses it as REVOKED, every
// 60 s forever. One small JSON file in the state directory (the one the service may write; the
// revocations file itself may be elsewhere and written by the admin), replaced atomically:
//   {"kind": "uzp-gw/revocation-confirmations",
//    "confirmed": [{"revocation": hex64, "collector": hex64, "by": "receipt"|"refusal", "receipt"?: hex64, "at": iso}, ...]}
// `revocation` is the revocation's object_id, `receipt` the object_id of the collector's signed
// `revoke` receipt (by "receipt"); by "refusal" the collector refused the announcement of a wholly
// revoked grant as REVOKED (it has a revocation of it in force; docs/PROFILE.md §Revocation).
// The gateway only reads and writes it; losing it costs one more delivery, never a publication.

import { dirname, join } from 'node:path';
import { LocalError } from '../lib/errors.js';
import { MAX_REVOCATIONS } from './discovery-revocations.js';
import { FileErrorCode } from './errors.js';
import { hexField, jsonEntry, textField } from './json.js';
import { readJsonList, writeJsonFileAtomic, type JsonListFile } from './json-file.js';

const KIND = 'uzp-gw/revocation-confirmations';
const FILE_NAME = 'discovery-revocations-confirmed.json';
const ENTRY_KEYS = ['revocation', 'collector', 'by', 'receipt', 'at'] as const;
/** One entry is well under 400 bytes as written (pretty-printed); the bound is the revocations file's. */
const FILE: JsonListFile = { kind: KIND, key: 'confirmed', max: MAX_REVOCATIONS, maxBytes: MAX_REVOCATIONS * 400 + 4096, what: 'revocation confirmations', items: 'entries' };

export type ConfirmedBy = 'receipt' | 'refusal';

export interface RevocationConfirmation {
  /** The revocation's object_id (hex). */
  readonly revocation: string;
  /** The collector's CID (hex). */
  readonly collector: string;
  readonly by: ConfirmedBy;
  /** The signed `revoke` receipt's object_id (hex), when `by` is "receipt". */
  readonly receipt?: string;
  /** When the gateway learnt it (ISO). */
  readonly at: string;
}

/** Next to the identity key: the state directory (like boot-epoch and the status file). */
export function revocationConfirmationsFileOf(identityKey: string): string {
  return join(dirname(identityKey), FILE_NAME);
}

/** The confirmations in `file`, oldest first; none when the file does not exist. */
export function readRevocationConfirmations(file: string): RevocationConfirmation[] {
  return readJsonList(file, FILE, entry);
}

/** Replaces the file with `list` (its newest MAX_REVOCATIONS), atomically: temp file + rename. */
export function writeRevocationConfirmations(file: string, list: readonly RevocationConfirmation[]): void {
  writeJsonFileAtomic(file, { kind: KIND, confirmed: list.slice(-MAX_REVOCATIONS) }, 0o600);
}

function entry(v: unknown, where: string): RevocationConfirmation {
  const code = FileErrorCode.FILE_INVALID;
  const o = jsonEntry(v, where, ENTRY_KEYS, code);
  const hex = (k: string): string => Buffer.from(hexField(o, k, 32, where, code)).toString('hex');
  if (o.by !== 'receipt' && o.by !== 'refusal') throw new LocalError(code, `${where}: field "by" must be "receipt" or "refusal"`);
  return {
    revocation: hex('revocation'),
    collector: hex('collector'),
    by: o.by,
    ...(o.receipt !== undefined ? { receipt: hex('receipt') } : {}),
    at: textField(o, 'at', 64, where, code, true),
  };
}
