// socat PTY pairs: started and stopped by pid, links appear and vanish, clear errors.

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, readlinkSync, symlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtyPair } from '../../src/sim/pty.js';
import { errorOf } from '../helpers/errors.js';
import { Collector } from '../virtual-serial/collect.js';
import { cleanupVirtualSerial, openPort } from '../virtual-serial/harness.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { SimErrorCode } from '../../src/sim/errors.js';
import { CommonCode } from '../../src/lib/errors.js';

let dir = '';
const pairs: PtyPair[] = [];
afterEach(async () => {
  await cleanupVirtualSerial();
  for (const p of pairs.splice(0)) await p.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function pair(): Promise<PtyPair> {
  dir = mkdtempSync(join(tmpdir(), 'uzp-pty-test-'));
  const p = await PtyPair.open({ linkA: join(dir, 'a'), linkB: join(dir, 'b') });
  pairs.push(p);
  return p;
}

describe('PtyPair (socat)', () => {
  it('creates both links to /dev/pts and carries bytes both ways (real serialport)', async () => {
    const p = await pair();
    expect(readlinkSync(p.linkA)).toMatch(/^\/dev\/pts\/\d+$/);
    expect(readlinkSync(p.linkB)).toMatch(/^\/dev\/pts\/\d+$/);
    const a = await openPort(p.linkA, 9600);
    const b = await openPort(p.linkB, 9600);
    const atA = new Collector(a);
    const atB = new Collector(b);
    a.write(Buffer.from([0x00, 0x0d, 0x0a, 0x11, 0x13, 0xff])); // raw: no CR/LF mapping, no XON/XOFF
    b.write(Buffer.from('back'));
    await atB.bytesAtLeast(6);
    await atA.textIncludes('back');
    expect([...atB.bytes]).toEqual([0x00, 0x0d, 0x0a, 0x11, 0x13, 0xff]);
  });

  it('close() stops socat by its pid and the links vanish; reopen() recreates them at the same paths', async () => {
    const p = await pair();
    const pid = p.pid!;
    expect(p.isOpen).toBe(true);
    await p.close();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(p.isOpen).toBe(false);
    expect(existsSync(p.linkA) || existsSync(p.linkB)).toBe(false);
    await p.reopen();
    expect(p.pid).not.toBe(pid);
    expect(lstatSync(p.linkA).isSymbolicLink()).toBe(true);
  });

  it('replaces a stale link left by a killed socat', async () => {
    dir = mkdtempSync(join(tmpdir(), 'uzp-pty-test-'));
    symlinkSync('/dev/pts/9999', join(dir, 'a'));
    const p = await PtyPair.open({ linkA: join(dir, 'a'), linkB: join(dir, 'b') });
    pairs.push(p);
    expect(readlinkSync(p.linkA)).not.toBe('/dev/pts/9999');
  });

  it('refuses to replace a regular file (FILE_EXISTS)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'uzp-pty-test-'));
    writeFileSync(join(dir, 'a'), 'precious');
    const e = await errorOf(PtyPair.open({ linkA: join(dir, 'a'), linkB: join(dir, 'b') }));
    expect(e.code).toBe(FileErrorCode.FILE_EXISTS);
  });

  it('a missing socat is a clear TOOL_MISSING error', async () => {
    const e = await errorOf(PtyPair.open({ linkA: '/tmp/x-a', linkB: '/tmp/x-b', socatPath: '/nonexistent/socat' }));
    expect(e.code).toBe(SimErrorCode.TOOL_MISSING);
    expect(e.message).toMatch(/apt-get install socat/);
  });

  it('refuses link paths socat would misparse (USAGE)', async () => {
    expect((await errorOf(PtyPair.open({ linkA: '/tmp/a,b', linkB: '/tmp/c' }))).code).toBe(CommonCode.USAGE);
    expect((await errorOf(PtyPair.open({ linkA: 'relative', linkB: '/tmp/c' }))).code).toBe(CommonCode.USAGE);
  });

  it('a link in a missing directory fails with TOOL_FAILED and socat\'s own message', async () => {
    const e = await errorOf(PtyPair.open({ linkA: '/nonexistent-dir/a', linkB: '/nonexistent-dir/b' }));
    expect(e.code).toBe(SimErrorCode.TOOL_FAILED);
  });
});
