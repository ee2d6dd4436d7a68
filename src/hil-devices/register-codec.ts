// Modbus data words and bits -> named register values.
//
// Modbus Application Protocol V1.1b3 §4.2 defines 16-bit registers sent high byte first and single
// bits, and nothing wider. Devices put 32-bit integers and IEEE 754 floats into two consecutive
// registers in whatever order their firmware chose ("ABCD", "CDAB", "BADC", "DCBA"), so a register
// definition names the byte order inside each word and the word order of 32-bit values:
//
//   value bytes A B C D (A most significant)   byteOrder  wordOrder  registers on the wire
//   ABCD (the Modbus convention)               big        big        [AB, CD]
//   CDAB (word swap, most PLCs' floats)        big        little     [CD, AB]
//   BADC (byte swap)                           little     big        [BA, DC]
//   DCBA (both)                                little     little     [DC, BA]
//
// value = raw * scale + offset (EdgeX device resources use the same rule). Scaled values are tidied
// to 15 significant digits, so 214 * 0.1 is 21.4 and not 21.400000000000002; 15 digits keep every
// int32 raw value exact, so no information is lost (the tests check it against an exact inverse).
//
// `decodeRegister` takes words (or bits as 0/1) from the bus; like every decoder here it rejects a
// short or long input and throws only DecodeError. There is no encoder: the gateway never writes
// named registers (operators write raw PDUs, held against the Grant's modbus.write ranges).

import type { RegisterDef, ValueType } from './config.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

/** What the codec needs of a register definition. */
export type CodecDef = Pick<RegisterDef, 'name' | 'type' | 'count' | 'scale' | 'offset' | 'byteOrder' | 'wordOrder'>;

export type ScalarValue = number | boolean;
/** One value, or an array of `count` values when count > 1. */
export type RegisterValue = ScalarValue | ScalarValue[];

/** Words (registers) or bits one value of `type` occupies. */
export function wordsPerValue(type: ValueType): 1 | 2 {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/** The two bytes of a 16-bit word exchanged (byte order 'little'). */
export const swapBytes = (w: number): number => ((w & 0xff) << 8) | (w >>> 8);

/** Decodes `count` values from exactly `count * width` words (bits as 0/1 for bool). */
export function decodeRegister(def: CodecDef, words: readonly number[]): RegisterValue {
  const width = wordsPerValue(def.type);
  const expected = def.count * width;
  if (words.length !== expected) {
    const code = words.length < expected ? CommonCode.DECODE_TRUNCATED : CommonCode.DECODE_TRAILING;
    throw new DecodeError(code, `register ${def.name}: expected ${expected} ${def.type === 'bool' ? 'bits' : 'words'}, got ${words.length}`);
  }
  for (const w of words) {
    if (!Number.isInteger(w) || w < 0 || w > 0xffff) throw new DecodeError(CommonCode.DECODE_VALUE, `register ${def.name}: expected 16-bit words 0..65535, got ${w}`);
  }
  const values: ScalarValue[] = [];
  for (let i = 0; i < def.count; i++) values.push(decodeOne(def, words, i * width));
  return def.count === 1 ? values[0]! : values;
}

function decodeOne(def: CodecDef, words: readonly number[], at: number): ScalarValue {
  if (def.type === 'bool') return words[at] !== 0;
  const w = (i: number): number => (def.byteOrder === 'little' ? swapBytes(words[at + i]!) : words[at + i]!);
  let raw: number;
  if (wordsPerValue(def.type) === 1) {
    const u = w(0);
    raw = def.type === 'int16' && u >= 0x8000 ? u - 0x1_0000 : u;
  } else {
    const [hi, lo] = def.wordOrder === 'big' ? [w(0), w(1)] : [w(1), w(0)];
    const u32 = hi * 0x1_0000 + lo;
    if (def.type === 'float32') {
      const view = new DataView(new ArrayBuffer(4));
      view.setUint32(0, u32);
      raw = view.getFloat32(0); // IEEE 754 binary32, exactly representable as a double
    } else raw = def.type === 'int32' && u32 >= 0x8000_0000 ? u32 - 0x1_0000_0000 : u32;
  }
  return def.scale === 1 && def.offset === 0 ? raw : tidy(raw * def.scale + def.offset);
}

/** Rounds away binary-fraction noise (15 significant digits: what a double always holds exactly). */
function tidy(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x === 0 ? 0 : x;
  return Number(x.toPrecision(15));
}
