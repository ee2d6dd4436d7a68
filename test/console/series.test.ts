// The numbers a slot's chart plots (src/console/series.ts): vectors for each driver's value shape,
// properties (bounded, finite, never throws), and junk of every JSON kind.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SERIES, seriesOf } from '../../src/console/series.js';

describe('seriesOf', () => {
  it.each([
    ['a bare number', 21.5, { value: 21.5 }],
    ['a Modbus register', { unit: 1, name: 't', value: 215, eng_unit: 'dC' }, { '1.t': 215 }],
    ['a Modbus register without a unit id', { name: 'p', value: -3 }, { p: -3 }],
    ['a serial line with a number', { line: 'T=21.5 C' }, { line: 21.5 }],
    ['a serial line, exponent', { line: 'flow 1.5e3 l/h' }, { line: 1500 }],
    ['a serial line, sign and leading dot', { line: 'dT -.25' }, { line: -0.25 }],
    ['a serial line without a number', { line: 'READY' }, {}],
    ['a truncated serial line', { line: 'n=42 …', truncated: true }, { line: 42 }],
    // A coloured line plots what it shows, not the numbers of its escape sequences (before: 31).
    ['a serial line in colour (CSI SGR)', { line: 'T=\u001b[31m21.5\u001b[0m' }, { line: 21.5 }],
    ['a serial line with a C1 CSI', { line: '\u009b1;32mT=21.5' }, { line: 21.5 }],
    ['a serial line after a window title (OSC … BEL)', { line: '\u001b]0;sensor 42\u0007T=21.5' }, { line: 21.5 }],
    ['a serial line after an OSC ended by ST', { line: '\u001b]2;7\u001b\\T=21.5' }, { line: 21.5 }],
    ['a serial line after a DCS string', { line: '\u001bP1$r0m\u001b\\ v=3' }, { line: 3 }],
    ['a serial line with ESC 7 (save cursor)', { line: 'x\u001b7 21.5' }, { line: 21.5 }],
    ['a serial line with a private-mode CSI', { line: '\u001b[?25hT=-4' }, { line: -4 }],
    ['an unterminated OSC swallows the rest, as on a terminal', { line: '\u001b]2;99' }, {}],
    ['a control between digits separates them', { line: '12\u00003' }, { line: 12 }],
    ['MQTT, numeric text payload', { topic: 'plant/t', payload: '23.5' }, { 'plant/t': 23.5 }],
    ['MQTT, JSON object payload', { topic: 'm/1', payload: '{"rpm":1200,"ok":true,"name":"x","temp":71.5}' }, { 'm/1 rpm': 1200, 'm/1 temp': 71.5 }],
    ['MQTT, not JSON', { topic: 'm/1', payload: 'on' }, {}],
    ['MQTT, bytes (hex object)', { topic: 'm/1', payload: { cbor: '00ff' } }, {}],
    ['any other object: its own numbers', { a: 1, b: 'x', c: 2.5, d: null }, { a: 1, c: 2.5 }],
    ['non-finite numbers are not plotted', { a: Number.NaN, b: Number.POSITIVE_INFINITY }, {}],
    ['null', null, {}],
    ['an array', [1, 2, 3], {}],
    ['text', 'hello', {}],
  ])('%s', (_what, value, want) => {
    expect(seriesOf(value)).toEqual(want);
  });

  it('caps the number of series and the length of their names', () => {
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(Object.keys(seriesOf(wide))).toHaveLength(MAX_SERIES);
    const long = seriesOf({ ['x'.repeat(500)]: 1 });
    expect(Object.keys(long)[0]!.length).toBeLessThanOrEqual(64);
  });

  it('never throws, and gives at most MAX_SERIES finite numbers with short names, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = seriesOf(v);
        const entries = Object.entries(s);
        expect(entries.length).toBeLessThanOrEqual(MAX_SERIES);
        for (const [k, n] of entries) {
          expect(Number.isFinite(n)).toBe(true);
          expect(k.length).toBeLessThanOrEqual(64);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a serial line\'s first number is found wherever it stands in the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }).filter((s) => !/[\d.]/.test(s)), fc.integer({ min: -1e6, max: 1e6 }), fc.string({ maxLength: 40 }), (pre, n, post) => {
        // A space apart from what precedes it, so nothing in front can become its sign.
        expect(seriesOf({ line: `${pre} ${n} ${post}` }).line).toBe(n);
      }),
    );
  });
});
