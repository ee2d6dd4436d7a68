// `--help` text, generated from a command definition: the usage line(s), the description, and every
// flag with its placeholder, description, range, choices and default; `--json` says what it prints.

import { JSON_FLAG, type FlagDef, type Flags } from './flags.js';

/** Usage lines longer than this wrap, continuing under the command name. */
const USAGE_WIDTH = 100;
const USAGE_PREFIX = 'usage: ';

function required(d: FlagDef): boolean {
  return (d.type === 'string' || d.type === 'list') && d.required === true;
}

/** `uzpgw NAME ARGS --required X --list X... [--optional X] [--list X]... [--switch] [--json]`, as pieces. */
function usagePieces(name: string, flags: Flags, positionals: readonly string[]): string[] {
  const out = [`uzpgw ${name}`, ...positionals];
  const entries = Object.entries(flags);
  for (const [n, d] of entries) if (required(d) && d.type !== 'boolean') out.push(`--${n} ${d.placeholder}${d.type === 'list' ? '...' : ''}`);
  for (const [n, d] of entries) {
    if (required(d)) continue;
    if (d.type === 'boolean') out.push(`[--${n}]`);
    else out.push(`[--${n} ${d.placeholder}]${d.type === 'list' ? '...' : ''}`);
  }
  out.push(`[--${JSON_FLAG}]`);
  return out;
}

/** One usage form, wrapped at USAGE_WIDTH with continuation lines indented past the command. */
export function usageLines(name: string, flags: Flags, positionals: readonly string[]): string[] {
  const [head, ...rest] = usagePieces(name, flags, positionals);
  const indent = ' '.repeat(head!.length + 1);
  const lines = [head!];
  for (const p of rest) {
    const last = lines[lines.length - 1]!;
    if (USAGE_PREFIX.length + last.length + 1 + p.length > USAGE_WIDTH) lines.push(indent + p);
    else lines[lines.length - 1] = `${last} ${p}`;
  }
  return lines;
}

/** The description with range, choices, repeatability and default appended (inside its own closing parenthesis, if any). */
function describe(d: FlagDef): string {
  const notes: string[] = [];
  if (d.type === 'string' && d.choices !== undefined) notes.push(d.choices.join('|'));
  if (d.type === 'int' && d.max !== undefined) notes.push(`${d.min ?? 0}..${d.max}`);
  else if (d.type === 'int' && d.min !== undefined) notes.push(`at least ${d.min}`);
  if (d.type === 'list') notes.push('repeatable');
  if ((d.type === 'string' || d.type === 'int') && d.default !== undefined) notes.push(`default ${d.default}`);
  if (notes.length === 0) return d.describe;
  return d.describe.endsWith(')') ? `${d.describe.slice(0, -1)}; ${notes.join('; ')})` : `${d.describe} (${notes.join('; ')})`;
}

/** The `options:` section: every flag, then --json (with what it prints) and --help. */
export function optionsSection(flags: Flags, json: string): string[] {
  const rows: [string, string][] = Object.entries(flags).map(([n, d]) => [`--${n}${d.type === 'boolean' ? '' : ' ' + d.placeholder}`, describe(d)]);
  rows.push([`--${JSON_FLAG}`, json], ['--help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 4;
  return ['options:', ...rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`)];
}

/** Joins usage forms under one `usage:` label. */
function usageBlock(forms: readonly (readonly string[])[]): string[] {
  const lines = forms.flat();
  return lines.map((l, i) => (i === 0 ? USAGE_PREFIX : ' '.repeat(USAGE_PREFIX.length)) + l);
}

interface HelpParts {
  readonly usage: readonly (readonly string[])[];
  readonly description: string;
  readonly flags?: { readonly flags: Flags; readonly json: string };
  readonly subcommands?: { readonly label: string; readonly list: readonly { readonly word: string; readonly summary: string }[]; readonly footer: string };
}

export function renderHelp(h: HelpParts): string {
  const lines = [...usageBlock(h.usage), '', h.description];
  if (h.flags !== undefined) lines.push('', ...optionsSection(h.flags.flags, h.flags.json));
  if (h.subcommands !== undefined) {
    const s = h.subcommands;
    const width = Math.max(...s.list.map((c) => c.word.length)) + 2;
    lines.push('', `${s.label}:`, ...s.list.map((c) => `  ${c.word.padEnd(width)}${c.summary}`), '', s.footer);
  }
  return lines.join('\n') + '\n';
}
