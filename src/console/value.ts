// A reading's value for people: the gateway logs canonical CBOR (src/hil-devices/readings.ts); the
// console, `collector query` and `connect tail` show it as JSON. A value that does not decode is
// shown as its bytes in hex rather than dropped.

import { cborToJson, decodeCanonical } from '../uzp/cbor.js';
import { toHex } from '../uzp/bytes.js';

export function readingValueJson(v: Uint8Array): unknown {
  try {
    return cborToJson(decodeCanonical(v, 16, { floats: true }));
  } catch {
    return { cbor: toHex(v) };
  }
}
