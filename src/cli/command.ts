// The shape of one CLI command module (src/cli/<name>.ts). main.ts loads them lazily.

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface Command {
  /** One line for `uzpgw --help`. */
  readonly summary: string;
  /** Runs the command; returns the process exit code. `--help` is handled by the command itself. */
  run(argv: string[], io: CommandIo): Promise<number>;
}
