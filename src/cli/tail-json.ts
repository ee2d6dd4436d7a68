// A reading's value in `connect tail`'s JSON lines, its byte strings marked. cborToJson writes a
// byte string as bare hex, so the bytes de ad be ef and the text "deadbeef" printed alike, and an
// MQTT reading's payload is either (DEVICES.md, mqtt-bridge: `"payload": text / bstr`). As
// `connect mqtt` does with payload / payload_hex (connect-serve.ts), the key says it: a byte
// string in a map under K is printed as hex under `K_hex`, a value that is itself a byte string as
// `value_hex` instead of `value`. Where there is no key to mark (an array element; no driver sends
// one) or the marked key is taken (the map also has a key K_hex), it is `{"hex": "…"}`, an object
// where the text would be a string.

import { toHex } from '../uzp/bytes.js';
import type { CborValue, Json } from '../uzp/cbor.js';

/** The `value` of a tail line, or `value_hex` when the value is a byte string. */
export function readingValueJson(v: CborValue): { value: Json } | { value_hex: string } {
  return v instanceof Uint8Array ? { value_hex: toHex(v) } : { value: marked(v) };
}

function marked(v: CborValue): Json {
  if (v instanceof Uint8Array) return { hex: toHex(v) };
  if (Array.isArray(v)) return v.map(marked);
  if (v === null || typeof v !== 'object') return v;
  // Object.fromEntries: own properties whatever the key ("__proto__" too), as cborToJson.
  return Object.fromEntries(Object.entries(v).map(([k, x]): [string, Json] => (x instanceof Uint8Array && !Object.hasOwn(v, `${k}_hex`) ? [`${k}_hex`, toHex(x)] : [k, marked(x)])));
}
