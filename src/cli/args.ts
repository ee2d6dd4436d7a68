import { CommonCode, LocalError } from '../lib/errors.js';
// Tiny strict argument parser shared by every command: unknown flags, missing values and bad
// numbers are usage errors with a clear message, never silently ignored.


export interface FlagSpec {
  /** 'string' takes a value, 'boolean' does not, 'list' may repeat. */
  readonly type: 'string' | 'boolean' | 'list';
  readonly describe: string;
  readonly placeholder?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface Parsed {
  readonly flags: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export function usageError(message: string): LocalError {
  return new LocalError(CommonCode.USAGE, message);
}

export function parseArgs(argv: readonly string[], specs: FlagSpecs): Parsed {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) throw usageError(`unknown option --${name} (see --help)`);
    if (spec.type === 'boolean') {
      if (eq !== -1) throw usageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = a.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw usageError(`--${name} needs a value${spec.placeholder ? ` (${spec.placeholder})` : ''}`);
      i++;
    }
    if (spec.type === 'list') {
      const prev = flags[name];
      flags[name] = Array.isArray(prev) ? [...prev, value] : [value];
    } else {
      if (flags[name] !== undefined) throw usageError(`--${name} given twice`);
      flags[name] = value;
    }
  }
  return { flags, positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireStr(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === '') throw usageError(`--${name} is required`);
  return v;
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

/** Parses a non-negative integer flag with bounds; the message names the flag and the range. */
export function int(p: Parsed, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = str(p, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v)) throw usageError(`--${name}: expected a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw usageError(`--${name}: expected ${min}..${max}, got ${n}`);
  return n;
}

/** Renders a help text from a usage line, a description and the flag specs. */
export function helpText(usage: string, description: string, specs: FlagSpecs): string {
  const lines = [`usage: ${usage}`, '', description, ''];
  const entries = Object.entries(specs);
  if (entries.length > 0) {
    lines.push('options:');
    const width = Math.max(...entries.map(([n, s]) => n.length + (s.placeholder ? s.placeholder.length + 1 : 0))) + 4;
    for (const [n, s] of entries) {
      const left = `--${n}${s.placeholder ? ' ' + s.placeholder : ''}`;
      lines.push(`  ${left.padEnd(width)}${s.describe}`);
    }
    lines.push(`  ${'--help'.padEnd(width)}show this help`);
  }
  return lines.join('\n') + '\n';
}
