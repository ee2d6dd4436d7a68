// Deterministic CBOR (RFC 8949 §4.2.1 "Core Deterministic Encoding") through cborg.
// Encoding uses cborg's RFC 8949 options (shortest-form integers and lengths, map keys sorted
// bytewise-lexicographically by their encoded form, no indefinite lengths).
// Decoding is strict and then *re-encodes and compares*: any input that is not the unique
// canonical encoding of the value it decodes to is refused (CBOR_NON_CANONICAL), so one value
// has exactly one byte string and therefore one object_id and one signature input.
// Floats (HIL messages only, docs/PROFILE.md §HIL "Numbers") follow RFC 8949 §4.2.1: the shortest
// of binary16/32/64 that holds the value. §4.2.1 does not reduce integral floats to integers
// (that is an application choice, §4.2.2), so a peer may send 21.0 or -0.0 as a float: we keep
// which numbers arrived as floats through the re-encoding, so such a float is accepted in its
// shortest form and refused in any longer one, exactly like every other float.

import { decode, encode, rfc8949EncodeOptions, Token, Tokenizer, Type, type DecodeOptions, type EncodeOptions } from 'cborg';
import { equal, toHex } from './bytes.js';
import { readProfileValue, UNREAD } from './cbor-reader.js';
import { ErrorCode } from './errors.js';
import { CommonCode, DecodeError } from '../lib/errors.js';
import { cutWire, quoteWire } from '../lib/wire-text.js';

/**
 * How much of a library's error message a DecodeError keeps: cborg quotes input in some (a
 * repeated map key, whole), and these messages reach logs and the HIL audit (lib/wire-text.ts).
 */
const LIBRARY_MESSAGE_MAX = 160;

/** Values our profile allows inside artefacts: no floats, no undefined, no tags, integers within 2^53. */
export type CborValue = null | boolean | number | string | Uint8Array | CborValue[] | { [key: string]: CborValue };

const DECODE_OPTIONS: DecodeOptions = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  useMaps: false,
  // Our profile carries no CBOR tags; an empty tag table makes cborg refuse any tag.
  tags: [],
};

/**
 * `floats`: allow finite non-integer numbers, encoded in their shortest exact form (RFC 8949
 * §4.2.2). Signed artefacts never use it (integers only: one value, one encoding, no float
 * subtleties under signatures); HIL messages do, because readings are physical quantities.
 */
interface CborProfile {
  readonly floats?: boolean;
}

/** Encode a value canonically. Throws RangeError on values the profile forbids (local bug, not peer input). */
export function encodeCanonical(value: CborValue, profile: CborProfile = {}): Uint8Array {
  assertProfileValue(value, 0, 32, profile.floats === true);
  return encode(value, rfc8949EncodeOptions);
}

/** Decode canonical CBOR; throws DecodeError (CBOR_INVALID / CBOR_NON_CANONICAL) on anything else. */
export function decodeCanonical(bytes: Uint8Array, maxDepth = 16, profile: CborProfile = {}): CborValue {
  // The strict fast path reads what it can (floats too under the float profile); whatever it leaves
  // goes through cborg and the re-encoding check. For a HIL request on a gateway that is ~0.1 ms of
  // a tunneled Modbus read's latency (docs/BENCH.md "What the tunnel adds to a read").
  const fast = readProfileValue(bytes, maxDepth, profile.floats === true);
  if (fast !== UNREAD) return fast;
  return decodeWithCborg(bytes, maxDepth, profile);
}

/** decodeCanonical without the fast path: exported for the tests that hold the two equal. */
export function decodeWithCborg(bytes: Uint8Array, maxDepth = 16, profile: CborProfile = {}): CborValue {
  const floats = profile.floats === true;
  const tokenizer = new ProfileTokenizer(bytes, floats);
  let value: unknown;
  try {
    value = decode(bytes, { ...DECODE_OPTIONS, tokenizer });
  } catch (e) {
    throw new DecodeError(ErrorCode.CBOR_INVALID, `invalid CBOR: ${cutWire((e as Error).message, LIBRARY_MESSAGE_MAX)}`, { cause: e });
  }
  try {
    assertProfileValue(value, 0, maxDepth, floats);
  } catch (e) {
    throw new DecodeError(ErrorCode.CBOR_INVALID, `CBOR outside profile: ${cutWire((e as Error).message, LIBRARY_MESSAGE_MAX)}`);
  }
  let again: Uint8Array;
  try {
    again = encode(value, tokenizer.integralFloats === 0 ? rfc8949EncodeOptions : REENCODE_FLOATS);
  } catch (e) {
    throw new DecodeError(ErrorCode.CBOR_INVALID, `CBOR cannot be re-encoded: ${cutWire((e as Error).message, LIBRARY_MESSAGE_MAX)}`);
  }
  if (!equal(again, bytes)) {
    throw new DecodeError(ErrorCode.CBOR_NON_CANONICAL, 'CBOR is not in deterministic encoding (RFC 8949 §4.2.1)');
  }
  return (tokenizer.integralFloats === 0 ? value : unboxFloats(value)) as CborValue;
}

/**
 * An integral number (or -0.0) that arrived as a CBOR float. JavaScript cannot tell 21.0 from 21,
 * so the decoded value is boxed until the re-encoding has checked that the float was in its
 * shortest form; the caller then sees a plain number.
 */
class IntegralFloat {
  constructor(readonly value: number) {}
}

/** cborg's tokenizer, plus the profile's float rule: floats refused outright, or integral ones boxed. */
class ProfileTokenizer extends Tokenizer {
  integralFloats = 0;
  constructor(
    data: Uint8Array,
    private readonly floats: boolean,
  ) {
    // A plain Uint8Array view, as cborg's own decode makes: byte strings must not come back as Buffers.
    super(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), DECODE_OPTIONS);
  }

  override next(): Token {
    const t = super.next();
    if (!Type.equals(t.type, Type.float) || typeof t.value !== 'number') return t;
    // Signed artefacts carry no floats at all: refused here, whatever their value (docs/PROFILE.md §Envelope).
    if (!this.floats) throw new Error(`float ${t.value} not allowed (integers only)`);
    if (!Number.isSafeInteger(t.value) && !Object.is(t.value, -0)) return t;
    this.integralFloats++;
    const boxed = new Token(Type.float, new IntegralFloat(t.value), t.encodedLength);
    return boxed;
  }
}

/** Re-encodes a boxed integral float as a float again (cborg picks the shortest exact width). */
const REENCODE_FLOATS: EncodeOptions = {
  ...rfc8949EncodeOptions,
  typeEncoders: {
    Object: (obj: unknown) => (obj instanceof IntegralFloat ? [new Token(Type.float, obj.value)] : null),
  },
};

function unboxFloats(v: unknown): unknown {
  if (v instanceof IntegralFloat) return v.value;
  if (Array.isArray(v)) return v.map(unboxFloats);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, unboxFloats(x)]));
  }
  return v;
}

function assertProfileValue(v: unknown, depth: number, maxDepth = 32, floats = false): asserts v is CborValue {
  if (depth > maxDepth) throw new RangeError(`nesting deeper than ${maxDepth}`);
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return;
    if (floats && Number.isFinite(v)) return;
    throw new RangeError(floats ? `only finite numbers and safe integers are allowed, got ${v}` : `only safe integers are allowed, got ${v}`);
  }
  if (v instanceof Uint8Array) return;
  if (v instanceof IntegralFloat) {
    if (floats) return;
    throw new RangeError(`only safe integers are allowed, got the float ${v.value}`);
  }
  if (Array.isArray(v)) {
    for (const x of v) assertProfileValue(x, depth + 1, maxDepth, floats);
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as Record<string, unknown>)) assertProfileValue(x, depth + 1, maxDepth, floats);
    return;
  }
  throw new RangeError(`value of type ${typeof v} is not allowed`);
}

/** JSON for display (CLI output, logs): byte strings become lowercase hex, everything else as is. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function cborToJson(v: CborValue): Json {
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(cborToJson);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cborToJson(x)]));
  return v;
}

// ---- typed field access for decoders: each throws DecodeError naming the field ----

export type CborMap = { [key: string]: CborValue };

export function asMap(v: CborValue | undefined, what: string): CborMap {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw new DecodeError(CommonCode.DECODE_TYPE, `${what}: expected a map`);
  }
  return v;
}
export function asArray(v: CborValue | undefined, what: string, max = 1024): CborValue[] {
  if (!Array.isArray(v)) throw new DecodeError(CommonCode.DECODE_TYPE, `${what}: expected an array`);
  if (v.length > max) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: ${v.length} items exceeds ${max}`);
  return v;
}
export function asBytes(v: CborValue | undefined, what: string, len?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new DecodeError(CommonCode.DECODE_TYPE, `${what}: expected a byte string`);
  if (len !== undefined && v.length !== len) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: expected ${len} bytes, got ${v.length}`);
  }
  return v;
}
export function asText(v: CborValue | undefined, what: string, maxLen = 1024): string {
  if (typeof v !== 'string') throw new DecodeError(CommonCode.DECODE_TYPE, `${what}: expected a text string`);
  if (v.length > maxLen) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: longer than ${maxLen}`);
  return v;
}
export function asUint(v: CborValue | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new DecodeError(CommonCode.DECODE_TYPE, `${what}: expected an unsigned integer`);
  }
  return v;
}
export function asBool(v: CborValue | undefined, what: string): boolean {
  if (typeof v !== 'boolean') throw new DecodeError(CommonCode.DECODE_TYPE, `${what}: expected a boolean`);
  return v;
}
/**
 * Refuse keys the decoder does not know (for closed structures); open structures use extensions
 * instead. The key is the peer's and can be as long as the message: the error quotes its first
 * characters only (lib/wire-text.ts), as decodeHil does with an unknown message type.
 */
export function onlyKeys(m: CborMap, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(m)) {
    if (!allowed.includes(k)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: unknown field ${quoteWire(k)}`);
  }
}
