// Small field rules shared by the body codecs; each throws DecodeError naming the field.

import { toHex } from '../bytes.js';
import { asArray, asText, type CborValue } from '../cbor.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** Non-empty text of at most `max` characters, optionally matching `pattern`. */
export function asName(v: CborValue | undefined, what: string, max: number, pattern?: RegExp): string {
  const s = asText(v, what, max);
  if (s.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: empty`);
  if (pattern !== undefined && !pattern.test(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: ${JSON.stringify(s)} is not allowed here`);
  return s;
}

/**
 * An optional list: absent means "none", and an empty list must be omitted rather than sent as [],
 * so that one value has one encoding (and one object_id).
 */
export function optionalList(v: CborValue | undefined, what: string, max: number): CborValue[] | undefined {
  if (v === undefined) return undefined;
  const list = asArray(v, what, max);
  if (list.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: an empty list must be omitted`);
  return list;
}

/** Refuses repeated byte strings (CIDs, object_ids) in a list. */
export function assertUniqueBytes(list: readonly Uint8Array[], what: string): void {
  const seen = new Set<string>();
  for (const b of list) {
    const k = toHex(b);
    if (seen.has(k)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: duplicate entry ${k}`);
    seen.add(k);
  }
}

/** Refuses repeated strings in a list. */
export function assertUniqueStrings(list: readonly string[], what: string): void {
  if (new Set(list).size !== list.length) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: duplicate entry`);
}
