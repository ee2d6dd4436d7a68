// The command-definition helper: a command is data (name, summary, description, flags, positionals,
// what --json prints) plus a run function over typed, validated values. --help, --json and every
// usage error come from here, so all commands behave alike (docs/ARCHITECTURE.md §Where each
// concept lives).

import { parseArgs } from 'node:util';
import type { CommandIo, GroupCommand, LeafCommand } from './command.js';
import { JSON_FLAG, parseFlags, parseOptions, strictTokens, usageError, wantsHelp, type Flags, type ParseOptions, type Parsed } from './flags.js';
import { renderHelp, usageLines } from './help.js';

interface CommandDef<F extends Flags> {
  /** The words after `uzpgw`, e.g. "pantheon grant". */
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly flags: F;
  /** Positional placeholders, all required, e.g. ['FILE']. */
  readonly args?: readonly string[];
  /** What `--json` prints, for --help: every command takes it. */
  readonly json: string;
  readonly hidden?: boolean;
  run(p: Parsed<F>, io: CommandIo): Promise<number> | number;
}

function see(name: string): string {
  return `see \`uzpgw ${name} --help\``;
}

export function defineCommand<const F extends Flags>(def: CommandDef<F>): LeafCommand {
  if (Object.hasOwn(def.flags, JSON_FLAG) || Object.hasOwn(def.flags, 'help')) throw new Error(`${def.name}: --json and --help are added by defineCommand`);
  const args = def.args ?? [];
  const usage = [usageLines(def.name, def.flags, args)];
  const help = (): string => renderHelp({ usage, description: def.description, flags: { flags: def.flags, json: def.json } });
  const parse = (argv: readonly string[]): Parsed<F> => parseFlags(argv, def.flags, args, see(def.name));
  return {
    kind: 'command',
    name: def.name,
    summary: def.summary,
    hidden: def.hidden ?? false,
    usage,
    flags: def.flags,
    args,
    json: def.json,
    help,
    parse: parse as (argv: readonly string[]) => Parsed<Flags>,
    async run(argv, io) {
      if (wantsHelp(argv)) {
        io.stdout.write(help());
        return 0;
      }
      return def.run(parse(argv), io);
    },
  };
}

interface GroupDef {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  /** What the selecting word is called in help and errors (default "subcommand"). */
  readonly label?: string;
  /** Runs when no subcommand word is given (its name is the group's). */
  readonly default?: LeafCommand;
  readonly subcommands: readonly LeafCommand[];
}

/** The parseArgs options of every member at once; one flag name has one parse type throughout. */
function unionOptions(name: string, members: readonly LeafCommand[]): ParseOptions {
  const out: ParseOptions = {};
  for (const m of members) {
    for (const [flag, o] of Object.entries(parseOptions(m.flags))) {
      const prev = out[flag];
      if (prev !== undefined && (prev.type !== o.type || prev.multiple !== o.multiple)) throw new Error(`${name}: --${flag} has different types in its subcommands`);
      out[flag] = o;
    }
  }
  return out;
}

/**
 * A command whose first positional picks a subcommand (`pantheon grant …`, `attest verify …`,
 * `connect … tail`): the word may stand anywhere among the flags, it is removed and the rest goes
 * to the subcommand, which parses it strictly against its own flags.
 */
export function defineGroup(def: GroupDef): GroupCommand {
  const label = def.label ?? 'subcommand';
  const wordOf = (s: LeafCommand): string => s.name.slice(def.name.length + 1);
  const byWord = new Map<string, LeafCommand>();
  for (const s of def.subcommands) {
    if (!s.name.startsWith(`${def.name} `) || wordOf(s).includes(' ')) throw new Error(`${s.name} is not a subcommand of ${def.name}`);
    byWord.set(wordOf(s), s);
  }
  const members = def.default !== undefined ? [def.default, ...def.subcommands] : def.subcommands;
  const options = unionOptions(def.name, members);
  const visible = def.subcommands.filter((s) => !s.hidden);
  const usage = [...(def.default?.usage ?? []), ...visible.flatMap((s) => s.usage)];
  /** The subcommand argv names by its word (the first positional), and that word's token. */
  const pick = (argv: readonly string[]): { sub: LeafCommand | undefined; first: { value: string; index: number } | undefined } => {
    // The word is looked for leniently (unknown flags pass as switches here); the subcommand then
    // parses strictly, so its errors and its --help name it.
    const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
    const first = tokens.find((t) => t.kind === 'positional');
    return { sub: first !== undefined ? byWord.get(first.value) : undefined, first };
  };
  /** The default runs when no word is given, or when it takes positionals of its own. */
  const runsDefault = (first: unknown): boolean => def.default !== undefined && (first === undefined || def.default.args.length > 0);
  const help = (): string =>
    renderHelp({
      usage,
      description: def.description,
      ...(def.default !== undefined ? { flags: { flags: def.default.flags, json: def.default.json } } : {}),
      ...(visible.length > 0
        ? {
            subcommands: {
              label: `${label}s`,
              list: visible.map((s) => ({ word: wordOf(s), summary: s.summary })),
              footer: `Run \`uzpgw ${def.name} <${label}> --help\` for the options of one.`,
            },
          }
        : {}),
    });
  return {
    kind: 'group',
    name: def.name,
    summary: def.summary,
    hidden: false,
    usage,
    default: def.default,
    subcommands: def.subcommands,
    help,
    select(argv) {
      const { sub, first } = pick(argv);
      if (sub !== undefined) return sub;
      return !wantsHelp(argv) && runsDefault(first) ? def.default : undefined;
    },
    async run(argv, io) {
      const { sub, first } = pick(argv);
      if (sub !== undefined && first !== undefined) return sub.run([...argv.slice(0, first.index), ...argv.slice(first.index + 1)], io);
      const words = visible.map(wordOf).join(', ');
      const unknown = (word: string): Error => usageError(`unknown ${label} ${JSON.stringify(word)}: expected ${words} (${see(def.name)})`);
      if (wantsHelp(argv)) {
        // `connect bogus --help` (and `uzpgw help connect bogus`) is help for nothing: the same usage
        // error as `connect bogus`, not the group's help and 0.
        if (first !== undefined && !runsDefault(first)) throw unknown(first.value);
        io.stdout.write(help());
        return 0;
      }
      if (def.default !== undefined && runsDefault(first)) return def.default.run(argv, io);
      strictTokens(argv, options, see(def.name)); // an unknown flag is the first thing to report
      if (first !== undefined) throw unknown(first.value);
      throw usageError(`missing ${label}: ${words} (${see(def.name)})`);
    },
  };
}
