// A CBOR value as JSON for people, its byte strings marked: what every place that shows a reading's
// value or an artefact's CBOR prints (connect tail, collector query, the web console, pantheon show).
// cborToJson (cbor.ts) writes a byte string as bare hex, so the bytes de ad be ef and the text
// "deadbeef" printed alike, and an MQTT reading's payload is either (DEVICES.md, mqtt-bridge:
// `"payload": text / bstr`). As `connect mqtt` does with payload / payload_hex (connect-serve.ts),
// the key says it: a byte string in a map under K is printed as hex under `K_hex`, and a value that
// is itself a byte string, shown under a key of its own, as `K_hex` instead of K (markedField: tail's
// `value_hex`). Where there is no key to mark (an array element; a value shown without its key, as
// the console's value column shows it) or the marked key is taken (the map also has a key K_hex),
// it is `{"hex": "…"}`, an object where the text would be a string.

import { toHex } from './bytes.js';
import type { CborValue, Json } from './cbor.js';

/** `v` as JSON, byte strings marked (`K_hex` in a map, else `{"hex": …}`). */
export function markedJson(v: CborValue): Json {
  if (v instanceof Uint8Array) return { hex: toHex(v) };
  if (Array.isArray(v)) return v.map(markedJson);
  if (v === null || typeof v !== 'object') return v;
  // Object.fromEntries: own properties whatever the key ("__proto__" too), as cborToJson.
  return Object.fromEntries(Object.entries(v).map(([k, x]): [string, Json] => (x instanceof Uint8Array && !Object.hasOwn(v, `${k}_hex`) ? [`${k}_hex`, toHex(x)] : [k, markedJson(x)])));
}

/** `v` as the field `key` of a JSON object: `{key: markedJson(v)}`, or `{key_hex: "…"}` when `v` is a byte string. */
export function markedField(key: string, v: CborValue): { [k: string]: Json } {
  return v instanceof Uint8Array ? { [`${key}_hex`]: toHex(v) } : { [key]: markedJson(v) };
}
