// checkReportPath (src/cli/report-path.ts): a report path that cannot be written is refused with a
// message that fits why; one that can is left as it was (an existing report is not truncated, a
// new one is not left behind empty). A named pipe is taken when a reader has it open (`--junit
// >(wc -c)`), refused when nobody does (the write would wait for ever); a character device
// (`--por-log /dev/stderr`) is taken. Only FIFOs made here: no device is opened; the device branch
// is checked on stat-like values.

import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkReportPath, classifyReportTarget, type StatKind } from '../../src/cli/report-path.js';

const dir = mkdtempSync(join(tmpdir(), 'uzpgw-report-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkReportPath', () => {
  it('refuses a directory, a missing directory and a path through a file, each saying so', () => {
    mkdirSync(join(dir, 'reports'));
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => checkReportPath('--junit', join(dir, 'reports'))).toThrow(/--junit .*reports: .*reports is a directory; give a file path, e\.g\. .*reports\/report\.xml/);
    expect(() => checkReportPath('--junit', join(dir, 'missing', 'r.xml'))).toThrow(/the directory .*missing does not exist; make it/);
    expect(() => checkReportPath('--junit', join(dir, 'file', 'r.xml'))).toThrow(/a part of .*file is a file, not a directory/);
  });

  it('leaves a writable path as it was', () => {
    writeFileSync(join(dir, 'old.xml'), '<old/>');
    checkReportPath('--junit', join(dir, 'old.xml'));
    expect(readFileSync(join(dir, 'old.xml'), 'utf8')).toBe('<old/>');
    checkReportPath('--junit', join(dir, 'new.xml'));
    expect(existsSync(join(dir, 'new.xml'))).toBe(false);
  });

  it('follows a link to a regular file; refuses a link to nothing, and leaves the link as it was', () => {
    writeFileSync(join(dir, 'target.xml'), '<t/>');
    symlinkSync(join(dir, 'target.xml'), join(dir, 'to-target.xml'));
    checkReportPath('--junit', join(dir, 'to-target.xml'));
    expect(readFileSync(join(dir, 'target.xml'), 'utf8')).toBe('<t/>');
    symlinkSync(join(dir, 'gone.xml'), join(dir, 'dangling.xml'));
    // Before: the open created gone.xml through the link, then the check removed the link itself.
    expect(() => checkReportPath('--junit', join(dir, 'dangling.xml'))).toThrow(/dangling\.xml is a symbolic link to nothing/);
    expect(lstatSync(join(dir, 'dangling.xml')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'gone.xml'))).toBe(false);
  });

  it('takes a named pipe (FIFO) a reader has open, directly or through a link, and keeps it open for the report', () => {
    const fifo = join(dir, 'read.fifo');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, join(dir, 'to-read.fifo'));
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      checkReportPath('--junit', fifo);
      checkReportPath('--por-log', join(dir, 'to-read.fifo'));
      // The reader sees no end-of-file: a write end is still open (EAGAIN, not 0 bytes read).
      expect(() => readSync(reader, Buffer.alloc(16))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    } finally {
      closeSync(reader);
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('refuses a named pipe nobody reads (the write would wait for ever), saying how to give it a reader', () => {
    const fifo = join(dir, 'unread.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => checkReportPath('--junit', fifo)).toThrow(
      /--junit \S+unread\.fifo: \S+unread\.fifo is a named pipe \(FIFO\): writing to it waits until a reader opens it, not a regular file; give the path of a file, or start its reader first/,
    );
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('classifies a character device (/dev/stderr, /dev/null) as written to; a block device and a socket are refused', () => {
    const kind = (k: 'file' | 'dir' | 'fifo' | 'chr' | 'blk' | 'sock' | 'link'): StatKind => ({
      isFile: () => k === 'file',
      isDirectory: () => k === 'dir',
      isFIFO: () => k === 'fifo',
      isCharacterDevice: () => k === 'chr',
      isBlockDevice: () => k === 'blk',
      isSocket: () => k === 'sock',
      isSymbolicLink: () => k === 'link',
    });
    expect(classifyReportTarget('/dev/null', kind('chr'), kind('chr'))).toEqual({ check: 'reader' });
    expect(classifyReportTarget('/dev/stderr', kind('link'), kind('chr'))).toEqual({ check: 'reader' });
    expect(classifyReportTarget('/dev/fd/63', kind('link'), kind('fifo'))).toEqual({ check: 'reader' });
    expect(classifyReportTarget('/r.xml', undefined, undefined)).toEqual({ check: 'append' });
    expect(classifyReportTarget('/r.xml', kind('link'), kind('file'))).toEqual({ check: 'append' });
    expect(classifyReportTarget('/dev/sda', kind('blk'), kind('blk'))).toEqual({ refused: '/dev/sda is a block device, not a regular file; give the path of a file, or of one to create' });
    expect(classifyReportTarget('/s', kind('sock'), kind('sock'))).toEqual({ refused: '/s is a socket, not a regular file; give the path of a file, or of one to create' });
    expect(classifyReportTarget('/gone', kind('link'), undefined)).toEqual({ refused: '/gone is a symbolic link to nothing; give the path of a file, or of one to create' });
  });
});
