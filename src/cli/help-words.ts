// `uzpgw help WORDS…` names a command: its word and, for a group, a subcommand's. A word past
// those (`uzpgw help keygen extra`) was dropped and keygen's help printed, as if it had been
// understood; it is a usage error instead, saying what to run.

import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { parseOptions } from './flags.js';

/** The first word of `after` (what followed `help COMMAND`) that names no command; undefined when none. */
export function extraHelpWord(command: Command, after: readonly string[]): { readonly word: string; readonly path: string } | undefined {
  // A group's own word picks its subcommand; one it does not know is its own usage error (dispatch.ts).
  const leaf = command.kind === 'group' ? command.select(after) : command;
  if (leaf === undefined) return undefined;
  const named = command.kind === 'group' && leaf.name !== command.name ? 1 : 0;
  // A group's default command, picked for want of a subcommand word, does not have its subcommands'
  // flags: `help collector --since v1` would read v1 as a word. Those flags take their values too.
  const flags = command.kind === 'group' && named === 0 ? Object.assign({}, ...command.subcommands.map((c) => c.flags), leaf.flags) : leaf.flags;
  const { tokens } = parseArgs({ args: [...after], options: parseOptions(flags), strict: false, allowPositionals: true, tokens: true });
  const words = tokens.filter((t) => t.kind === 'positional').map((t) => t.value);
  return words.length > named ? { word: words[named]!, path: leaf.name } : undefined;
}
