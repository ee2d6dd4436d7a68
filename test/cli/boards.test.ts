// `uzpgw boards` and `uzpgw slots check` in process, with captured output and exit codes.

import { afterAll, describe, expect, it } from 'vitest';
import { ConfigDir, edit, virtualConfig } from '../config/fixtures.js';
import { runCli as run } from '../helpers/cli-run.js';

const files = new ConfigDir();
afterAll(() => files.remove());

describe('uzpgw boards', () => {
  it('lists every board (human and JSON)', async () => {
    const h = await run('boards');
    expect(h.code, h.err).toBe(0);
    for (const id of ['generic-linux', 'rpi-4b', 'rpi-5', 'rpi-cm4-rs485', 'rpi-zero-2w', 'virtual']) expect(h.out).toContain(id);
    const j = await run('boards', '--json');
    expect(j.code).toBe(0);
    const boards = JSON.parse(j.out).boards as { id: string; ports: number; slots: number; oemid: string }[];
    expect(boards.map((b) => b.id)).toEqual(['generic-linux', 'rpi-4b', 'rpi-5', 'rpi-cm4-rs485', 'rpi-zero-2w', 'rpi-zero-w', 'virtual']);
    for (const b of boards) expect(b.ports).toBeGreaterThan(0);
  });

  it('show ID prints ports with device paths, overlay lines and slots', async () => {
    const h = await run('boards', 'show', 'rpi-4b');
    expect(h.code, h.err).toBe(0);
    expect(h.out).toMatch(/uart3\s+uart\s+\/dev\/ttyAMA3/);
    expect(h.out).toContain('enable: dtoverlay=uart3');
    expect(h.out).toContain('enable: enable_uart=1');
    expect(h.out).toContain('        dtoverlay=disable-bt');
    expect(h.out).toMatch(/slots:\n[\s\S]*net-1\s+port eth0\s+modbus-poller, mqtt-bridge/);
    const cm4 = await run('boards', 'show', 'rpi-cm4-rs485');
    expect(cm4.out).toContain('RS-485 direction: RTS high while sending (0 ms before, 0 ms after)');
    const j = await run('boards', 'show', 'virtual', '--json');
    const b = JSON.parse(j.out);
    expect(b).toMatchObject({ kind: 'uzp-gw/board', id: 'virtual' });
    expect(b.ports[0].device).toBe('{virtual_dir}/rs485-1');
  });

  it('an unknown board is a usage error (exit 2, with the closest id), as it is for flash --board; so is bad usage', async () => {
    const r = await run('boards', 'show', 'rpi-4');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown board "rpi-4"; did you mean rpi-4b or rpi-5\?.*\[USAGE\]\n$/);
    const flash = await run('flash', '--board', 'rpi-4', '--target', '/nonexistent-target', '--dry-run');
    expect([flash.code, flash.err.replace(/^uzpgw flash: --board: /, '')]).toEqual([2, r.err.replace(/^uzpgw boards show: /, '')]);
    expect((await run('boards', 'show')).code).toBe(2);
    expect((await run('boards', 'list')).code).toBe(2);
    expect((await run('boards', 'show', 'rpi-5', 'extra')).code).toBe(2);
    expect((await run('boards', '--verbose')).code).toBe(2);
  });

  it('--help explains and exits 0; the top-level help lists boards and slots', async () => {
    const h = await run('boards', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^usage: uzpgw boards/);
    expect(h.out).toContain('--json');
    const top = await run('--help');
    expect(top.out).toMatch(/\n {2}boards {4}/);
    expect(top.out).toMatch(/\n {2}slots {5}/);
  });

  // Before: `boards show --help` said the group's description (the list and the show) word for word.
  it('`boards show --help` describes showing one board, not the group', async () => {
    const group = await run('boards', '--help');
    const show = await run('boards', 'show', '--help');
    expect(show.code).toBe(0);
    expect(show.out).toMatch(/^usage: uzpgw boards show ID/);
    expect(show.out).toMatch(/\nShows one board profile: /);
    const description = (help: string): string => help.split('\n\n')[1]!;
    expect(description(show.out)).not.toBe(description(group.out));
  });

  // Before: `uzpgw help boards` printed the top-level help.
  it('`uzpgw help COMMAND [SUB]` is `uzpgw COMMAND [SUB] --help`; an unknown one is a usage error', async () => {
    for (const words of [['boards'], ['boards', 'show'], ['connect', 'tail'], ['status']]) {
      const viaHelp = await run('help', ...words);
      expect(viaHelp, words.join(' ')).toEqual(await run(...words, '--help'));
      expect(viaHelp.code).toBe(0);
    }
    const top = await run('help');
    expect([top.code, top.out]).toEqual([0, (await run('--help')).out]);
    expect(top.out).toContain('uzpgw help <command>');
    const unknown = await run('help', 'nosuch');
    expect([unknown.code, unknown.err]).toEqual([2, 'uzpgw: unknown command "nosuch"; run `uzpgw --help`\n']);
  });

  // Before (a563583): `help --json` was 'unknown command "--json"' (exit 2; it was the top-level help
  // before that commit), `help --version` / `help -V` ran --version and failed, and `help connect
  // bogus` printed connect's help with 0 while `connect bogus` is a usage error.
  it('`uzpgw help` with flags only is the top-level help; an unknown subcommand after it is the usage error it is without `help`', async () => {
    const top = (await run('--help')).out;
    for (const flags of [['--json'], ['--version'], ['-V'], ['-h']]) {
      expect(await run('help', ...flags), flags.join(' ')).toEqual({ code: 0, out: top, err: '' });
    }
    expect(await run('help', '--json', 'boards', 'show')).toEqual(await run('boards', 'show', '--json', '--help'));
    for (const words of [['connect', 'bogus'], ['boards', 'bogus'], ['pantheon', 'bogus']]) {
      const bare = await run(...words);
      expect(bare.code, words.join(' ')).toBe(2);
      expect(bare.err).toMatch(new RegExp(`^uzpgw ${words[0]}: unknown (mode|subcommand) "bogus": expected .* \\[USAGE\\]\n$`));
      expect(await run('help', ...words), `help ${words.join(' ')}`).toEqual({ ...bare, out: '' });
      expect(await run(...words, '--help'), `${words.join(' ')} --help`).toEqual({ ...bare, out: '' });
    }
  });

  // Before: `help keygen extra` printed keygen's help (exit 0), the extra word dropped unseen.
  it('a word after the command (and its subcommand) in `uzpgw help` is a usage error saying what to run', async () => {
    for (const [words, path, extra] of [
      [['keygen', 'extra'], 'keygen', 'extra'],
      [['boards', 'show', 'x'], 'boards show', 'x'],
      [['pantheon', '--dir', 'D', 'rn-set', 'more', 'words'], 'pantheon rn-set', 'more'],
      [['status', '--json', 'extra'], 'status', 'extra'],
    ] as const) {
      expect(await run('help', ...words), words.join(' ')).toEqual({
        code: 2,
        out: '',
        err: `uzpgw help: unexpected "${extra}" after \`${path}\`: help takes a command and its subcommand, nothing more; run \`uzpgw help ${path}\` [USAGE]\n`,
      });
      expect((await run('help', path.split(' ')[0]!, ...(path.includes(' ') ? [path.split(' ')[1]!] : []))).code).toBe(0);
    }
    // Flag values are not words: `--dir D` names no command.
    expect(await run('help', 'pantheon', 'rn-set', '--dir', 'D')).toEqual(await run('pantheon', 'rn-set', '--help'));
    // Nor when a group's default command is picked and the flag is a subcommand's (--since is
    // `collector query`'s): the value was an "unexpected" word.
    expect(await run('help', 'collector', '--since', 'v1')).toEqual(await run('collector', '--since', 'v1', '--help'));
  });
});

describe('uzpgw slots check', () => {
  it('a valid config: exit 0 with a summary of every slot and the digest', async () => {
    const cfg = files.write('gw.json', virtualConfig());
    const r = await run('slots', 'check', '--config', cfg);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain(`config OK: ${cfg}`);
    expect(r.out).toMatch(/digest: [0-9a-f]{64}/);
    expect(r.out).toMatch(/rs485-1\s+modbus-poller\s+th-bus-1\s+\S+\/pty\/rs485-1 19200 8E1, units 1, 2, 7 \(9 registers\)/);
    expect(r.out).toMatch(/net-1\s+mqtt-bridge\s+press-2\s+mqtt:\/\/127\.0\.0\.1:1883/);
    const j = await run('slots', 'check', '--config', cfg, '--json');
    const o = JSON.parse(j.out);
    expect(j.code).toBe(0);
    expect(o).toMatchObject({ ok: true, errors: 0, board: 'virtual' });
    expect(o.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(o.slots.map((s: { slot: string }) => s.slot)).toEqual(['rs485-1', 'tty-1', 'tty-2', 'net-1']);
  });

  it('an invalid config: exit 1 listing every problem with line, path and fix', async () => {
    const cfg = files.write(
      'bad.json',
      edit((c) => {
        c.slots['rs485-1'].device.units[1] = { unit: 2, registers: [{ name: 'x', table: 'hold', address: 1 }] };
        c.slots['tty-1'].device.serial.baud = 12345;
        c.slots['net-2'] = c.slots['tty-2'];
        delete c.slots['tty-2'];
      }),
    );
    const r = await run('slots', 'check', '--config', cfg);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe(`${cfg}: 3 problems`);
    expect(r.out).toMatch(/bad\.json:\d+: slots\.rs485-1\.device\.units\[1\]\.registers\[0\]\.table: expected one of holding\|input\|coils\|discrete, got "hold"; did you mean holding\?/);
    expect(r.out).toMatch(/slots\.tty-1\.device\.serial\.baud: expected one of 1200\|.*\(what port tty-1 supports\), got 12345/);
    expect(r.out).toMatch(/slots\.net-2\.device\.driver: expected one of modbus-poller\|mqtt-bridge \(the kinds slot net-2 on net port net takes\), got "serial-raw"; move the device to a free slot/);
    const j = await run('slots', 'check', '--config', cfg, '--json');
    expect(j.code).toBe(1);
    const o = JSON.parse(j.out);
    expect(o).toMatchObject({ ok: false, errors: 3 });
    expect(o.issues.map((i: { path: string }) => i.path)).toContain('slots.tty-1.device.serial.baud');
  });

  it('missing files are problems unless --no-file-check', async () => {
    const other = new ConfigDir([]);
    try {
      const cfg = other.write('gw.json', virtualConfig());
      const r = await run('slots', 'check', '--config', cfg);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/identity\.key: expected an existing identity key file at .*keys\/gateway\.key, got no such file or directory; create it with `uzpgw keygen/);
      expect((await run('slots', 'check', '--config', cfg, '--no-file-check')).code).toBe(0);
    } finally {
      other.remove();
    }
  });

  it('a --boards-dir that does not exist is an error naming the flag (exit 1, as a missing file), not a problem of the config', async () => {
    // It was: `gw.json:8: board: expected a valid board profile, got DIR: cannot list board profiles (ENOENT); repair or reinstall the board file`
    const cfg = files.write('gw.json', virtualConfig());
    const missing = files.dir + '/no-boards';
    const notDir = files.touch('boards-file');
    for (const [argv, what, code] of [
      [['slots', 'check', '--config', cfg, '--boards-dir', missing], `--boards-dir ${missing}: no such directory`, 'FILE_NOT_FOUND'],
      [['slots', 'check', '--config', cfg, '--boards-dir', notDir, '--json'], `--boards-dir ${notDir}: not a directory`, 'FILE_INVALID'],
      [['gateway', '--config', cfg, '--boards-dir', missing], `--boards-dir ${missing}: no such directory`, 'FILE_NOT_FOUND'],
      [['boards', '--dir', missing], `--dir ${missing}: no such directory`, 'FILE_NOT_FOUND'],
    ] as const) {
      const r = await run(...argv);
      expect(r.code, r.out + r.err).toBe(1);
      expect(r.err).toContain(`${what}; give the directory that holds the board profiles`);
      expect(r.err).toContain(`[${code}]`);
      expect(r.out + r.err).not.toContain('gw.json');
    }
  });

  it('usage errors exit 2; a missing config file exits 1 with FILE_NOT_FOUND; --help exits 0', async () => {
    expect((await run('slots')).code).toBe(2);
    expect((await run('slots', 'check')).code).toBe(2);
    expect((await run('slots', 'verify', '--config', 'x')).code).toBe(2);
    const nf = await run('slots', 'check', '--config', files.dir + '/absent.json');
    expect(nf.code).toBe(1);
    expect(nf.err).toContain('FILE_NOT_FOUND');
    const h = await run('slots', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^usage: uzpgw slots check --config FILE/);
    expect((await run('slots', 'check', '--help')).code).toBe(0);
  });
});
