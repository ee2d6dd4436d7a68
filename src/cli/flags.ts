// Flag definitions and the strict parse every command shares, on node:util parseArgs. Unknown
// options, missing or ambiguous values, values on booleans, a single-valued flag given twice, bad
// numbers, values outside their choices, missing required flags and wrong positional counts are all
// usage errors (CommonCode.USAGE, exit 2) with a one-line message naming the flag. The rule every
// command follows (README, "Exit status"): a value the command can never accept, whatever the files
// and the network say, is a usage error, checked before any file is read (or a missing file hides it
// behind exit 1); exit 1 is for refusals and failures.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CommonCode, LocalError } from '../lib/errors.js';
import { parseCid } from '../uzp/identity/cid.js';

interface Described {
  readonly describe: string;
}

/** A switch: present or not. */
interface BooleanFlag extends Described {
  readonly type: 'boolean';
}

/** One value; `required` flags must be given (and not empty). */
interface StringFlag extends Described {
  readonly type: 'string';
  readonly placeholder: string;
  readonly required?: boolean;
  readonly default?: string;
  /** The only accepted values. */
  readonly choices?: readonly string[];
}

/** May repeat; the values in the order given. `required`: at least one. */
interface ListFlag extends Described {
  readonly type: 'list';
  readonly placeholder: string;
  readonly required?: boolean;
}

/** A whole number (digits only) within min..max. */
interface IntFlag extends Described {
  readonly type: 'int';
  readonly placeholder: string;
  /** Default 0. */
  readonly min?: number;
  /** Default Number.MAX_SAFE_INTEGER (and then not shown in --help). */
  readonly max?: number;
  readonly default?: number;
}

export type FlagDef = BooleanFlag | StringFlag | ListFlag | IntFlag;
export type Flags = Readonly<Record<string, FlagDef>>;

/** A string flag's value type: the union of its choices when it has them. */
type StringValue<D> = D extends { readonly choices: readonly (infer C extends string)[] } ? C : string;

type ValueOf<D extends FlagDef> = D extends BooleanFlag
  ? boolean
  : D extends ListFlag
    ? string[]
    : D extends { readonly default: number | string }
      ? D extends IntFlag
        ? number
        : StringValue<D>
      : D extends IntFlag
        ? number | undefined
        : D extends { readonly required: true }
          ? StringValue<D>
          : StringValue<D> | undefined;

/** The parsed values of a flag set, typed from its definition. */
export type FlagValues<F extends Flags> = { readonly [K in keyof F]: ValueOf<F[K]> };

export interface Parsed<F extends Flags> {
  /** Every defined flag, plus the `--json` every command takes. */
  readonly flags: FlagValues<F> & { readonly json: boolean };
  /** Exactly the positionals the command declares, in order. */
  readonly args: readonly string[];
}

/** The flag every command takes (the helper adds it; commands only say what it prints). */
export const JSON_FLAG = 'json';

export function usageError(message: string): LocalError {
  return new LocalError(CommonCode.USAGE, message);
}

/** A CID flag's bytes; anything else is a usage error (exit 2) naming the flag, not a decoding error. */
export function cidFlag(value: string, flag: string): Uint8Array {
  try {
    return parseCid(value);
  } catch {
    throw usageError(`--${flag}: expected a CID (64 lowercase hex characters), got ${JSON.stringify(value.slice(0, 20))}`);
  }
}

/** `--help` or `-h` before any `--`: help wins over every other check, as it always has. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export type ParseOptions = NonNullable<ParseArgsConfig['options']>;
type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/** The parseArgs option table of a flag set: 'list' repeats, 'int' is a string checked afterwards. */
export function parseOptions(flags: Flags): ParseOptions {
  const out: ParseOptions = { [JSON_FLAG]: { type: 'boolean' } };
  for (const [name, d] of Object.entries(flags)) out[name] = d.type === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: d.type === 'list' };
  return out;
}

/** Strict parseArgs; its errors (multi-line, generic) are re-worded from the offending token. */
export function strictTokens(argv: readonly string[], options: ParseOptions, see: string): { values: Record<string, unknown>; tokens: Token[] } {
  try {
    const r = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true });
    return { values: r.values, tokens: r.tokens };
  } catch (e) {
    throw usageError(diagnose(argv, options, see) ?? `${String((e as Error).message).split('\n')[0]} (${see})`);
  }
}

/** The first token strict parsing refuses, described in one line; undefined when none is found. */
function diagnose(argv: readonly string[], options: ParseOptions, see: string): string | undefined {
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const o = options[t.name];
    if (o === undefined) return `unknown option ${t.rawName} (${see})`;
    if (o.type === 'boolean' && t.value !== undefined) return `${t.rawName} takes no value`;
    // parseArgs takes a following `-x` as a value only when written --flag=-x.
    if (o.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.length > 1 && t.value.startsWith('-')))) return `${t.rawName} needs a value`;
  }
  return undefined;
}

function intValue(name: string, v: string, d: IntFlag): number {
  const min = d.min ?? 0;
  const max = d.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(v)) throw usageError(`--${name}: expected a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw usageError(`--${name}: expected ${min}..${max}, got ${n}`);
  return n;
}

/**
 * Parses argv against a flag set and the declared positionals. `see` ends the unknown-option
 * message (e.g. "see `uzpgw rn --help`").
 */
export function parseFlags<F extends Flags>(argv: readonly string[], flags: F, positionals: readonly string[], see: string): Parsed<F> {
  const { values, tokens } = strictTokens(argv, parseOptions(flags), see);
  const seen = new Set<string>();
  const args: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') args.push(t.value);
    if (t.kind !== 'option' || t.name === JSON_FLAG) continue;
    const d = flags[t.name]!;
    if ((d.type === 'string' || d.type === 'int') && seen.has(t.name)) throw usageError(`--${t.name} given twice`);
    seen.add(t.name);
  }
  if (args.length > positionals.length) throw usageError(`unexpected argument ${JSON.stringify(args[positionals.length])} (${see})`);
  if (args.length < positionals.length) throw usageError(`missing ${positionals.slice(args.length).join(' ')} (${see})`);

  const out: Record<string, unknown> = { [JSON_FLAG]: values[JSON_FLAG] === true };
  for (const [name, d] of Object.entries(flags)) {
    const v = values[name];
    switch (d.type) {
      case 'boolean':
        out[name] = v === true;
        break;
      case 'list':
        if (d.required === true && !Array.isArray(v)) throw usageError(`--${name} is required`);
        out[name] = Array.isArray(v) ? v : [];
        break;
      case 'int':
        out[name] = typeof v === 'string' ? intValue(name, v, d) : d.default;
        break;
      case 'string':
        if (typeof v === 'string' && d.choices !== undefined && !d.choices.includes(v)) throw usageError(`--${name}: expected one of ${d.choices.join('|')}, got ${JSON.stringify(v)}`);
        if (d.required === true && (v === undefined || v === '')) throw usageError(`--${name} is required`);
        out[name] = typeof v === 'string' ? v : d.default;
        break;
    }
  }
  return { flags: out as Parsed<F>['flags'], args };
}
