// jsonLine (src/cli/json-line.ts): equipment text in `connect` JSON lines parses back to exactly
// what it was, and carries no C1 control, bidirectional override or line separator raw to a terminal.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLine } from '../../src/cli/json-line.js';

const UNSAFE = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('jsonLine', () => {
  it('escapes C1 controls, bidi overrides and separators; JSON.stringify alone leaves them raw', () => {
    const v = { topic: 'plant/\u202eevil', payload: 'a\u009bb\u2028c\u2066d' };
    expect(JSON.stringify(v)).toMatch(UNSAFE);
    const line = jsonLine(v);
    expect(line).not.toMatch(UNSAFE);
    expect(line).toBe('{"topic":"plant/\\u202eevil","payload":"a\\u009bb\\u2028c\\u2066d"}\n');
    expect(JSON.parse(line)).toEqual(v);
  });

  it('any value: one line, parses back to the same value, nothing unsafe raw (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => {
        const line = jsonLine(v);
        expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
        expect(line).not.toMatch(UNSAFE);
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 2000 },
    );
  });
});
