// RtuFramer (RTU frame boundaries by t3.5 silence) on a fake clock: properties (any frames, however
// chunked, come out whole and in order; tolerant mode waits out mid-frame gaps shorter than its
// stretch) and junk (random bytes, gaps, bursts and expectedLength answers: every byte is either
// in a frame of 1..256 bytes or counted in an overrun, nothing stays pending, nothing throws).
// Times are multiples of 0.25 ms so the fake clock's arithmetic is exact.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRequest } from '../../src/sim/modbus-pdu.js';
import { encodeRtu, expectedRequestLength, RTU_MAX_ADU } from '../../src/sim/modbus-rtu-frame.js';
import { RtuFramer } from '../../src/sim/rtu-framer.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { requestArb } from './arbitraries.js';

type Event = { frame: string } | { overrun: number };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function rig(silenceMs: number, o: { expectedLength?: (head: Uint8Array) => number | undefined; maxStretchMs?: number } = {}) {
  const clock = new FakeClock();
  const events: Event[] = [];
  const f = new RtuFramer(
    { silenceMs, clock, ...(o.expectedLength ? { expectedLength: o.expectedLength } : {}), ...(o.maxStretchMs !== undefined ? { maxStretchMs: o.maxStretchMs } : {}) },
    (b) => events.push({ frame: hex(b) }),
    (n) => events.push({ overrun: n }),
  );
  return { clock, events, f };
}

/** Splits `b` at the given cut points (taken modulo its length) into non-empty chunks. */
function chunks(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, b.length - 1))).filter((c) => c < b.length))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    out.push(b.subarray(from, c));
    from = c;
  }
  return out;
}

const quarter = (min: number, max: number): fc.Arbitrary<number> => fc.integer({ min: min * 4, max: max * 4 }).map((n) => n / 4);
const silenceArb = fc.constantFrom(1.75, 2, 4, 10);

describe('RtuFramer properties', () => {
  it('strict mode: any frames, chunked with gaps shorter than t3.5, come out whole and in order; longer bursts as overruns', () => {
    const frameArb = fc.oneof({ weight: 5, arbitrary: fc.uint8Array({ minLength: 1, maxLength: RTU_MAX_ADU }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: RTU_MAX_ADU + 1, maxLength: 700 }) });
    const planArb = fc.array(fc.record({ bytes: frameArb, cuts: fc.array(fc.nat(), { maxLength: 6 }), gapFraction: fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 6 }), pauseExtra: quarter(0, 30) }), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(silenceArb, planArb, (silence, plan) => {
        const { clock, events, f } = rig(silence);
        for (const p of plan) {
          const cs = chunks(p.bytes, p.cuts);
          cs.forEach((c, i) => {
            if (i > 0) clock.advance(Math.floor(((p.gapFraction[i - 1] ?? 0) / 100) * silence * 4) / 4); // < t3.5
            f.push(c);
          });
          clock.advance(silence + p.pauseExtra);
        }
        expect(events).toEqual(plan.map((p) => (p.bytes.length <= RTU_MAX_ADU ? { frame: hex(p.bytes) } : { overrun: p.bytes.length })));
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('strict mode: a gap of t3.5 or more always ends the frame there', () => {
    fc.assert(
      fc.property(silenceArb, fc.uint8Array({ minLength: 2, maxLength: RTU_MAX_ADU }), fc.nat(), quarter(0, 20), (silence, bytes, cut, extra) => {
        const { clock, events, f } = rig(silence);
        const at = 1 + (cut % (bytes.length - 1));
        f.push(bytes.subarray(0, at));
        clock.advance(silence + extra);
        f.push(bytes.subarray(at));
        clock.advance(silence);
        expect(events).toEqual([{ frame: hex(bytes.subarray(0, at)) }, { frame: hex(bytes.subarray(at)) }]);
      }),
      { numRuns: 500 },
    );
  });

  it('tolerant mode: a Modbus request split by a gap shorter than the stretch comes out whole, one t3.5 after its last byte', () => {
    fc.assert(
      fc.property(silenceArb, fc.integer({ min: 0, max: 247 }), requestArb, fc.nat(), quarter(0, 49.75), (silence, unit, req, cut, gap) => {
        const pdu = encodeRequest(req);
        fc.pre(pdu.length <= 253);
        const adu = encodeRtu({ unit, pdu });
        fc.pre(expectedRequestLength(adu) === adu.length);
        const { clock, events, f } = rig(silence, { expectedLength: expectedRequestLength, maxStretchMs: 50 });
        const at = 1 + (cut % (adu.length - 1));
        f.push(adu.subarray(0, at));
        clock.advance(gap);
        f.push(adu.subarray(at));
        clock.advance(silence - 0.25);
        expect(events).toEqual([]);
        clock.advance(0.25);
        expect(events).toEqual([{ frame: hex(adu) }]);
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('RtuFramer junk', () => {
  const expectedArb = fc.constantFrom<((h: Uint8Array) => number | undefined) | undefined>(
    undefined,
    expectedRequestLength,
    () => undefined,
    () => Number.NaN,
    () => -1,
    () => 0,
    () => 3.5,
    () => RTU_MAX_ADU,
    () => RTU_MAX_ADU + 1,
    () => 1e12,
    () => Number.POSITIVE_INFINITY,
    (h) => h.length + 1, // always one byte short: stretches to the end
    (h) => (h[0] ?? 0) % 300,
  );
  const opArb = fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b) => ({ push: b })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 1200 }).map((b) => ({ push: b })) },
    { weight: 5, arbitrary: quarter(0, 80).map((ms) => ({ wait: ms })) },
  );

  it('random bytes, gaps and expectedLength answers: every byte is in a frame or an overrun, in order', () => {
    fc.assert(
      fc.property(silenceArb, expectedArb, fc.option(quarter(0, 100), { nil: undefined }), fc.array(opArb, { maxLength: 40 }), (silence, expectedLength, maxStretchMs, ops) => {
        const { clock, events, f } = rig(silence, { ...(expectedLength ? { expectedLength } : {}), ...(maxStretchMs !== undefined ? { maxStretchMs } : {}) });
        const stream: number[] = [];
        for (const op of ops) {
          if ('push' in op) {
            f.push(op.push);
            stream.push(...op.push);
          } else clock.advance(op.wait);
        }
        clock.advance(silence + (maxStretchMs ?? 50) + 1);
        expect(clock.pending).toBe(0);
        // Walk the stream: each frame is the next bytes, each overrun skips the next n bytes.
        let at = 0;
        for (const e of events) {
          if ('frame' in e) {
            const n = e.frame.length / 2;
            expect(n >= 1 && n <= RTU_MAX_ADU).toBe(true);
            expect(e.frame).toBe(hex(Uint8Array.from(stream.slice(at, at + n))));
            at += n;
          } else {
            expect(e.overrun).toBeGreaterThan(RTU_MAX_ADU);
            at += e.overrun;
          }
        }
        expect(at).toBe(stream.length);
      }),
      { numRuns: 1500 },
    );
  });

  it('reset() at random points: no throw, frames of 1..256 bytes taken from the stream, nothing left pending', () => {
    const withReset = fc.oneof({ weight: 8, arbitrary: opArb }, { weight: 1, arbitrary: fc.constant({ reset: true as const }) });
    fc.assert(
      fc.property(silenceArb, expectedArb, fc.array(withReset, { maxLength: 40 }), (silence, expectedLength, ops) => {
        const { clock, events, f } = rig(silence, expectedLength ? { expectedLength } : {});
        let stream = '';
        for (const op of ops) {
          if ('push' in op) {
            f.push(op.push);
            stream += hex(op.push);
          } else if ('wait' in op) clock.advance(op.wait);
          else f.reset();
        }
        clock.advance(silence + 51);
        expect(clock.pending).toBe(0);
        let from = 0;
        for (const e of events) {
          if (!('frame' in e)) continue;
          expect(e.frame.length / 2).toBeGreaterThanOrEqual(1);
          expect(e.frame.length / 2).toBeLessThanOrEqual(RTU_MAX_ADU);
          let i = stream.indexOf(e.frame, from);
          while (i !== -1 && i % 2 !== 0) i = stream.indexOf(e.frame, i + 1);
          expect(i, 'a frame that is not the next bytes of the stream').not.toBe(-1);
          from = i + e.frame.length;
        }
      }),
      { numRuns: 800 },
    );
  });

  it('a huge burst is one overrun of its full length, and the framer then frames normally', () => {
    const { clock, events, f } = rig(4, { expectedLength: expectedRequestLength });
    f.push(new Uint8Array(1 << 20).fill(0xaa));
    f.push(new Uint8Array(5));
    clock.advance(4);
    f.push(Uint8Array.of(1, 3, 0, 0, 0, 10, 0xc5, 0xcd));
    clock.advance(4);
    expect(events).toEqual([{ overrun: (1 << 20) + 5 }, { frame: '01030000000ac5cd' }]);
    expect(clock.pending).toBe(0);
  });
});
