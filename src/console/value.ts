// A reading's value for people: the gateway logs canonical CBOR (src/hil-devices/readings.ts); the
// console, `collector query` and `connect tail` show it as JSON, byte strings marked so that bytes
// never look like text (uzp/cbor-marked.ts). A value that does not decode is shown as its bytes in
// hex rather than dropped.

import { toHex } from '../uzp/bytes.js';
import { decodeCanonical, type Json } from '../uzp/cbor.js';
import { markedField, markedJson } from '../uzp/cbor-marked.js';

/** The value where no key of its own names it (the console's value column, a table cell). */
export function readingValueJson(v: Uint8Array): Json {
  try {
    return markedJson(decodeCanonical(v, 16, { floats: true }));
  } catch {
    return { cbor: toHex(v) };
  }
}

/** The value as the field `value` of a JSON line: `value_hex` instead when it is a byte string (as `connect tail`). */
export function readingValueField(v: Uint8Array): { [k: string]: Json } {
  try {
    return markedField('value', decodeCanonical(v, 16, { floats: true }));
  } catch {
    return { value: { cbor: toHex(v) } };
  }
}
