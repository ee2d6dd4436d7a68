// The diag mode's messages (src/hil/diag-report.ts, docs/PROFILE.md §HIL "diag mode"): reports
// round-trip (property), the decoder's rules each refused with its code, and junk (random bytes,
// mutations of a good report) gives DecodeError or a report, never anything else. Fixed bytes are
// in test/vectors/hil.json (hil-vectors.test.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DIAG_STATES, type DiagCounters, type DiagReport, type DiagUnit } from '../../src/hil/diag-report.js';
import { decodeHil, encodeHil, type HilMessage } from '../../src/hil/messages.js';
import { DecodeError } from '../../src/lib/errors.js';
import { encodeCanonical } from '../../src/uzp/cbor.js';

const count = fc.nat({ max: 1_000_000 });
const msNum = fc.oneof(fc.double({ min: 0, max: 60_000, noNaN: true }).filter((x) => !Object.is(x, -0)), fc.nat({ max: 60_000 }));
const byCode = fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { maxLength: 4 }).chain((codes) =>
  fc.tuple(...codes.sort((a, b) => a - b).map((c) => fc.tuple(fc.constant(c), fc.integer({ min: 1, max: 1000 })))),
);
const counters: fc.Arbitrary<DiagCounters> = fc
  .record({
    state: fc.constantFrom(...DIAG_STATES),
    requests: count,
    replies: count,
    timeouts: count,
    crc_errors: count,
    exceptions: count,
    by_code: byCode,
    rt: fc.option(fc.record({ n: fc.integer({ min: 1, max: 1e6 }), min: msNum, avg: msNum, p99: msNum, max: msNum }), { nil: undefined }),
  })
  .map(({ rt, ...c }) => (rt === undefined ? c : { ...c, rt }));
const unitOf = (id: number): fc.Arbitrary<DiagUnit> =>
  fc
    .record({
      c: counters,
      name: fc.option(fc.string({ maxLength: 64 }), { nil: undefined }),
      polled: fc.boolean(),
      wrong_unit: count,
      mismatched: count,
      stale: count,
      offline: count,
      queue_full: count,
      silent: count,
      last_error: fc.option(fc.constantFrom('MODBUS_TIMEOUT', 'MODBUS_CRC', 'MODBUS_EXCEPTION'), { nil: undefined }),
    })
    .map(({ c, name, last_error, ...rest }) => ({ unit: id, ...(name !== undefined ? { name } : {}), ...c, ...rest, ...(last_error !== undefined ? { last_error } : {}) }));
const report: fc.Arbitrary<DiagReport> = fc
  .record({
    port: fc.constantFrom('open', 'waiting', 'opening', 'closed'),
    all: counters,
    ids: fc.uniqueArray(fc.nat({ max: 255 }), { maxLength: 6 }),
    line: fc.record({ stray_frames: count, stray_noise: count, desyncs: count }),
  })
  .chain(({ ids, ...r }) => fc.tuple(...ids.sort((a, b) => a - b).map(unitOf)).map((units) => ({ ...r, units })));

const GOOD: DiagReport = {
  port: 'open',
  all: { state: 'timeout', requests: 30, replies: 20, timeouts: 10, crc_errors: 1, exceptions: 2, by_code: [[2, 2]], rt: { n: 20, min: 2.5, avg: 3, p99: 4.25, max: 4.5 } },
  units: [
    { unit: 1, name: 'boiler', polled: true, state: 'ok', requests: 20, replies: 20, timeouts: 0, crc_errors: 1, exceptions: 2, by_code: [[2, 2]], rt: { n: 20, min: 2.5, avg: 3, p99: 4.25, max: 4.5 }, wrong_unit: 0, mismatched: 0, stale: 0, offline: 0, queue_full: 0, silent: 0 },
    { unit: 2, polled: true, state: 'timeout', requests: 10, replies: 0, timeouts: 10, crc_errors: 0, exceptions: 0, by_code: [], wrong_unit: 0, mismatched: 0, stale: 0, offline: 0, queue_full: 0, silent: 3, last_error: 'MODBUS_TIMEOUT' },
  ],
  line: { stray_frames: 0, stray_noise: 1, desyncs: 0 },
};

/** A `diag` message whose report is `d` as given (not checked by our encoder). */
function raw(d: unknown): Uint8Array {
  return encodeCanonical({ t: 'diag', id: 1, d } as never, { floats: true });
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof DecodeError ? e.code : `not a DecodeError: ${String(e)}`;
  }
}

describe('diag mode messages', () => {
  it('reports and requests round-trip (property)', () => {
    fc.assert(
      fc.property(report, u32OrZero(), (d, id) => {
        const m: HilMessage = { t: 'diag', id, d };
        expect(decodeHil(encodeHil(m))).toEqual(m);
        expect(decodeHil(encodeHil({ t: 'diagq', id }))).toEqual({ t: 'diagq', id });
      }),
      { numRuns: 500 },
    );
  });

  it('absent optional fields are left out of the bytes, not sent as null', () => {
    const m = decodeHil(encodeHil({ t: 'diag', id: 9, d: GOOD }));
    expect(m).toEqual({ t: 'diag', id: 9, d: GOOD });
    const unit2 = (m as Extract<HilMessage, { t: 'diag' }>).d.units[1]!;
    expect('rt' in unit2 || 'name' in unit2).toBe(false);
  });

  it.each([
    ['an unknown field in the report', { ...GOOD, extra: 1 }, 'DECODE_VALUE'],
    ['an unknown field in a unit', { ...GOOD, units: [{ ...GOOD.units[0], regs: [1] }] }, 'DECODE_VALUE'],
    ['a missing counter', { ...GOOD, all: { ...GOOD.all, timeouts: undefined } }, 'DECODE_TYPE'],
    ['a state outside the set', { ...GOOD, all: { ...GOOD.all, state: 'dead' } }, 'DECODE_VALUE'],
    ['units out of order', { ...GOOD, units: [GOOD.units[1], GOOD.units[0]] }, 'DECODE_VALUE'],
    ['a unit twice', { ...GOOD, units: [GOOD.units[0], GOOD.units[0]] }, 'DECODE_VALUE'],
    ['a unit id above 255', { ...GOOD, units: [{ ...GOOD.units[0], unit: 256 }] }, 'DECODE_VALUE'],
    ['rt with n 0', { ...GOOD, all: { ...GOOD.all, rt: { n: 0, min: 0, avg: 0, p99: 0, max: 0 } } }, 'DECODE_VALUE'],
    ['a negative response time', { ...GOOD, all: { ...GOOD.all, rt: { n: 1, min: -1, avg: 0, p99: 0, max: 0 } } }, 'DECODE_VALUE'],
    ['exception code 0', { ...GOOD, all: { ...GOOD.all, by_code: [[0, 1]] } }, 'DECODE_VALUE'],
    ['codes out of order', { ...GOOD, all: { ...GOOD.all, by_code: [[3, 1], [2, 1]] } }, 'DECODE_VALUE'],
    ['a code with count 0', { ...GOOD, all: { ...GOOD.all, by_code: [[2, 0]] } }, 'DECODE_VALUE'],
    ['a pair of three', { ...GOOD, all: { ...GOOD.all, by_code: [[2, 1, 1]] } }, 'DECODE_LENGTH'],
    ['257 units', { ...GOOD, units: Array.from({ length: 257 }, (_, i) => ({ ...GOOD.units[1], unit: i })) }, 'DECODE_LENGTH'],
    ['a port word longer than 32', { ...GOOD, port: 'x'.repeat(33) }, 'DECODE_LENGTH'],
  ])('refuses %s', (_what, d, code) => {
    const defined = JSON.parse(JSON.stringify(d)) as unknown; // drops the undefined field of "a missing counter"
    expect(codeOf(() => decodeHil(raw(defined)))).toBe(code);
  });

  it('junk: random bytes and mutated reports decode or throw DecodeError, nothing else', () => {
    const good = encodeHil({ t: 'diag', id: 1, d: GOOD });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const c = codeOf(() => decodeHil(b));
        expect(c === undefined || !c.startsWith('not a')).toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const b = Uint8Array.from(good);
        for (const [i, v] of edits) b[i] = v;
        const c = codeOf(() => decodeHil(b));
        expect(c === undefined || !c.startsWith('not a'), c).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

function u32OrZero(): fc.Arbitrary<number> {
  return fc.nat({ max: 0xffffffff });
}
