// The one strict JSON reader (RFC 8259) for every JSON file the project reads: gateway config,
// board profiles, key files, trust anchors, enrollment requests, state files. JSON.parse would do,
// except that it silently keeps the last of two equal keys (RFC 8259 §4 leaves duplicates to the
// implementation) — two "rs485-1" slots would quietly become one, and a key file with two "seed"
// fields means whatever the last one says, a classic confusion attack — and it reports syntax
// errors by character offset. This reader refuses duplicate keys, gives every field a line number
// for the error messages, bounds nesting, and never throws: problems come back as issues. Pure (no
// file I/O): callers read the file with their own size cap and decide how to raise the issues.

import { LineTree, type JsonLines, type LineNode } from './json-lines.js';
import { indexSegment, joinSegment, keySegment } from './json-path.js';

export const MAX_JSON_DEPTH = 64;

/** One problem in the text: where it is, what was expected and found, and how to fix it. */
export interface JsonIssue {
  /** Field path (lib/json-path.ts); '' is the top level. */
  readonly path: string;
  /** 1-based line of the problem. */
  readonly line?: number;
  readonly expected: string;
  readonly found: string;
  readonly fix: string;
}

interface JsonSource {
  /** The parsed value, or undefined after a syntax error. */
  readonly value: unknown;
  /** Line (1-based) of each field path: the line of its key, or of the value for array elements. */
  readonly lines: JsonLines;
  /** A syntax error (then `value` is undefined) or duplicate keys; any issue means `value` must not be used. */
  readonly issues: readonly JsonIssue[];
}

class Syntax extends Error {}

export function readJson(text: string): JsonSource {
  const lines = new LineTree();
  const issues: JsonIssue[] = [];
  let pos = 0;
  let line = 1;

  const fail = (what: string): never => {
    const col = pos - text.lastIndexOf('\n', pos - 1);
    const ch = pos < text.length ? `${JSON.stringify(text[pos])}` : 'the end of the file';
    throw new Syntax(`${what} at line ${line} column ${col} (found ${ch})`);
  };
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x0a) line++;
      else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return;
      pos++;
    }
  };
  const expect = (ch: string): void => {
    if (text[pos] !== ch) fail(`expected ${JSON.stringify(ch)}`);
    pos++;
  };

  const str = (): string => {
    expect('"');
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text.charCodeAt(pos);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in a string (escape it, e.g. \\n)');
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && simple[e] !== undefined) {
        out += simple[e];
        pos += 2;
      } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
        out += String.fromCharCode(parseInt(text.slice(pos + 2, pos + 6), 16));
        pos += 6;
      } else {
        pos++;
        fail('invalid escape in a string');
      }
      start = pos;
    }
    out += text.slice(start, pos);
    pos++;
    return out;
  };

  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const num = (): number => {
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return fail('expected a value');
    pos += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) fail('number out of range');
    return n;
  };

  // `path` is only for issues; `at` is the same field in the line tree.
  const value = (path: string, at: LineNode, depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    ws();
    at.line ??= line;
    const c = text[pos];
    if (c === '{') return object(path, at, depth);
    if (c === '[') return array(path, at, depth);
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    return num();
  };

  const object = (path: string, at: LineNode, depth: number): Record<string, unknown> => {
    pos++;
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    ws();
    if (text[pos] === '}') {
      pos++;
      return out;
    }
    for (;;) {
      ws();
      const keyLine = line;
      const key = str();
      const segment = keySegment(key);
      const p = joinSegment(path, segment);
      const field = at.child(segment);
      const first = seen.get(key);
      if (first !== undefined) {
        issues.push({
          path: p,
          line: keyLine,
          expected: 'each key once per object',
          found: `${JSON.stringify(key.slice(0, 64))} again (first at line ${first})`,
          fix: 'remove or rename one of them: a JSON reader would silently keep only the last one',
        });
      } else seen.set(key, keyLine);
      field.line = keyLine;
      ws();
      expect(':');
      // defineProperty: a key named "__proto__" must become a plain (unknown) key, not a prototype.
      Object.defineProperty(out, key, { value: value(p, field, depth + 1), enumerable: true, writable: true, configurable: true });
      ws();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      expect('}');
      return out;
    }
  };

  const array = (path: string, at: LineNode, depth: number): unknown[] => {
    pos++;
    const out: unknown[] = [];
    ws();
    if (text[pos] === ']') {
      pos++;
      return out;
    }
    for (;;) {
      const segment = indexSegment(out.length);
      out.push(value(joinSegment(path, segment), at.child(segment), depth + 1));
      ws();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      expect(']');
      return out;
    }
  };

  try {
    // A UTF-8 byte order mark is tolerated (some Windows editors write one).
    if (text.charCodeAt(0) === 0xfeff) pos = 1;
    const v = value('', lines.root, 0);
    ws();
    if (pos < text.length) fail('unexpected text after the JSON value');
    return { value: v, lines, issues };
  } catch (e) {
    if (!(e instanceof Syntax)) throw e;
    issues.push({ path: '', line, expected: 'valid JSON', found: e.message, fix: 'correct the JSON syntax there (no comments, no trailing commas, keys in double quotes)' });
    return { value: undefined, lines, issues };
  }
}
