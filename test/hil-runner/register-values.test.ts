// The virtual equipment's register encoder (src/hil-runner/register-values.ts) against the
// gateway's own decoder (src/hil-devices/register-codec.ts): whatever the type, byte order and word
// order a config declares, the gateway reads back the value the simulator meant.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegisterDef } from '../../src/hil-devices/config.js';
import { decodeRegister } from '../../src/hil-devices/register-codec.js';
import { bitSources, encodeWords, registerSources } from '../../src/hil-runner/register-values.js';

const order = fc.constantFrom('big' as const, 'little' as const);

function def(over: Partial<RegisterDef>): RegisterDef {
  return { name: 'r', table: 'holding', address: 0, count: 1, type: 'uint16', scale: 1, offset: 0, byteOrder: 'big', wordOrder: 'big', pollIntervalMs: 1000, ...over };
}

describe('register values for virtual slaves', () => {
  it('encodeWords then the gateway decoder give the value back, for every type and order (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('int16', 'uint16', 'int32', 'uint32', 'float32') as fc.Arbitrary<RegisterDef['type']>,
        order,
        order,
        fc.double({ min: -30_000, max: 30_000, noNaN: true }),
        (type, byteOrder, wordOrder, v) => {
          const raw = type.startsWith('u') ? Math.abs(v) : v;
          const d = def({ type, byteOrder, wordOrder });
          const got = decodeRegister(d, encodeWords(d, raw)) as number;
          if (type === 'float32') expect(got).toBeCloseTo(Math.fround(raw), 3);
          else expect(got).toBe(Math.round(raw) + 0); // +0: the decoder never gives -0
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('sources cover every address a register spans (count x words per value) and move over time', () => {
    const d = def({ type: 'uint32', address: 100, count: 2 });
    const s = registerSources(d, 3);
    expect([...s.keys()]).toEqual([100, 101, 102, 103]);
    const at = (now: number) => [...s.values()].map((f) => (typeof f === 'function' ? f(now) : f));
    expect(at(0)).not.toEqual(at(15_000));
    for (const w of at(7_000)) expect(w).toBeGreaterThanOrEqual(0);
    expect([...bitSources(def({ table: 'coils', address: 5, count: 3, type: 'bool' }), 0).keys()]).toEqual([5, 6, 7]);
  });
});
