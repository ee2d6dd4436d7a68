// `--out FILE` as a user gives it (src/files/fsutil.ts writeFileAtomic): `attest`, `pantheon
// enroll|grant|rn-set|revoke` and `publish grant` replace a regular file there, as they always did,
// through a symlink as a shell's `>` (the link stays), and refuse anything else (a FIFO, a
// directory, a link to a FIFO) naming the path and what it is: exit 1, the thing left as it was,
// nothing written, and for Pantheon no sequence number taken (nor for a missing directory or a
// name too long). A domain whose state.json is a symlink keeps working. `keygen`
// and `pantheon init` keep refusing whatever exists (a dangling symlink too). A long name the filesystem takes (240 bytes) is written; one it
// does not (256) is a clear error, not "unexpected error" with a stack. Only files in a mkdtemp
// directory: a FIFO stands in for a device node.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { Fixture } from '../attest/fixtures.js';
import { virtualConfig } from '../config/fixtures.js';
import { runCli as run } from '../helpers/cli-run.js';

const f = new Fixture();
afterAll(() => f.close());
const p = (rel: string): string => join(f.dir, rel);
const D = p('domain');
let rn = '';
let gwConfig = '';

beforeAll(async () => {
  expect((await run('pantheon', 'init', '--dir', D, '--domain', 'out.example')).code).toBe(0);
  const k = await run('keygen', '--out', p('rn.key'), '--json');
  rn = (JSON.parse(k.out) as { public: string }).public;
  // A gateway config `attest` and `publish grant` load, its key the fixture's.
  for (const rel of ['gw/keys/gateway.pcert', 'gw/trust/trust.json', 'gw/trust/rn-set.uzp', 'gw/trust/revocations.uzp']) f.write(rel, '');
  for (const d of ['gw/pty', 'gw/log']) mkdirSync(p(d), { recursive: true });
  mkdirSync(dirname(p('gw/keys/gateway.key')), { recursive: true });
  writeKeyFile(p('gw/keys/gateway.key'), f.id);
  gwConfig = p('gw/gateway.json');
  writeFileSync(gwConfig, JSON.stringify(virtualConfig()));
  writeFileSync(p('target'), 'theirs\n');
  symlinkSync('target', p('link'));
  execFileSync('mkfifo', [p('fifo')]);
  symlinkSync('fifo', p('link-to-fifo'));
  mkdirSync(p('adir'));
});

const rnSet = (out: string): Promise<{ code: number; out: string; err: string }> => run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn}@127.0.0.1:7401`, '--out', out, '--json');
const sequence = (): number => (JSON.parse(readFileSync(join(D, 'state.json'), 'utf8')) as { rn_set: { sequence: number } }).rn_set.sequence;

describe('--out over what is not a regular file', () => {
  it('pantheon rn-set refuses a FIFO, a symlink to one and a directory, naming each; no sequence number is taken', async () => {
    const before = sequence();
    for (const [name, kind] of [
      ['fifo', 'a named pipe (FIFO)'],
      ['link-to-fifo', 'a named pipe (FIFO)'],
      ['adir', 'a directory'],
    ] as const) {
      const r = await rnSet(p(name));
      expect([r.code, r.out], name).toEqual([1, '']);
      expect(r.err).toContain(`${p(name)}${name === 'link-to-fifo' ? ` (a symbolic link to ${p('fifo')})` : ''}: is ${kind}; refusing to replace it with a regular file`);
      expect(r.err).toMatch(/ \[FILE_INVALID\]\n$/);
    }
    expect(lstatSync(p('fifo')).isFIFO()).toBe(true);
    expect(readlinkSync(p('link-to-fifo'))).toBe('fifo');
    expect(lstatSync(p('adir')).isDirectory()).toBe(true);
    expect(sequence()).toBe(before);
  });

  it('pantheon rn-set refuses a missing directory and a 300-byte name before taking a sequence number', async () => {
    const before = sequence();
    const nodir = await rnSet(p('nodir/x.uzp'));
    expect([nodir.code, nodir.out]).toEqual([1, '']);
    expect(nodir.err).toContain(`${p('nodir/x.uzp')}: its directory ${p('nodir')} does not exist; create it first (mkdir -p)`);
    expect(nodir.err).toMatch(/ \[FILE_NOT_FOUND\]\n$/);
    const long = await rnSet(p('c'.repeat(300)));
    expect([long.code, long.out]).toEqual([1, '']);
    expect(long.err).toContain(': name too long for the filesystem');
    expect(long.err).not.toMatch(/unexpected error|\n\s+at /);
    expect(sequence()).toBe(before);
  });

  it('pantheon rn-set writes through a symlink to a regular file, and the link stays a link', async () => {
    writeFileSync(p('through-target'), 'theirs\n');
    symlinkSync('through-target', p('through-link'));
    const r = await rnSet(p('through-link'));
    expect(r.code, r.err).toBe(0);
    expect(readlinkSync(p('through-link'))).toBe('through-target');
    expect(readFileSync(p('through-target')).subarray(0, 4).toString()).not.toBe('thei');
  });

  it('a domain whose state.json is a symlink (domain/state.json -> ../persist/state.json) keeps issuing; the link stays', async () => {
    const dir = p('linked-domain');
    expect((await run('pantheon', 'init', '--dir', dir, '--domain', 'out.example')).code).toBe(0);
    mkdirSync(p('persist'));
    renameSync(join(dir, 'state.json'), p('persist/state.json'));
    symlinkSync('../persist/state.json', join(dir, 'state.json'));
    for (const n of [1, 2]) {
      const r = await run('pantheon', 'rn-set', '--dir', dir, '--rn', `${rn}@127.0.0.1:7401`, '--out', p('linked.uzp'), '--json');
      expect(r.code, r.err).toBe(0);
      expect((JSON.parse(r.out) as { sequence: number }).sequence).toBe(n);
      expect(readlinkSync(join(dir, 'state.json'))).toBe('../persist/state.json');
      expect((JSON.parse(readFileSync(p('persist/state.json'), 'utf8')) as { rn_set: { sequence: number } }).rn_set.sequence).toBe(n);
    }
  });

  it('pantheon rn-set still replaces a regular file (a re-issued statement goes where the last one was)', async () => {
    expect((await rnSet(p('rnset.uzp'))).code).toBe(0);
    const r = await rnSet(p('rnset.uzp'));
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ out: p('rnset.uzp') });
  });

  it('publish grant and attest refuse a FIFO and a symlink to one the same way', async () => {
    const collector = 'cd'.repeat(32);
    for (const name of ['fifo', 'link-to-fifo']) {
      const named = `${p(name)}${name === 'fifo' ? '' : ` (a symbolic link to ${p('fifo')})`}: is a named pipe (FIFO); refusing to replace it`;
      const g = await run('publish', 'grant', '--config', gwConfig, '--collector', collector, '--slot', 'tty-1', '--out', p(name));
      expect([g.code, g.out], `publish grant ${name}`).toEqual([1, '']);
      expect(g.err).toContain(named);
      const a = await run('attest', '--config', gwConfig, '--nonce', '5a'.repeat(16), '--out', p(name));
      expect([a.code, a.out], `attest ${name}`).toEqual([1, '']);
      expect(a.err).toContain(named);
    }
    expect(lstatSync(p('fifo')).isFIFO()).toBe(true);
    expect(readlinkSync(p('link-to-fifo'))).toBe('fifo');
  });

  it('pantheon init refuses a domain whose state.json is a dangling symlink, before writing anything', async () => {
    const dir = p('half-domain');
    mkdirSync(dir);
    symlinkSync('elsewhere/state.json', join(dir, 'state.json'));
    const r = await run('pantheon', 'init', '--dir', dir, '--domain', 'out.example');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/state\.json: a trust domain already exists here; refusing to overwrite it \[FILE_EXISTS\]\n$/);
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
    expect(readlinkSync(join(dir, 'state.json'))).toBe('elsewhere/state.json');
  });

  it('keygen keeps refusing whatever exists, a symlink included (FILE_EXISTS)', async () => {
    const r = await run('keygen', '--out', p('link'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/link: already exists; refusing to overwrite it.*\[FILE_EXISTS\]\n$/);
    expect(readlinkSync(p('link'))).toBe('target');
  });
});

describe('--out with a long name', () => {
  it('a 240-byte name is written; a 256-byte one is a clear error without a stack', async () => {
    const ok = await rnSet(p('a'.repeat(240)));
    expect(ok.code, ok.err).toBe(0);
    const a = await run('attest', '--config', gwConfig, '--nonce', '5b'.repeat(16), '--out', p('e'.repeat(240)));
    expect(a.code, a.err).toBe(0);
    const long = await rnSet(p('b'.repeat(256)));
    expect([long.code, long.out]).toEqual([1, '']);
    expect(long.err).toContain(': name too long for the filesystem');
    expect(long.err).not.toMatch(/unexpected error|\n\s+at /);
  });
});
