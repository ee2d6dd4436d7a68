// Human rendering of a command result: one "key: value" line per field (nested values as JSON).
// With --json the CLI prints the same object as one JSON line instead (jsonLine).
// Values come from files others wrote (the name in an enrollment request, a domain's state), so
// every string is shown printable (lib/terminal-text.ts): a name holding ESC ]0;… BEL or ESC [2J
// retitled and cleared the admin's terminal at `pantheon enroll`.

import { printable } from '../lib/terminal-text.js';

export function renderHuman(title: string, result: Record<string, unknown>): string {
  const lines = [printable(title)];
  const width = Math.max(0, ...Object.keys(result).map((k) => k.length)) + 2;
  for (const [k, v] of Object.entries(result)) {
    if (Array.isArray(v) && v.length === 0) continue; // "warnings:" with nothing after it says nothing
    const shown = typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(' ') : JSON.stringify(v);
    lines.push(`  ${printable(`${k}:`.padEnd(width))}${printable(shown)}`);
  }
  return lines.join('\n') + '\n';
}
