// Every command and subcommand, table-driven from the definitions themselves (in process, no spawn):
// the same --help, the same --json flag, the same usage errors.

import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Command, CommandIo, LeafCommand } from '../../src/cli/command.js';
import { loadCommands, main } from '../../src/cli/dispatch.js';
import type { Flags } from '../../src/cli/flags.js';
import { CommonCode, LocalError } from '../../src/lib/errors.js';

function capture(): { io: CommandIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void): Writable =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  return { io: { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) }, out: () => out, err: () => err };
}

/** One way to reach a command: its full name, the top-level module, and the words before its own argv. */
interface Entry {
  readonly name: string;
  readonly top: Command;
  readonly words: readonly string[];
  readonly leaf?: LeafCommand;
}

// Names as the dispatcher knows them; the test fails if a command is added without being listed.
const TOP = ['attest', 'boards', 'collector', 'connect', 'demo', 'first-boot', 'flash', 'gateway', 'hil', 'keygen', 'pantheon', 'publish', 'rn', 'runtime', 'slots', 'status'];
const SUBS: Record<string, readonly string[]> = {
  attest: ['verify'],
  boards: ['show'],
  collector: ['query'],
  connect: ['tail', 'modbus-tcp', 'serial', 'mqtt', 'diag', 'attest', 'ui'],
  demo: ['gateway'],
  hil: ['equipment', 'run'],
  pantheon: ['init', 'enroll', 'grant', 'rn-set', 'revoke', 'show'],
  publish: ['grant', 'revoke'],
  runtime: ['fetch'],
  slots: ['check'],
};

let entries: Entry[] = [];
beforeAll(async () => {
  const top = await loadCommands();
  entries = top.flatMap((c): Entry[] => {
    if (c.kind === 'command') return [{ name: c.name, top: c, words: [], leaf: c }];
    const subs = c.subcommands.map((s) => ({ name: s.name, top: c, words: [s.name.slice(c.name.length + 1)], leaf: s }));
    return [{ name: c.name, top: c, words: [], ...(c.default !== undefined ? { leaf: c.default } : {}) }, ...subs];
  });
});

function run(e: Entry, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  return e.top.run([...e.words, ...argv], c.io).then((code) => ({ code, out: c.out(), err: c.err() }));
}

/** The smallest argv the definition accepts: every required flag and positional with a plausible value. */
function minimalArgv(flags: Flags, args: readonly string[]): string[] {
  const out = args.map(() => 'x');
  for (const [name, d] of Object.entries(flags)) {
    if ((d.type === 'string' || d.type === 'list') && d.required === true) out.push(`--${name}`, d.type === 'string' && d.choices !== undefined ? d.choices[0]! : 'x');
  }
  return out;
}

async function usageErrorOf(p: Promise<unknown>): Promise<LocalError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(LocalError);
  expect((e as LocalError).code).toBe(CommonCode.USAGE);
  return e as LocalError;
}

describe('the command table', () => {
  it('has every command and subcommand the CLI offers', () => {
    const expected = [...TOP, ...Object.entries(SUBS).flatMap(([top, subs]) => subs.map((s) => `${top} ${s}`))].sort();
    expect(entries.map((e) => e.name).sort()).toEqual(expected);
  });
});

describe('--help', () => {
  it('exits 0 and prints the usage line of every command and subcommand, even among bad flags', async () => {
    for (const e of entries) {
      for (const flag of ['--help', '-h']) {
        const r = await run(e, '--no-such-flag', flag);
        expect(r.code, `${e.name} ${flag}`).toBe(0);
        expect(r.out, e.name).toMatch(new RegExp(`^usage: uzpgw ${e.name}( |\\n|$)`));
        expect(r.out, e.name).toContain('--json');
        expect(r.err).toBe('');
      }
    }
  });

  it('lists every flag of a command with its placeholder, and says what --json prints', async () => {
    for (const e of entries.filter((x) => x.leaf !== undefined)) {
      const { out } = await run(e, '--help');
      for (const [name, d] of Object.entries(e.leaf!.flags)) expect(out, `${e.name} --${name}`).toContain(d.type === 'boolean' ? `--${name}` : `--${name} ${d.placeholder}`);
      expect(out, e.name).toMatch(new RegExp(`\\n {2}--json +${e.leaf!.json.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
      expect(out, e.name).toMatch(/\n {2}--help +show this help\n/);
    }
  });

  it('a group lists its visible subcommands; the demo gateway stays internal', async () => {
    for (const [top, subs] of Object.entries(SUBS)) {
      const { out } = await run(entries.find((e) => e.name === top)!, '--help');
      for (const s of subs) {
        if (`${top} ${s}` === 'demo gateway') expect(out).not.toContain('demo gateway');
        else expect(out, `${top} ${s}`).toMatch(new RegExp(`\\n {2}${s} +\\S`));
      }
    }
  });
});

describe('--json', () => {
  it('every command accepts it (and nothing else turns it on)', () => {
    for (const e of entries.filter((x) => x.leaf !== undefined)) {
      const argv = minimalArgv(e.leaf!.flags, e.leaf!.args);
      expect(e.leaf!.parse([...argv, '--json']).flags.json, e.name).toBe(true);
      expect(e.leaf!.parse(argv).flags.json, e.name).toBe(false);
    }
  });

  it('takes no value', async () => {
    for (const e of entries.filter((x) => x.leaf !== undefined)) {
      const err = await usageErrorOf(run(e, '--json=yes'));
      expect(err.message, e.name).toContain('--json takes no value');
    }
  });
});

describe('usage errors', () => {
  it('an unknown flag is a USAGE error naming the flag and where to look', async () => {
    for (const e of entries) {
      const err = await usageErrorOf(run(e, ...(e.leaf !== undefined ? minimalArgv(e.leaf.flags, e.leaf.args) : []), '--no-such-flag'));
      expect(err.message, e.name).toContain('--no-such-flag');
      expect(err.message, e.name).toMatch(/see `uzpgw .+ --help`/);
      expect(err.message).not.toContain('\n');
    }
  });

  it('a missing required flag names it', async () => {
    for (const e of entries.filter((x) => x.leaf !== undefined)) {
      const req = Object.entries(e.leaf!.flags).filter(([, d]) => (d.type === 'string' || d.type === 'list') && d.required === true);
      for (const [name] of req) {
        const argv = minimalArgv(e.leaf!.flags, e.leaf!.args);
        const i = argv.indexOf(`--${name}`);
        argv.splice(i, 2);
        expect(() => e.leaf!.parse(argv), `${e.name} without --${name}`).toThrow(`--${name} is required`);
      }
    }
  });

  it('the dispatcher maps them to exit 2 with the code on stderr', async () => {
    for (const argv of [['rn', '--bogus'], ['pantheon', 'grant', '--bogus'], ['connect', '--key', 'k', 'tail', '--bogus'], ['demo', 'gateway', '--bogus']]) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(' ')).toBe(2);
      expect(c.err()).toMatch(/^uzpgw [a-z -]+: unknown option --bogus \(see `uzpgw .+ --help`\) \[USAGE\]\n$/);
    }
  });

  it('the error line names the command as run (`uzpgw pantheon revoke: …`), not only its group; the same line with --json', async () => {
    for (const e of entries.filter((x) => x.leaf !== undefined)) {
      for (const json of [[], ['--json']]) {
        const c = capture();
        expect(await main([e.top.name, ...e.words, ...minimalArgv(e.leaf!.flags, e.leaf!.args), ...json, '--no-such-flag'], c.io), e.name).toBe(2);
        expect(c.err(), `${e.name} ${json.join('')}`).toBe(`uzpgw ${e.name}: unknown option --no-such-flag (see \`uzpgw ${e.name} --help\`) [USAGE]\n`);
      }
    }
    // Whatever the code: a missing file (exit 1), the subcommand word anywhere among the flags.
    const c = capture();
    expect(await main(['pantheon', '--dir', '/nonexistent', 'revoke', '--cid', 'ab'.repeat(32), '--out', '/nonexistent/r.uzp'], c.io)).toBe(1);
    expect(c.err()).toMatch(/^uzpgw pantheon revoke: \/nonexistent\/.+ \[FILE_NOT_FOUND\]\n$/);
    // The group's own mistakes (no word, an unknown word) are the group's.
    const none = capture();
    expect(await main(['pantheon', '--dir', 'd'], none.io)).toBe(2);
    expect(none.err()).toMatch(/^uzpgw pantheon: missing subcommand: /);
    const unknown = capture();
    expect(await main(['pantheon', 'revok', '--dir', 'd'], unknown.io)).toBe(2);
    expect(unknown.err()).toMatch(/^uzpgw pantheon: unknown subcommand "revok"/);
  });

  it('--arch: every command that takes it refuses a value it can never accept as a usage error (exit 2), with one wording', async () => {
    const withArch = entries.filter((e) => e.leaf !== undefined && Object.hasOwn(e.leaf.flags, 'arch'));
    expect(withArch.map((e) => e.name).sort()).toEqual(['flash', 'runtime fetch']);
    for (const e of withArch) {
      const argv = [...e.words, ...minimalArgv(e.leaf!.flags, e.leaf!.args)];
      const arm = capture();
      expect(await main([e.top.name, ...argv, '--arch', 'arm'], arm.io), `${e.name} --arch arm`).toBe(2);
      expect(arm.err(), e.name).toMatch(/: --arch arm: Node 24 has no official build for 32-bit ARM; flash a 64-bit OS image and use --arch arm64 \[USAGE\]\n$/);
      const mips = capture();
      expect(await main([e.top.name, ...argv, '--arch', 'mips'], mips.io), `${e.name} --arch mips`).toBe(2);
      expect(mips.err(), e.name).toMatch(/: --arch: expected x64 or arm64 \(Node 24 has official Linux builds for those only\), got "mips" \[USAGE\]\n$/);
    }
  });

  it('`uzpgw --version` names the package, the node and the CPU it runs on; --json as one object; nothing else taken', async () => {
    const c = capture();
    expect(await main(['--version'], c.io)).toBe(0);
    expect(c.out()).toBe(`uzpgw 0.1.0 (node ${process.version}, ${process.platform} ${process.arch}, ${process.execPath})\n`);
    const j = capture();
    expect(await main(['--version', '--json'], j.io)).toBe(0);
    expect(JSON.parse(j.out())).toEqual({ name: 'uzp-gateway', version: '0.1.0', node: process.version, platform: process.platform, arch: process.arch, exec_path: process.execPath });
    const bad = capture();
    expect(await main(['--version', '--bogus'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/takes only --json/);
  });

  it('the subcommand word may stand anywhere among the flags; its own help is named', async () => {
    const connect = entries.find((e) => e.name === 'connect')!;
    const err = await usageErrorOf(run(connect, '--key', 'k.key', '--slot', 'rs485-1', 'modbus-tcp', '--count', '1'));
    expect(err.message).toBe('unknown option --count (see `uzpgw connect modbus-tcp --help`)');
    const missing = await usageErrorOf(run(connect, '--key', 'k.key'));
    expect(missing.message).toMatch(/^missing mode: tail, modbus-tcp, serial, mqtt, diag, attest/);
  });

  it('`uzpgw gateway` has no demo flag: the demo runs `uzpgw demo gateway`', async () => {
    const gateway = entries.find((e) => e.name === 'gateway')!;
    const err = await usageErrorOf(run(gateway, '--config', 'gw.json', '--demo-equipment'));
    expect(err.message).toContain('--demo-equipment');
    expect(entries.find((e) => e.name === 'demo gateway')!.leaf!.parse(['--config', 'gw.json']).flags).toMatchObject({ config: 'gw.json', 'log-level': 'info' });
  });
});
