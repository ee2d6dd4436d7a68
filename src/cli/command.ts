// The shape of one CLI command (src/cli/<name>.ts exports `command`); dispatch.ts loads them lazily.
// Commands are built with defineCommand / defineGroup (define.ts), never by hand, so that every
// one has the same --help, --json and usage errors.

import type { Flags, Parsed } from './flags.js';

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

interface CommandBase {
  /** The words after `uzpgw`, e.g. "pantheon grant". */
  readonly name: string;
  /** One line for the help of the level above. */
  readonly summary: string;
  /** Internal commands (the demo's gateway) are left out of the help above them. */
  readonly hidden: boolean;
  /** Its usage form(s), each one or more wrapped lines. */
  readonly usage: readonly (readonly string[])[];
  help(): string;
  /** Runs it; returns the exit code. Usage problems throw LocalError(USAGE) (exit 2 in dispatch.ts). */
  run(argv: readonly string[], io: CommandIo): Promise<number>;
}

/** A command with flags and positionals. */
export interface LeafCommand extends CommandBase {
  readonly kind: 'command';
  readonly flags: Flags;
  readonly args: readonly string[];
  /** What `--json` prints (shown in --help). */
  readonly json: string;
  /** The strict parse run() uses, with every check the definition implies. */
  parse(argv: readonly string[]): Parsed<Flags>;
}

/** Subcommands picked by their word (the first positional); optionally a default when none is given. */
export interface GroupCommand extends CommandBase {
  readonly kind: 'group';
  readonly default: LeafCommand | undefined;
  readonly subcommands: readonly LeafCommand[];
  /**
   * The member run() runs for `argv` (a subcommand by its word, or the default), or undefined when
   * it runs none (help, a missing or unknown word): what an error line names (dispatch.ts).
   */
  select(argv: readonly string[]): LeafCommand | undefined;
}

export type Command = LeafCommand | GroupCommand;
