// The exact inverse of src/hil-devices/register-codec.ts decodeRegister: a value -> the words (or
// bits as 0/1) a device holding it would send. The gateway has no encoder (it never writes named
// registers); the codec tests use this one as decode's oracle, checked itself against hand-worked
// vectors in register-codec.test.ts. Integers are rounded to the nearest raw step; a value the type
// cannot hold is refused with LocalError USAGE.

import type { CodecDef, RegisterValue, ScalarValue } from '../../src/hil-devices/register-codec.js';
import { wordsPerValue } from '../../src/hil-devices/register-codec.js';
import type { ValueType } from '../../src/hil-devices/config.js';
import { CommonCode, LocalError } from '../../src/lib/errors.js';

const RANGES: Record<Exclude<ValueType, 'float32' | 'bool'>, readonly [number, number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff],
};

const swapBytes = (w: number): number => ((w & 0xff) << 8) | (w >>> 8);

/** A scalar for count 1 (or a one-element array), an array of exactly `count` values otherwise. */
export function encodeRegister(def: CodecDef, value: RegisterValue): number[] {
  const values = Array.isArray(value) ? value : [value];
  if (values.length !== def.count) throw usage(def, `expected ${def.count === 1 ? 'one value' : `an array of ${def.count} values`}, got ${values.length}`);
  return values.flatMap((v) => encodeOne(def, v));
}

function encodeOne(def: CodecDef, v: ScalarValue): number[] {
  if (def.type === 'bool') {
    if (typeof v === 'boolean') return [v ? 1 : 0];
    if (v === 0 || v === 1) return [v];
    throw usage(def, `expected true/false (or 1/0), got ${String(v)}`);
  }
  if (typeof v !== 'number') throw usage(def, `expected a number, got ${String(v)}`);
  const raw = (v - def.offset) / def.scale;
  let u: number;
  if (def.type === 'float32') {
    const f = Math.fround(raw);
    if (Number.isFinite(raw) && !Number.isFinite(f)) throw usage(def, `${v} does not fit float32 after scale ${def.scale} and offset ${def.offset}`);
    const view = new DataView(new ArrayBuffer(4));
    view.setFloat32(0, f);
    u = view.getUint32(0);
  } else {
    const [min, max] = RANGES[def.type];
    const r = Math.round(raw) + 0; // + 0: no negative zero
    if (!Number.isFinite(raw) || r < min || r > max) throw usage(def, `${v} does not fit ${def.type} (${min}..${max}) after scale ${def.scale} and offset ${def.offset}`);
    u = r < 0 ? r + (wordsPerValue(def.type) === 1 ? 0x1_0000 : 0x1_0000_0000) : r;
  }
  const order = (words: number[]): number[] => (def.byteOrder === 'little' ? words.map(swapBytes) : words);
  if (wordsPerValue(def.type) === 1) return order([u]);
  const hi = Math.floor(u / 0x1_0000);
  const lo = u % 0x1_0000;
  return order(def.wordOrder === 'big' ? [hi, lo] : [lo, hi]);
}

function usage(def: CodecDef, what: string): LocalError {
  return new LocalError(CommonCode.USAGE, `register ${def.name} (${def.type}): ${what}`);
}
