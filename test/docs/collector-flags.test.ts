// docs/COLLECTOR.md's flag tables list every flag `uzpgw collector --help` and `uzpgw collector query
// --help` list, and no other: the table of `collector` lacked --ui and the --ui-tls-* and
// --ui-token-file flags its --help showed. Taken from the definitions (src/cli/collector.ts), so a
// flag added to the command without a row fails here. And `collector query --json` is described
// alike in both (its help said `{…, value}` only).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { command } from '../../src/cli/collector.js';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/COLLECTOR.md', import.meta.url)), 'utf8');

/** The flags in the first column of the first `| flag | meaning |` table after `heading`. */
function tableFlags(heading: string): string[] {
  const from = DOC.indexOf(`\n${heading}\n`);
  expect(from, heading).toBeGreaterThan(0);
  const rest = DOC.slice(from).split('\n');
  const start = rest.findIndex((l) => l.startsWith('| flag |'));
  const rows = [];
  for (let i = start + 2; i < rest.length && rest[i]!.startsWith('|'); i++) rows.push(rest[i]!);
  return rows.flatMap((r) => [...r.split(' | ')[0]!.matchAll(/`--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!)).sort();
}

describe('docs/COLLECTOR.md flag tables', () => {
  it('`collector`: every flag of its --help (--json aside: it only changes --show-cid)', () => {
    expect(tableFlags('## Running it')).toEqual(Object.keys(command.default!.flags).sort());
  });

  it('`collector query`: every flag of its --help, --json too', () => {
    const query = command.subcommands.find((s) => s.name === 'collector query')!;
    expect(tableFlags('## Reading what it stored')).toEqual([...Object.keys(query.flags), 'json'].sort());
  });

  // Both as printReadings prints (readingValueField): `value`, or `value_hex` for a byte string.
  it('`collector query --json`: the help and the table both name value_hex', () => {
    const query = command.subcommands.find((s) => s.name === 'collector query')!;
    expect(query.json).toMatch(/value_hex .*instead of value/);
    expect(DOC).toMatch(/\| `--json` \| .*`value_hex` instead of `value`/);
  });
});
