// Live values for the registers a config declares, encoded the way the config says the device
// stores them (type, byte order, word order), so the gateway's own decoder (hil-devices/
// register-codec.ts) reads back a plausible, moving value. Values drift as a sine over a minute
// around a level that fits the type; `seed` spreads units and registers apart.

import type { RegisterDef, ValueType } from '../hil-devices/config.js';
import { swapBytes, wordsPerValue } from '../hil-devices/register-codec.js';
import { drift, type BitSource, type RegisterSource } from '../sim/live-values.js';

/** The raw value (before scale/offset) a register of each type drifts around, and by how much. */
const LEVEL: Readonly<Record<ValueType, { readonly base: number; readonly amplitude: number }>> = {
  int16: { base: 100, amplitude: 60 },
  uint16: { base: 1000, amplitude: 100 },
  int32: { base: 100_000, amplitude: 5_000 },
  uint32: { base: 1_000_000, amplitude: 5_000 },
  float32: { base: 21.5, amplitude: 3 },
  bool: { base: 0.5, amplitude: 0.5 },
};

/** One value's words in wire order (big endian words, high word first), then the declared orders applied. */
export function encodeWords(def: Pick<RegisterDef, 'type' | 'byteOrder' | 'wordOrder'>, raw: number): number[] {
  let words: number[];
  switch (def.type) {
    case 'float32': {
      const dv = new DataView(new ArrayBuffer(4));
      dv.setFloat32(0, raw);
      words = [dv.getUint16(0), dv.getUint16(2)];
      break;
    }
    case 'int32':
    case 'uint32': {
      const v = Math.round(raw) >>> 0;
      words = [v >>> 16, v & 0xffff];
      break;
    }
    case 'bool':
      words = [raw >= 0.5 ? 1 : 0];
      break;
    default:
      words = [Math.round(raw) & 0xffff];
  }
  if (words.length === 2 && def.wordOrder === 'little') words = [words[1]!, words[0]!];
  return def.byteOrder === 'little' ? words.map(swapBytes) : words;
}

/**
 * Register sources for `def` (count values from its address on), keyed by absolute address: each
 * word is a function of the bus clock, so successive polls see the value move.
 */
export function registerSources(def: RegisterDef, seed: number): Map<number, RegisterSource> {
  const out = new Map<number, RegisterSource>();
  const { base, amplitude } = LEVEL[def.type];
  const n = wordsPerValue(def.type);
  for (let i = 0; i < def.count; i++) {
    const value = drift({ base, amplitude, periodMs: 60_000, phase: seed + i });
    for (let w = 0; w < n; w++) out.set(def.address + i * n + w, (now: number) => encodeWords(def, value(now))[w]!);
  }
  return out;
}

/** Bit sources (coils, discrete inputs) for `def`: each toggles on its own period. */
export function bitSources(def: RegisterDef, seed: number): Map<number, BitSource> {
  const out = new Map<number, BitSource>();
  for (let i = 0; i < def.count; i++) {
    const periodMs = 5_000 + 1_000 * ((seed + i) % 7);
    out.set(def.address + i, (now: number) => Math.floor(now / periodMs) % 2 === 1);
  }
  return out;
}
