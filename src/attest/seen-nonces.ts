// The verifier's record of used nonces (`uzpgw attest verify --seen FILE`): anti-replay across runs,
// each nonce accepted once. The file is read capped at MAX_SEEN_FILE, so it must never be written
// past that: a record written bigger was refused on the next run, and the verifier stopped.
//
// Bounding it soundly: forgetting a nonce is safe only once evidence echoing it can no longer pass
// anyway. Evidence passes only if its iat (signed by the gateway, so fixed in replayed bytes) is
// within --max-age of now, and --max-age is chosen per run, up to MAX_EVIDENCE_AGE_SECONDS. So each
// entry keeps its evidence's iat and is dropped once that iat is more than MAX_EVIDENCE_AGE_SECONDS
// old: no run, whatever its --max-age, accepts that evidence again. Dropping by the current run's
// --max-age, or dropping the oldest beyond a count, would let a later run with a longer --max-age
// accept a replay. When the entries that must be kept still fill the cap, recording refuses
// (NONCE_RECORD_FULL) before anything is written, and the evidence is not accepted: a nonce that
// cannot be recorded could be replayed.
//
// File: a JSON array of [nonce hex, iat (Unix s)]. A bare hex string is an entry from before iats
// were kept: it was accepted at or before the file's mtime, so its iat is at most mtime +
// MAX_EVIDENCE_AGE_SECONDS (evidence passes up to --max-age ahead of the clock), and that bound is
// what it is kept under.

import { statSync } from 'node:fs';
import { FileErrorCode } from '../files/errors.js';
import { writeFileAtomic } from '../files/fsutil.js';
import { parseJsonText } from '../files/json.js';
import { readTextFileIfExists } from '../files/json-file.js';
import { LocalError } from '../lib/errors.js';
import { AttestErrorCode } from './errors.js';

/** The longest --max-age a run accepts (some 115 days); entries are kept this long past their iat. */
export const MAX_EVIDENCE_AGE_SECONDS = 9_999_999;

/** 4 MiB: some 60,000 recorded 16-byte nonces, 28,000 of 64 bytes. */
export const MAX_SEEN_FILE = 4 * 1024 * 1024;

const HEX = /^([0-9a-f]{2})+$/;

export class SeenNonces {
  private constructor(
    readonly file: string,
    /** nonce hex -> iat of its evidence (or an upper bound of it), in insertion order. */
    private readonly entries: Map<string, number>,
  ) {}

  /** Loads the record (absent: empty), forgetting what no run can accept any more at `nowS`. */
  static load(file: string, nowS: number): SeenNonces {
    const text = readTextFileIfExists(file, MAX_SEEN_FILE, 'seen-nonce file');
    const entries = new Map<string, number>();
    if (text !== undefined) {
      const v = parseJsonText(text, file, FileErrorCode.FILE_INVALID);
      const bad = (): LocalError => new LocalError(FileErrorCode.FILE_INVALID, `${file}: not a JSON array of [nonce hex, iat] entries (delete it to start a new record of used nonces)`);
      if (!Array.isArray(v)) throw bad();
      let legacyIat: number | undefined;
      for (const x of v) {
        if (typeof x === 'string' && HEX.test(x)) {
          legacyIat ??= Math.floor(statSync(file).mtimeMs / 1000) + MAX_EVIDENCE_AGE_SECONDS;
          entries.set(x, legacyIat);
        } else if (Array.isArray(x) && x.length === 2 && typeof x[0] === 'string' && HEX.test(x[0]) && Number.isSafeInteger(x[1])) {
          entries.set(x[0], x[1] as number);
        } else throw bad();
      }
    }
    const record = new SeenNonces(file, entries);
    record.forget(nowS);
    return record;
  }

  has(nonceHex: string): boolean {
    return this.entries.has(nonceHex);
  }

  /**
   * Records a nonce whose evidence (issued at `iat`) was accepted and rewrites the file; throws
   * NONCE_RECORD_FULL, writing nothing, when the record would pass MAX_SEEN_FILE.
   */
  record(nonceHex: string, iat: number, nowS: number): void {
    this.forget(nowS);
    const entries = new Map(this.entries).set(nonceHex, iat);
    const text = JSON.stringify([...entries]) + '\n';
    if (Buffer.byteLength(text) > MAX_SEEN_FILE) {
      const next = Math.min(...entries.values()) + MAX_EVIDENCE_AGE_SECONDS + 1;
      throw new LocalError(
        AttestErrorCode.NONCE_RECORD_FULL,
        `${this.file}: the record of used nonces is full (${entries.size - 1} nonces in ${MAX_SEEN_FILE} bytes) and each could still be replayed under a --max-age up to ${MAX_EVIDENCE_AGE_SECONDS} s; the first can be forgotten at ${new Date(next * 1000).toISOString()}. The evidence is not accepted: a nonce that cannot be recorded could be replayed`,
      );
    }
    writeFileAtomic(this.file, text, { mode: 0o600, overwrite: true });
    this.entries.set(nonceHex, iat);
  }

  private forget(nowS: number): void {
    for (const [k, iat] of this.entries) if (iat < nowS - MAX_EVIDENCE_AGE_SECONDS) this.entries.delete(k);
  }
}
