// `uzpgw` dispatcher: dispatches to one module per command, maps typed errors to exit codes.

import type { Command, CommandIo } from './command.js';
import { CommonCode, isCodedError } from '../lib/errors.js';
import { extraHelpWord } from './help-words.js';
import { printable } from '../lib/terminal-text.js';

/** Command name -> lazy loader, so `uzpgw rn` never loads Pantheon code and vice versa. */
const COMMANDS: Readonly<Record<string, () => Promise<{ command: Command }>>> = {
  attest: () => import('./attest.js'),
  boards: () => import('./boards.js'),
  collector: () => import('./collector.js'),
  connect: () => import('./connect.js'),
  demo: () => import('./demo.js'),
  'first-boot': () => import('./first-boot.js'),
  flash: () => import('./flash.js'),
  gateway: () => import('./gateway.js'),
  hil: () => import('./hil.js'),
  keygen: () => import('./keygen.js'),
  pantheon: () => import('./pantheon.js'),
  publish: () => import('./publish.js'),
  rn: () => import('./rn.js'),
  runtime: () => import('./runtime.js'),
  slots: () => import('./slots.js'),
  status: () => import('./status.js'),
};

/** Every top-level command, loaded (for `uzpgw --help` and the table-driven CLI tests). */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(COMMANDS).map(async (load) => (await load()).command));
}

async function topHelp(out: CommandIo['stdout']): Promise<void> {
  const lines = ['usage: uzpgw <command> [options]', '', 'commands:'];
  for (const command of await loadCommands()) lines.push(`  ${command.name.padEnd(12)}${command.summary}`);
  lines.push('', 'Run `uzpgw <command> --help` (or `uzpgw help <command>`) for the options of one command; every command takes --json.', '`uzpgw --version [--json]` says which uzp-gateway and which Node runtime this is.');
  out.write(lines.join('\n') + '\n');
}

/** `uzpgw --version [--json]`: this package's version and the runtime it runs on (which node, which CPU). */
async function version(rest: readonly string[], io: CommandIo): Promise<number> {
  if (rest.some((a) => a !== '--json')) {
    io.stderr.write(`uzpgw --version: takes only --json\n`);
    return 2;
  }
  const { RUNNING_BUNDLE_DIR, softwareOf } = await import('../attest/measure.js');
  const sw = softwareOf(RUNNING_BUNDLE_DIR);
  const v = { name: sw.swname, version: sw.swversion, node: process.version, platform: process.platform, arch: process.arch, exec_path: process.execPath };
  io.stdout.write(rest.length > 0 ? JSON.stringify(v) + '\n' : `uzpgw ${v.version} (node ${v.node}, ${v.platform} ${v.arch}, ${v.exec_path})\n`);
  return 0;
}

export async function main(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') return version(rest, io);
  // `uzpgw help boards [show]` is `uzpgw boards [show] --help` (it printed the top-level help); an
  // unknown word is the usage error the command gives without `help`. Flags alone after `help`
  // (`help --json`, `help --version`) ask for the top-level help, as a bare `help` does. A word past
  // the command (and its subcommand) is a usage error (help-words.ts).
  const word = name === 'help' ? rest.findIndex((a) => !a.startsWith('-')) : -1;
  if (word !== -1) {
    const load = Object.hasOwn(COMMANDS, rest[word]!) ? COMMANDS[rest[word]!] : undefined;
    const extra = load === undefined ? undefined : extraHelpWord((await load()).command, [...rest.slice(0, word), ...rest.slice(word + 1)]);
    if (extra !== undefined) {
      io.stderr.write(`uzpgw help: unexpected ${JSON.stringify(printable(extra.word))} after \`${extra.path}\`: help takes a command and its subcommand, nothing more; run \`uzpgw help ${extra.path}\` [${CommonCode.USAGE}]\n`);
      return 2;
    }
    return main([rest[word]!, ...rest.slice(0, word), ...rest.slice(word + 1), '--help'], io);
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    // Asked for, help is the output (stdout, 0); no command at all is a usage error (stderr, 2).
    await topHelp(name === undefined ? io.stderr : io.stdout);
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) {
    io.stderr.write(`uzpgw: unknown command ${JSON.stringify(name)}; run \`uzpgw --help\`\n`);
    return 2;
  }
  // The error line names the command as run (`uzpgw pantheon revoke: …`), not only its group; the
  // demo reads it from its operators' stderr (demo/child-events.ts). One text line, --json or not.
  // A message may quote what a gateway sent (a refusal code, a slot it named): shown printable, each
  // line of it (a local tool's stderr, quoted by the simulators, keeps its lines).
  const shown = (text: string): string => text.split('\n').map(printable).join('\n');
  let ran = name;
  try {
    const { command } = await load();
    ran = command.kind === 'group' ? (command.select(rest)?.name ?? command.name) : command.name;
    return await command.run(rest, io);
  } catch (e) {
    if (isCodedError(e)) {
      io.stderr.write(`uzpgw ${ran}: ${shown(e.message)} [${e.code}]\n`);
      return e.code === CommonCode.USAGE ? 2 : 1;
    }
    io.stderr.write(`uzpgw ${ran}: unexpected error: ${shown((e as Error).stack ?? String(e))}\n`);
    return 1;
  }
}
