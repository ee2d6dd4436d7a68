// `--out FILE` as a user gives it (src/files/fsutil.ts writeFileAtomic): `attest`, `pantheon
// enroll|grant|rn-set|revoke` and `publish grant` replace a regular file there, as they always did,
// and refuse anything else (a FIFO, a symlink, a directory) naming the path and what it is: exit 1,
// the thing left as it was, nothing written, and for Pantheon no sequence number taken. `keygen`
// and `pantheon init` keep refusing whatever exists (a dangling symlink too). A long name the filesystem takes (240 bytes) is written; one it
// does not (256) is a clear error, not "unexpected error" with a stack. Only files in a mkdtemp
// directory: a FIFO stands in for a device node.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
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
  mkdirSync(p('adir'));
});

const rnSet = (out: string): Promise<{ code: number; out: string; err: string }> => run('pantheon', 'rn-set', '--dir', D, '--rn', `${rn}@127.0.0.1:7401`, '--out', out, '--json');
const sequence = (): number => (JSON.parse(readFileSync(join(D, 'state.json'), 'utf8')) as { rn_set: { sequence: number } }).rn_set.sequence;

describe('--out over what is not a regular file', () => {
  it('pantheon rn-set refuses a FIFO, a symlink and a directory, naming each; no sequence number is taken', async () => {
    const before = sequence();
    for (const [name, kind] of [
      ['fifo', 'a named pipe (FIFO)'],
      ['link', 'a symbolic link'],
      ['adir', 'a directory'],
    ] as const) {
      const r = await rnSet(p(name));
      expect([r.code, r.out], name).toEqual([1, '']);
      expect(r.err).toContain(`${p(name)}: is ${kind}; refusing to replace it with a regular file`);
      expect(r.err).toMatch(/ \[FILE_INVALID\]\n$/);
    }
    expect(lstatSync(p('fifo')).isFIFO()).toBe(true);
    expect(readlinkSync(p('link'))).toBe('target');
    expect(readFileSync(p('target'), 'utf8')).toBe('theirs\n');
    expect(lstatSync(p('adir')).isDirectory()).toBe(true);
    expect(sequence()).toBe(before);
  });

  it('pantheon rn-set still replaces a regular file (a re-issued statement goes where the last one was)', async () => {
    expect((await rnSet(p('rnset.uzp'))).code).toBe(0);
    const r = await rnSet(p('rnset.uzp'));
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ out: p('rnset.uzp') });
  });

  it('publish grant and attest refuse a FIFO and a symlink the same way', async () => {
    const collector = 'cd'.repeat(32);
    for (const name of ['fifo', 'link']) {
      const g = await run('publish', 'grant', '--config', gwConfig, '--collector', collector, '--slot', 'tty-1', '--out', p(name));
      expect([g.code, g.out], `publish grant ${name}`).toEqual([1, '']);
      expect(g.err).toContain(`${p(name)}: is a `);
      const a = await run('attest', '--config', gwConfig, '--nonce', '5a'.repeat(16), '--out', p(name));
      expect([a.code, a.out], `attest ${name}`).toEqual([1, '']);
      expect(a.err).toContain(`${p(name)}: is a `);
    }
    expect(lstatSync(p('fifo')).isFIFO()).toBe(true);
    expect(readlinkSync(p('link'))).toBe('target');
    expect(readFileSync(p('target'), 'utf8')).toBe('theirs\n');
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
