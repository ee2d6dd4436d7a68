// Human rendering of a command result: one "key: value" line per field (nested values as JSON).
// With --json the CLI prints the same object as one JSON line instead.

export function renderHuman(title: string, result: Record<string, unknown>): string {
  const lines = [title];
  const width = Math.max(0, ...Object.keys(result).map((k) => k.length)) + 2;
  for (const [k, v] of Object.entries(result)) {
    if (Array.isArray(v) && v.length === 0) continue; // "warnings:" with nothing after it says nothing
    const shown = typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(' ') : JSON.stringify(v);
    lines.push(`  ${(k + ':').padEnd(width)}${shown}`);
  }
  return lines.join('\n') + '\n';
}
