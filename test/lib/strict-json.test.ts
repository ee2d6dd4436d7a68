// The strict JSON reader: same values as JSON.parse on valid JSON, line numbers per field path,
// duplicate keys refused, syntax errors with line and column, bounded nesting, never a throw.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childPath, indexPath } from '../../src/lib/json-path.js';
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

  it('finds the line of every field path, and of nothing else (property)', () => {
    // The lines JSON.stringify(v, null, 2) puts each field on, worked out from its layout: a key
    // sets its path's line (the last of two keys printed alike wins), a value only when unset.
    const expected = (v: unknown): Map<string, number> => {
      const out = new Map<string, number>();
      const walk = (x: unknown, path: string, line: number): number => {
        if (!out.has(path)) out.set(path, line);
        const kids = Array.isArray(x) ? x.map((e, i) => [indexPath(path, i), e] as const) : x !== null && typeof x === 'object' ? Object.entries(x).map(([k, e]) => [childPath(path, k), e] as const) : [];
        if (kids.length === 0) return 1;
        let next = line + 1;
        for (const [p, e] of kids) {
          if (!Array.isArray(x)) out.set(p, next);
          next += walk(e, p, next);
        }
        return next - line + 1;
      };
      walk(v, '', 1);
      return out;
    };
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('a', 'b-1', '0', '["x"]', 'a.b', 'q"]', '\\', 'x'.repeat(70), 'x'.repeat(71)));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.constantFrom(null, 1, 'x'), fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
    }));
    fc.assert(
      fc.property(value, fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }), (v, junk) => {
        const { lines } = readJson(JSON.stringify(v, null, 2));
        const want = expected(v);
        for (const [p, l] of want) expect(lines.get(p), p).toBe(l);
        const near = [...want.keys()].flatMap((p) => [p + '.', p + '[', p + '[0', p.slice(0, -1), '.' + p, p + '["a"', p + '[01]']);
        for (const p of [...near, ...junk]) if (!want.has(p)) expect(lines.get(p), p).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('stays fast on long field paths of one length: 4,000 elements under 63 keys of 2,000 characters', { timeout: 20_000 }, () => {
    // Once kept in a Map keyed by whole paths: V8 hashes a string over 16,383 characters by its
    // length only, so these 4,000 paths of 126,000 characters shared one hash bucket (~100 s).
    const keys = Array.from({ length: 63 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(2000));
    const text = keys.map((k) => `{"${k}":`).join('') + '[' + '0,'.repeat(3999) + '0]' + '}'.repeat(63);
    const r = readJson(text);
    expect(r.issues).toEqual([]);
    const deep = keys.join('.');
    expect(r.lines.get(indexPath(deep, 3999))).toBe(1);
    expect(r.lines.get(indexPath(deep, 4000))).toBeUndefined();
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
