// writeFileAtomic (src/files/fsutil.ts), behind every `--out FILE`: a write that replaces puts a new
// regular file where the name was, so whatever else is there (a symlink, a FIFO, a directory, a
// socket; as root, `--out /dev/null` replaced the machine's /dev/null) is refused, naming the path
// and what it is, with nothing written. Any name the filesystem takes can be written: the
// temporary file's name no longer grows with the target's. Everything here lives in a mkdtemp
// directory: no device node is made or touched (a FIFO stands in for a device).

import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/files/fsutil.js';
import { CodedError } from '../../src/lib/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-write-atomic-'));
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
    ['link', 'a symbolic link', () => lstatSync(p('link')).isSymbolicLink() && readlinkSync(p('link')) === 'target'],
    ['dangling', 'a symbolic link', () => lstatSync(p('dangling')).isSymbolicLink()],
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

  it('replaces a regular file when asked to; without overwrite a symlink is an existing file (FILE_EXISTS), as before', () => {
    writeFileAtomic(p('target'), 'ours\n', { mode: 0o644, overwrite: true });
    expect(readFileSync(p('target'), 'utf8')).toBe('ours\n');
    expect(thrown(() => writeFileAtomic(p('link'), 'x', { mode: 0o600 }))[0]).toBe('FILE_EXISTS');
    expect(readlinkSync(p('link'))).toBe('target');
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
});
