// test/vectors/hil.json: HIL channel messages, one reading per driver shape, and the number rule
// (docs/PROFILE.md §HIL "Numbers"): floats in RFC 8949 §4.2.1 shortest form, integral floats and
// -0.0 accepted as floats, NaN and infinities and longer forms refused. The vectors were written by
// an encoder of their own, so our codec is checked against bytes it did not produce.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeHil, encodeHil, type HilMessage } from '../../src/hil/messages.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface MessageVector {
  name: string;
  message: Json;
  hex: string;
}
const V = JSON.parse(readFileSync(new URL('../vectors/hil.json', import.meta.url), 'utf8')) as {
  messages: MessageVector[];
  readings: (MessageVector & { driver: string })[];
  numbers: { name: string; cbor: string; message_hex: string; value: number; sent_as: string }[];
  bad_numbers: { name: string; cbor: string; message_hex: string; code: string }[];
};

/** The vectors write a byte string as {"hex": "..."}. */
function fromJson(v: Json): unknown {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'hex') return fromHex(v.hex as string);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x)]));
  }
  return v;
}

describe('HIL vectors (test/vectors/hil.json)', () => {
  it.each([...V.messages, ...V.readings])('$name: decodes to the message and encodes to the same bytes', (v) => {
    const m = fromJson(v.message) as HilMessage;
    expect(decodeHil(fromHex(v.hex))).toEqual(m);
    expect(toHex(encodeHil(m))).toBe(v.hex);
  });

  it('one reading vector per driver, each of its kind', () => {
    const kinds: Record<string, string> = { 'modbus-poller': 'modbus', 'serial-line': 'serial', 'serial-raw': 'serial', 'mqtt-bridge': 'mqtt' };
    expect([...new Set(V.readings.map((r) => r.driver))].sort()).toEqual(Object.keys(kinds).sort());
    for (const r of V.readings) expect((r.message as { kind: string }).kind, r.name).toBe(kinds[r.driver]);
  });

  it.each(V.numbers)('number accepted: $name', (v) => {
    const m = decodeHil(fromHex(v.message_hex)) as Extract<HilMessage, { t: 'reading' }>;
    expect(Object.is(m.value, v.value), `${String(m.value)} vs ${v.value}`).toBe(true);
    // What this implementation sends for that value: integral values as integers (so -0.0 as 0).
    const sent = toHex(encodeHil(m));
    expect(sent.includes('6576616c7565' + v.sent_as)).toBe(true);
    const again = decodeHil(fromHex(sent)) as typeof m;
    expect(again.value === m.value).toBe(true); // equal as numbers (-0 === 0): the sign of zero is not kept
  });

  it.each(V.bad_numbers)('number refused: $name -> $code', (v) => {
    expect(() => decodeHil(fromHex(v.message_hex))).toThrow(expect.objectContaining({ code: v.code }));
  });
});
