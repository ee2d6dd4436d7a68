// The strict JSON reader: same values as JSON.parse on valid JSON, line numbers per field path,
// duplicate keys refused, syntax errors with line and column, bounded nesting, never a throw.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, readJson } from '../../src/lib/strict-json.js';

describe('readJson', () => {
  it('agrees with JSON.parse on any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        const r = readJson(text);
        expect(r.issues).toEqual([]);
        expect(r.value).toStrictEqual(JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('records the line of every field path', () => {
    const text = '{\n  "a": 1,\n  "slots": {\n    "rs485-1": {\n      "units": [\n        {"unit": 1},\n        {"unit": 2}\n      ]\n    }\n  },\n  "odd key": true\n}';
    const { lines } = readJson(text);
    expect(lines.get('a')).toBe(2);
    expect(lines.get('slots.rs485-1')).toBe(4);
    expect(lines.get('slots.rs485-1.units[1]')).toBe(7);
    expect(lines.get('slots.rs485-1.units[1].unit')).toBe(7);
    expect(lines.get('["odd key"]')).toBe(11);
  });

  it('refuses duplicate keys, naming both lines', () => {
    const r = readJson('{\n "slots": {\n  "a": 1,\n  "a": 2\n }\n}');
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ path: 'slots.a', line: 4, found: '"a" again (first at line 3)' });
  });

  it('reports syntax errors with line and column and gives no value', () => {
    for (const [text, re] of [
      ['{\n  "a": 1,\n}', /expected "\\"" at line 3 column 1/],
      ['{"a": [1, 2', /expected "\]" at line 1 column 12 \(found the end of the file\)/],
      ['{"a": tru}', /expected a value at line 1 column 7/],
      ['{"a": "x\ny"}', /control character/],
      ['{"a": 1} x', /unexpected text after the JSON value/],
      ['{"a": "\\q"}', /invalid escape/],
      ['{"a": 1e999}', /number out of range/],
      ['// comment\n{}', /expected a value at line 1 column 1/],
    ] as const) {
      const r = readJson(text);
      expect(r.value).toBeUndefined();
      expect(r.issues).toHaveLength(1);
      expect(r.issues[0]!.found).toMatch(re);
      expect(r.issues[0]!.fix).toMatch(/JSON syntax/);
    }
  });

  it('bounds nesting and treats "__proto__" as an ordinary key', () => {
    const deep = '['.repeat(MAX_JSON_DEPTH + 2) + ']'.repeat(MAX_JSON_DEPTH + 2);
    expect(readJson(deep).issues[0]!.found).toMatch(/nesting deeper than 64/);
    const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    expect(readJson(ok).issues).toEqual([]);
    const r = readJson('{"__proto__": {"polluted": 1}}');
    const v = r.value as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a UTF-8 byte order mark is tolerated', () => {
    expect(readJson('\ufeff{"a": 1}').value).toEqual({ a: 1 });
  });

  it('never throws on junk text: 10,000 inputs (random, truncated and spliced JSON)', () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: fc.constantFrom(...'{}[]":,0123456789.eE+-truefalsnl \n\\u'.split('')), maxLength: 200 }),
      fc.tuple(fc.jsonValue(), fc.nat(), fc.string({ maxLength: 3 })).map(([v, cut, ins]) => {
        const t = JSON.stringify(v);
        const at = cut % (t.length + 1);
        return t.slice(0, at) + ins + t.slice(at + 1);
      }),
    );
    fc.assert(
      fc.property(junk, (text) => {
        const r = readJson(text);
        if (r.value === undefined) expect(r.issues.length).toBeGreaterThan(0);
        for (const i of r.issues) expect(i.found.length).toBeGreaterThan(0);
      }),
      { numRuns: 10_000 },
    );
  });
});
