// The validator's cursor over a parsed JSON value. Each reader checks one field and returns a
// typed value; on a problem it records an issue (file, path, expected, found, fix) and returns a
// placeholder of the right type so validation carries on and collects every problem. A result
// built from placeholders is never handed out: the loaders return a config only when the log has
// no errors. Below a field that already failed, nodes are "dead" and report nothing more.

import { childPath, indexPath } from '../lib/json-path.js';
import type { IssueLog } from './issues.js';
import { didYouMean, suggest } from './suggest.js';

type State = 'present' | 'missing' | 'dead';

/** How a found value is shown in a message: short, typed, never the whole document. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 48 ? v.slice(0, 48) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

interface TextRule {
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  /** What a valid value looks like, e.g. "a slot id such as rs485-1". */
  readonly what?: string;
  /** Fix advice when the pattern does not match. */
  readonly fix?: string;
}

export class Node {
  constructor(
    readonly log: IssueLog,
    readonly path: string,
    readonly value: unknown,
    private readonly state: State = 'present',
  ) {}

  static root(log: IssueLog, value: unknown): Node {
    return new Node(log, '', value, value === undefined ? 'dead' : 'present');
  }

  get present(): boolean {
    return this.state === 'present';
  }

  /** Records a problem with this field and marks nothing else; returns `placeholder`. */
  bad<T>(expected: string, fix: string, placeholder: T): T {
    if (this.state === 'dead') return placeholder;
    this.log.add(this.path, { expected, found: describe(this.value), fix });
    return placeholder;
  }

  private missingFix(expected: string): string {
    const key = this.path.slice(this.path.lastIndexOf('.') + 1);
    return `add ${JSON.stringify(key)} with ${expected}`;
  }

  /** False (and reported) when the field is missing, dead or not of the JS type `type`. */
  private is(type: 'string' | 'number' | 'boolean', expected: string): boolean {
    if (this.state === 'dead') return false;
    if (this.state === 'missing') return this.bad(expected, this.missingFix(expected), false);
    if (typeof this.value !== type) return this.bad(expected, `write ${expected}${type === 'number' ? ' (a JSON number, without quotes)' : ''}`, false);
    return true;
  }

  text(rule: TextRule = {}): string {
    const min = rule.min ?? 1;
    const max = rule.max ?? 256;
    const what = rule.what ?? `a text of ${min}..${max} characters`;
    if (!this.is('string', what)) return '';
    const s = this.value as string;
    if (s.length < min || s.length > max) return this.bad(what, `use ${min}..${max} characters`, '');
    if (rule.pattern !== undefined && !rule.pattern.test(s)) return this.bad(what, rule.fix ?? `write ${what}`, '');
    return s;
  }

  int(min: number, max: number, what = `a whole number ${min}..${max}`): number {
    if (!this.is('number', what)) return min;
    const n = this.value as number;
    if (!Number.isInteger(n)) return this.bad(what, `use a whole number${Number.isFinite(n) ? `, e.g. ${Math.round(n)}` : ''}`, min);
    if (n < min || n > max) return this.bad(what, `use a value from ${min} to ${max}`, min);
    return n;
  }

  num(min: number, max: number, what = `a number ${min}..${max}`): number {
    if (!this.is('number', what)) return min;
    const n = this.value as number;
    if (!(n >= min && n <= max)) return this.bad(what, `use a value from ${min} to ${max}`, min);
    return n;
  }

  bool(): boolean {
    return this.is('boolean', 'true or false') ? (this.value as boolean) : false;
  }

  /** One of the listed strings; the message suggests the closest one. */
  choice<T extends string>(values: readonly T[], why = ''): T {
    const expected = `one of ${values.join('|')}${why}`;
    if (!this.is('string', expected)) return values[0]!;
    const s = this.value as string;
    if ((values as readonly string[]).includes(s)) return s as T;
    const hint = didYouMean(s, values);
    return this.bad(expected, hint || `use one of ${values.join(', ')}`, values[0]!);
  }

  /** One of the listed numbers (bauds, data bits...). */
  intChoice<T extends number>(values: readonly T[], why = ''): T {
    const expected = `one of ${values.join('|')}${why}`;
    if (!this.is('number', expected)) return values[0]!;
    const n = this.value as number;
    if ((values as readonly number[]).includes(n)) return n as T;
    const hint = didYouMean(String(n), values.map(String), 1);
    return this.bad(expected, hint || `use one of ${values.join(', ')}`, values[0]!);
  }

  /** The elements of an array of `min..max` entries (none when the field is bad). */
  list(min: number, max: number, what = 'entries'): Node[] {
    const expected = `an array of ${min === max ? min : `${min}..${max}`} ${what}`;
    if (this.state === 'dead') return [];
    if (this.state === 'missing') return this.bad(expected, this.missingFix(expected), []);
    if (!Array.isArray(this.value)) return this.bad(expected, `write a JSON array: [ ... ]`, []);
    const a = this.value as unknown[];
    if (a.length < min || a.length > max) return this.bad(expected, a.length < min ? `add at least ${min} ${what}` : `keep at most ${max} ${what}`, []);
    return a.map((v, i) => new Node(this.log, indexPath(this.path, i), v));
  }

  /**
   * A JSON object with a closed set of keys: unknown keys are errors (a typo such as "baud_rate"
   * would otherwise be ignored silently), with the closest known key suggested.
   */
  obj(keys: readonly string[], what = 'an object'): Obj {
    if (this.state === 'dead') return new Obj(this, {}, true);
    if (this.state === 'missing') return this.bad(what, this.missingFix(what), new Obj(this, {}, true));
    if (this.value === null || typeof this.value !== 'object' || Array.isArray(this.value)) {
      return this.bad(what, 'write a JSON object: { ... }', new Obj(this, {}, true));
    }
    const o = this.value as Record<string, unknown>;
    // A typo'd key is one mistake: when its closest known key is absent, the "missing" error for
    // that key would only repeat it, so the unknown-key message (which names it) stands alone.
    const suggested = new Set<string>();
    for (const k of Object.keys(o)) {
      if (keys.includes(k)) continue;
      const best = suggest(k, keys, 1)[0];
      if (best !== undefined && !Object.prototype.hasOwnProperty.call(o, best)) suggested.add(best);
      const hint = didYouMean(k, keys);
      this.log.add(childPath(this.path, k), {
        expected: `one of the keys ${keys.join('|')}`,
        found: `the unknown key ${describe(k)}`,
        fix: hint ? `${hint} (unknown keys are refused so that typos are not ignored)` : 'remove it (unknown keys are refused so that typos are not ignored)',
      });
    }
    return new Obj(this, o, false, suggested);
  }

  /**
   * An object used as a map (`slots`, `device_profiles`): every key must match `key.pattern`.
   * Returns [key, node] pairs in file order; bad keys are reported and skipped.
   */
  entries(key: TextRule & { readonly what: string }, max: number, what: string): [string, Node][] {
    const expected = `an object mapping ${key.what} to ${what}`;
    if (this.state === 'dead') return [];
    if (this.state === 'missing') return this.bad(expected, this.missingFix(expected), []);
    if (this.value === null || typeof this.value !== 'object' || Array.isArray(this.value)) {
      return this.bad(expected, 'write a JSON object: { "id": { ... } }', []);
    }
    const all = Object.entries(this.value as Record<string, unknown>);
    if (all.length > max) return this.bad(`${expected} (at most ${max})`, `keep at most ${max} entries`, []);
    const out: [string, Node][] = [];
    for (const [k, v] of all) {
      const p = childPath(this.path, k);
      if (k.length === 0 || k.length > (key.max ?? 64) || (key.pattern !== undefined && !key.pattern.test(k))) {
        this.log.add(p, { expected: key.what, found: `the key ${describe(k)}`, fix: key.fix ?? `rename it to ${key.what}` });
        continue;
      }
      out.push([k, new Node(this.log, p, v)]);
    }
    return out;
  }
}

export class Obj {
  constructor(
    readonly node: Node,
    private readonly o: Record<string, unknown>,
    readonly dead: boolean,
    /** Absent keys an unknown key was taken for (already reported there). */
    private readonly reportedAsTypo: ReadonlySet<string> = new Set(),
  ) {}

  get path(): string {
    return this.node.path;
  }

  has(key: string): boolean {
    return !this.dead && Object.prototype.hasOwnProperty.call(this.o, key);
  }

  /** A required field: readers on it report "missing" when it is absent. */
  req(key: string): Node {
    const p = childPath(this.node.path, key);
    if (this.dead) return new Node(this.node.log, p, undefined, 'dead');
    if (this.has(key)) return new Node(this.node.log, p, this.o[key]);
    if (!this.reportedAsTypo.has(key)) return new Node(this.node.log, p, undefined, 'missing');
    this.node.log.reportedElsewhere(p);
    return new Node(this.node.log, p, undefined, 'dead');
  }

  /** An optional field: `read` runs only when it is present; otherwise the result is undefined. */
  opt<T>(key: string, read: (n: Node) => T): T | undefined {
    return this.has(key) ? read(this.req(key)) : undefined;
  }

  /**
   * Reports `key` when present although it does not apply (e.g. word_order on a 16-bit value);
   * `why` says when it applies.
   */
  notApplicable(key: string, why: string): void {
    if (!this.has(key)) return;
    this.node.log.add(childPath(this.node.path, key), { expected: `no ${JSON.stringify(key)} here (${why})`, found: describe(this.o[key]), fix: `remove ${JSON.stringify(key)}` });
  }
}
