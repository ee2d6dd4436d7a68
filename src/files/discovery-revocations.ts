// The gateway's discovery revocations file (OI §11.6: "A Publisher MUST be able to revoke consent"):
// every discovery-revocation envelope the gateway signed (`uzpgw publish revoke`), kept in one JSON
// file so consent once withdrawn stays withdrawn across restarts, and watched by the running gateway.
//   {"kind": "uzp-gw/discovery-revocations", "revocations": ["<hex envelope>", ...]}
// Envelopes are validated by whoever reads them (gateway/publisher); this file only frames them.

import { LocalError } from '../lib/errors.js';
import { MAX_ENVELOPE_BYTES } from '../uzp/artefacts/constants.js';
import { FileErrorCode } from './errors.js';
import { readJsonList, writeJsonFileAtomic, type JsonListFile } from './json-file.js';
import { withFileLock } from './lock.js';

const KIND = 'uzp-gw/discovery-revocations';
/** A gateway revokes rarely: a bound keeps a corrupted or hostile file from costing memory. */
export const MAX_REVOCATIONS = 1024;
const FILE: JsonListFile = { kind: KIND, key: 'revocations', max: MAX_REVOCATIONS, maxBytes: MAX_REVOCATIONS * (MAX_ENVELOPE_BYTES * 2 + 8) + 4096, what: 'discovery revocations', items: 'hex envelopes' };

/** The envelopes in `file`, oldest first; none when the file does not exist. */
export function readDiscoveryRevocations(file: string): Uint8Array[] {
  return readJsonList(file, FILE, (h, where) => {
    if (typeof h !== 'string' || h.length === 0 || h.length > MAX_ENVELOPE_BYTES * 2 || !/^(?:[0-9a-f]{2})+$/.test(h)) {
      throw new LocalError(FileErrorCode.FILE_INVALID, `${where} must be a lowercase hex envelope`);
    }
    return new Uint8Array(Buffer.from(h, 'hex'));
  });
}

/**
 * Adds one envelope (atomically: temp file + rename; an identical envelope is not added twice),
 * under FILE.lock: two `publish revoke` runs at once each kept only their own, and a withdrawn
 * consent was lost.
 */
export function appendDiscoveryRevocation(file: string, envelope: Uint8Array): void {
  withFileLock(file, () => {
    const all = readDiscoveryRevocations(file);
    const hex = Buffer.from(envelope).toString('hex');
    if (all.some((e) => Buffer.from(e).toString('hex') === hex)) return;
    if (all.length >= MAX_REVOCATIONS) throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: already ${MAX_REVOCATIONS} revocations; revoke the whole relationship instead, or issue a new Discovery Grant`);
    writeJsonFileAtomic(file, { kind: KIND, revocations: [...all.map((e) => Buffer.from(e).toString('hex')), hex] }, 0o644);
  });
}
