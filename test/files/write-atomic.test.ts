// writeFileAtomic (src/files/fsutil.ts), behind every `--out FILE` and state file: a write that
// replaces puts a new regular file where the name was, so whatever else is there (a FIFO, a
// directory, a socket; as root, `--out /dev/null` replaced the machine's /dev/null) is refused,
// naming the path and what it is, with nothing written. A symlink is followed as a shell's `>`
// follows it: the file it leads to is replaced (a dangling one's is created) and the link stays a
// link; at its end the same things are refused. Any name the filesystem takes can be written: the
// temporary file's name no longer grows with the target's. A writer killed before its rename leaves
// its temporary file: the next write of that name removes such orphans once they are an hour old. Everything here lives in a mkdtemp
// directory: no device node is made or touched (a FIFO stands in for a device).

import { execFileSync } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReplaceable, writeFileAtomic } from '../../src/files/fsutil.js';
import { CodedError } from '../../src/lib/errors.js';

// realpath: messages name where links lead from the real directory.
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'uzp-write-atomic-')));
const p = (f: string): string => join(tmp, f);
let socket: Server | undefined;

beforeAll(async () => {
  writeFileSync(p('target'), 'theirs\n');
  symlinkSync('target', p('link'));
  symlinkSync('nowhere', p('dangling'));
  execFileSync('mkfifo', [p('fifo')]);
  mkdirSync(p('adir'));
  socket = createServer();
  await new Promise<void>((resolve) => socket!.listen(p('sock'), resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => (socket === undefined ? resolve() : socket.close(() => resolve())));
  rmSync(tmp, { recursive: true, force: true });
});

/** The error `f` threw, as [code, message]. */
function thrown(f: () => void): [string, string] {
  try {
    f();
  } catch (e) {
    if (!(e instanceof CodedError)) throw e;
    return [e.code, e.message];
  }
  throw new Error('expected an error');
}

const temporaries = (): string[] => readdirSync(tmp).filter((f) => f.endsWith('.tmp'));

describe('writeFileAtomic over what is not a regular file', () => {
  for (const [name, kind, isIt] of [
    ['fifo', 'a named pipe (FIFO)', () => lstatSync(p('fifo')).isFIFO()],
    ['adir', 'a directory', () => lstatSync(p('adir')).isDirectory()],
    ['sock', 'a socket', () => lstatSync(p('sock')).isSocket()],
  ] as const) {
    it(`refuses ${kind} (${name}), naming it; it stays what it was and nothing is written`, () => {
      const [code, message] = thrown(() => writeFileAtomic(p(name), 'ours\n', { mode: 0o644, overwrite: true }));
      expect(code).toBe('FILE_INVALID');
      expect(message).toContain(`${p(name)}: is ${kind}; refusing to replace it with a regular file`);
      expect(isIt()).toBe(true);
      expect(readFileSync(p('target'), 'utf8')).toBe('theirs\n');
      expect(temporaries()).toEqual([]);
    });
  }

  it('refuses a symlink (or a chain of them) that leads to a FIFO, a directory or a socket, naming both; the link stays', () => {
    symlinkSync('fifo', p('to-fifo'));
    symlinkSync('to-fifo', p('to-to-fifo'));
    symlinkSync(p('adir'), p('to-dir'));
    symlinkSync('sock', p('to-sock'));
    for (const [name, end, kind] of [
      ['to-fifo', 'fifo', 'a named pipe (FIFO)'],
      ['to-to-fifo', 'fifo', 'a named pipe (FIFO)'],
      ['to-dir', 'adir', 'a directory'],
      ['to-sock', 'sock', 'a socket'],
    ] as const) {
      const [code, message] = thrown(() => writeFileAtomic(p(name), 'ours\n', { mode: 0o644, overwrite: true }));
      expect(code, name).toBe('FILE_INVALID');
      expect(message).toContain(`${p(name)} (a symbolic link to ${p(end)}): is ${kind}; refusing to replace it with a regular file`);
      expect(lstatSync(p(name)).isSymbolicLink()).toBe(true);
    }
    expect(lstatSync(p('fifo')).isFIFO()).toBe(true);
    expect(temporaries()).toEqual([]);
  });

  it('refuses a loop of symlinks', () => {
    symlinkSync('loop-b', p('loop-a'));
    symlinkSync('loop-a', p('loop-b'));
    const [code, message] = thrown(() => writeFileAtomic(p('loop-a'), 'x', { mode: 0o644, overwrite: true }));
    expect([code, message]).toEqual(['FILE_INVALID', `${p('loop-a')}: more than 40 symbolic links in a row (a loop?); give the path of a regular file`]);
  });

  it('replaces a regular file when asked to; without overwrite a symlink is an existing file (FILE_EXISTS), as before', () => {
    writeFileSync(p('plain'), 'theirs\n');
    writeFileAtomic(p('plain'), 'ours\n', { mode: 0o644, overwrite: true });
    expect(readFileSync(p('plain'), 'utf8')).toBe('ours\n');
    expect(thrown(() => writeFileAtomic(p('link'), 'x', { mode: 0o600 }))[0]).toBe('FILE_EXISTS');
    expect(thrown(() => writeFileAtomic(p('dangling'), 'x', { mode: 0o600 }))[0]).toBe('FILE_EXISTS');
    expect(readlinkSync(p('link'))).toBe('target');
    expect(readFileSync(p('target'), 'utf8')).toBe('theirs\n');
  });
});

describe('writeFileAtomic through a symlink (as a shell\'s `>`)', () => {
  it('replaces the regular file a relative link leads to (state.json -> ../persist/state.json); the link stays a link', () => {
    mkdirSync(p('persist'));
    mkdirSync(p('domain'));
    writeFileSync(p('persist/state.json'), '{"old":1}\n');
    symlinkSync('../persist/state.json', p('domain/state.json'));
    for (const n of [2, 3]) {
      writeFileAtomic(p('domain/state.json'), `{"new":${n}}\n`, { mode: 0o600, overwrite: true });
      expect(readlinkSync(p('domain/state.json'))).toBe('../persist/state.json');
      expect(readFileSync(p('persist/state.json'), 'utf8')).toBe(`{"new":${n}}\n`);
      expect(lstatSync(p('persist/state.json')).mode & 0o777).toBe(0o600);
    }
    // The temporary file was made next to the target, not next to the link.
    expect(readdirSync(p('persist')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(p('domain'))).toEqual(['state.json']);
  });

  it('follows a chain of links, and a relative link inside a linked directory from where the directory really is', () => {
    mkdirSync(p('real'));
    mkdirSync(p('real/sub'));
    writeFileSync(p('real/f'), 'theirs\n');
    symlinkSync('../f', p('real/sub/to-f')); // ../ from real/sub, not from the link's directory
    symlinkSync(p('real/sub'), p('sub-link'));
    symlinkSync('sub-link/to-f', p('chain'));
    writeFileAtomic(p('chain'), 'ours\n', { mode: 0o644, overwrite: true });
    expect(readFileSync(p('real/f'), 'utf8')).toBe('ours\n');
    expect(readlinkSync(p('chain'))).toBe('sub-link/to-f');
    expect(lstatSync(p('real/sub/to-f')).isSymbolicLink()).toBe(true);
  });

  it('creates the file a dangling link leads to when its directory exists; refuses when it does not', () => {
    writeFileAtomic(p('dangling'), '1\n', { mode: 0o600, overwrite: true });
    expect(readFileSync(p('nowhere'), 'utf8')).toBe('1\n');
    expect(readlinkSync(p('dangling'))).toBe('nowhere');
    symlinkSync('no-such-dir/x', p('into-nothing'));
    const [code, message] = thrown(() => writeFileAtomic(p('into-nothing'), 'x', { mode: 0o644, overwrite: true }));
    expect(code).toBe('FILE_NOT_FOUND');
    expect(message).toBe(`${p('into-nothing')} (a symbolic link to ${p('no-such-dir/x')}): its directory ${p('no-such-dir')} does not exist; create it first (mkdir -p), or give another path`);
    expect(readlinkSync(p('into-nothing'))).toBe('no-such-dir/x');
    expect(temporaries()).toEqual([]);
  });
});

describe('checkReplaceable: what the write would refuse, found before it (Pantheon checks --out before taking a counter)', () => {
  it('a missing directory, a path through a file, a name over 255 bytes', () => {
    expect(thrown(() => checkReplaceable(p('nodir/x.uzp')))).toEqual(['FILE_NOT_FOUND', `${p('nodir/x.uzp')}: its directory ${p('nodir')} does not exist; create it first (mkdir -p), or give another path`]);
    expect(thrown(() => checkReplaceable(p('target/x.uzp')))).toEqual(['FILE_IO', `${p('target/x.uzp')}: ${p('target')} is a regular file, not a directory; give another path`]);
    const [code, message] = thrown(() => checkReplaceable(p('z'.repeat(300))));
    expect(code).toBe('FILE_IO');
    expect(message).toMatch(/: name too long for the filesystem \(a name is at most 255 bytes on most/);
    // The same words as the write's own refusal of each.
    expect(thrown(() => writeFileAtomic(p('nodir/x.uzp'), 'x', { mode: 0o644, overwrite: true }))[0]).toBe('FILE_NOT_FOUND');
    expect(thrown(() => writeFileAtomic(p('z'.repeat(300)), 'x', { mode: 0o644, overwrite: true }))[1]).toBe(message);
  });

  it('passes a regular file, a new name, and a link to either', () => {
    for (const f of ['target', 'brand-new', 'link', 'dangling']) checkReplaceable(p(f));
    expect(temporaries()).toEqual([]);
  });
});

describe('writeFileAtomic and long names', () => {
  it('writes a 240-byte name (within NAME_MAX 255): the temporary name does not grow with it', () => {
    for (const overwrite of [true, false]) {
      const f = p(`${overwrite ? 'o' : 'n'}${'x'.repeat(239)}`);
      writeFileAtomic(f, 'long\n', { mode: 0o644, overwrite });
      expect(readFileSync(f, 'utf8')).toBe('long\n');
    }
    // Multi-byte characters count as bytes: 120 two-byte characters, cut on a character boundary.
    writeFileAtomic(p('é'.repeat(120)), 'long\n', { mode: 0o644, overwrite: true });
    expect(temporaries()).toEqual([]);
  });

  it('a 256-byte name is refused with a clear error (FILE_IO, no errno stack), and nothing is left behind', () => {
    for (const overwrite of [true, false]) {
      const [code, message] = thrown(() => writeFileAtomic(p('y'.repeat(256)), 'x', { mode: 0o644, overwrite }));
      expect(code).toBe('FILE_IO');
      expect(message).toMatch(/: name too long for the filesystem \(a name is at most 255 bytes on most/);
      expect(temporaries()).toEqual([]);
    }
  });

  // Making a link of another user takes root (lchown); elsewhere nothing can be planted to test.
  it.skipIf(process.geteuid?.() !== 0)("does not follow another user's symlink in a sticky, world-writable directory (the kernel's protected_symlinks)", () => {
    const shared = p('shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    writeFileSync(p('victim'), 'precious\n');
    symlinkSync(p('victim'), join(shared, 'report'));
    lchownSync(join(shared, 'report'), 65534, 65534);
    // Before: the write went through the planted link and replaced the victim.
    expect(() => writeFileAtomic(join(shared, 'report'), 'x', { mode: 0o644, overwrite: true })).toThrow(/symbolic link of another user \(uid 65534\) in a shared directory/);
    expect(readFileSync(p('victim'), 'utf8')).toBe('precious\n');
    // A link of our own there is followed.
    symlinkSync(p('victim'), join(shared, 'mine'));
    writeFileAtomic(join(shared, 'mine'), 'mine\n', { mode: 0o644, overwrite: true });
    expect(readFileSync(p('victim'), 'utf8')).toBe('mine\n');
  });
});

describe('orphaned temporary files (a writer killed between create and rename)', () => {
  it('a write removes its target name\'s temporary files older than an hour, and nothing else', () => {
    const d = mkdtempSync(join(tmp, 'orphans-'));
    const at = (f: string): string => join(d, f);
    const hoursAgo = (h: number): Date => new Date(Date.now() - h * 3_600_000);
    const old = ['.identity.key~0123456789ab.tmp', '.identity.key~ba9876543210.tmp'];
    for (const f of old) writeFileSync(at(f), 'secret of a dead writer');
    writeFileSync(at('.identity.key~00000000000f.tmp'), 'a writer still at work');
    writeFileSync(at('.other.key~0123456789ab.tmp'), 'another target\'s');
    writeFileSync(at('.identity.key~0123456789ab.tmp.bak'), 'not our pattern');
    writeFileSync(at('.identity.key~0123456789AB.tmp'), 'not our pattern (upper case)');
    mkdirSync(at('.identity.key~aaaaaaaaaaaa.tmp'));
    for (const f of [...old, '.other.key~0123456789ab.tmp', '.identity.key~0123456789ab.tmp.bak', '.identity.key~0123456789AB.tmp', '.identity.key~aaaaaaaaaaaa.tmp']) {
      utimesSync(at(f), hoursAgo(2), hoursAgo(2));
    }
    utimesSync(at('.identity.key~00000000000f.tmp'), hoursAgo(0.5), hoursAgo(0.5));
    writeFileAtomic(at('identity.key'), 'new key', { mode: 0o600 });
    expect(readFileSync(at('identity.key'), 'utf8')).toBe('new key');
    expect(readdirSync(d).sort()).toEqual([
      '.identity.key~00000000000f.tmp',
      '.identity.key~0123456789AB.tmp',
      '.identity.key~0123456789ab.tmp.bak',
      '.identity.key~aaaaaaaaaaaa.tmp',
      '.other.key~0123456789ab.tmp',
      'identity.key',
    ]);
  });

  it('a name of more than 28 bytes: nothing swept, since a longer name starting the same is cut to its temporary name', () => {
    const d = mkdtempSync(join(tmp, 'orphans-long-'));
    const stem = 'x'.repeat(32);
    const orphan = `.${stem}~abcdefabcdef.tmp`; // of ${stem}-b.grant, or of ${stem}-a.grant: cannot be told
    writeFileSync(join(d, orphan), '{}');
    utimesSync(join(d, orphan), new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    writeFileAtomic(join(d, `${stem}-a.grant`), '{"a":1}', { mode: 0o644, overwrite: true });
    expect(readdirSync(d).sort()).toEqual([orphan, `${stem}-a.grant`]);
    // 31 bytes: a 33-byte name ending in a 2-byte character is cut to it, so not swept either.
    const cut = 'z'.repeat(31);
    const longer = `.${cut}~abcdefabcdef.tmp`; // of ${cut}é
    writeFileSync(join(d, longer), '{}');
    utimesSync(join(d, longer), new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    writeFileAtomic(join(d, cut), '{}', { mode: 0o644, overwrite: true });
    expect(readdirSync(d)).toContain(longer);
    rmSync(join(d, longer));
    rmSync(join(d, cut));
    // 28 bytes: no longer name is cut to it; its orphan goes.
    const short = 'y'.repeat(28);
    const own = `.${short}~abcdefabcdef.tmp`;
    writeFileSync(join(d, own), '{}');
    utimesSync(join(d, own), new Date(Date.now() - 7_200_000), new Date(Date.now() - 7_200_000));
    writeFileAtomic(join(d, short), '{}', { mode: 0o644, overwrite: true });
    expect(readdirSync(d).sort()).toEqual([orphan, `${stem}-a.grant`, short]);
  });
});
