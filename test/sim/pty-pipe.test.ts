// One PTY whose far side is socat's pipes (the virtual line's gateway side): bytes both ways, raw;
// the tty closed and reopened by its user; socat stopped by pid, gone by itself, and replugged.

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtyPipe } from '../../src/sim/pty-pipe.js';
import { errorOf } from '../helpers/errors.js';
import { Collector } from '../virtual-serial/collect.js';
import { cleanupVirtualSerial, openPort } from '../virtual-serial/harness.js';
import { CommonCode } from '../../src/lib/errors.js';
import { SimErrorCode } from '../../src/sim/errors.js';

let dir = '';
const ptys: PtyPipe[] = [];
afterEach(async () => {
  await cleanupVirtualSerial();
  for (const p of ptys.splice(0)) await p.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function ptyPipe(): Promise<PtyPipe> {
  dir = mkdtempSync(join(tmpdir(), 'uzp-ptypipe-test-'));
  const p = await PtyPipe.open({ link: join(dir, 'tty') });
  ptys.push(p);
  return p;
}

describe('PtyPipe (socat pty <-> stdio)', () => {
  it('carries raw bytes between the tty (real serialport) and the pipe end, both ways', async () => {
    const p = await ptyPipe();
    expect(readlinkSync(p.link)).toMatch(/^\/dev\/pts\/\d+$/);
    const tty = await openPort(p.link, 9600);
    const atTty = new Collector(tty);
    const atPipe = new Collector(p.end!);
    tty.write(Buffer.from([0x00, 0x0d, 0x0a, 0x11, 0x13, 0xff])); // raw: no CR/LF mapping, no XON/XOFF
    p.end!.write(Buffer.from([0x03, 0x0d, 0x7f, 0x1a]));
    await atPipe.bytesAtLeast(6);
    await atTty.bytesAtLeast(4);
    expect([...atPipe.bytes]).toEqual([0x00, 0x0d, 0x0a, 0x11, 0x13, 0xff]);
    expect([...atTty.bytes]).toEqual([0x03, 0x0d, 0x7f, 0x1a]);
  });

  it('outlives the tty being closed and opened again (a gateway reconnecting its port)', async () => {
    const p = await ptyPipe();
    const end = p.end!;
    const atPipe = new Collector(end);
    for (let i = 0; i < 3; i++) {
      const tty = await openPort(p.link, 9600);
      const atTty = new Collector(tty);
      tty.write(Buffer.from(`req${i};`));
      await atPipe.textIncludes(`req${i};`);
      end.write(Buffer.from(`rep${i};`));
      await atTty.textIncludes(`rep${i};`);
      await new Promise<void>((resolve) => tty.close(() => resolve()));
    }
    expect(p.end).toBe(end);
  });

  it('close() stops socat by its pid, ends the pipe and removes the link; reopen() gives a new end at the same path', async () => {
    const p = await ptyPipe();
    const pid = p.pid!;
    const end = p.end!;
    await p.close();
    await end.closed;
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(p.isOpen).toBe(false);
    expect(p.end).toBeNull();
    expect(existsSync(p.link)).toBe(false);
    await p.reopen();
    expect(p.pid).not.toBe(pid);
    expect(p.end).not.toBe(end);
    const tty = await openPort(p.link, 9600);
    const atTty = new Collector(tty);
    p.end!.write(Buffer.from('again'));
    await atTty.textIncludes('again');
  });

  it('socat killed from outside: `closed` resolves, the end is gone and a write to it is lost, not thrown', async () => {
    const p = await ptyPipe();
    const end = p.end!;
    process.kill(p.pid!, 'SIGKILL');
    await end.closed;
    expect(p.isOpen).toBe(false);
    expect(p.end).toBeNull();
    expect(() => end.write(Buffer.from('nobody'))).not.toThrow();
    await p.reopen(); // the stale link a SIGKILL leaves is replaced
    expect(readlinkSync(p.link)).toMatch(/^\/dev\/pts\/\d+$/);
  });

  it('refuses link paths socat would misparse (USAGE) and says how to get a missing socat', async () => {
    expect((await errorOf(PtyPipe.open({ link: '/tmp/a:b' }))).code).toBe(CommonCode.USAGE);
    expect((await errorOf(PtyPipe.open({ link: 'relative' }))).code).toBe(CommonCode.USAGE);
    const e = await errorOf(PtyPipe.open({ link: '/tmp/x-tty', socatPath: '/nonexistent/socat' }));
    expect(e.code).toBe(SimErrorCode.TOOL_MISSING);
    expect(e.message).toMatch(/apt-get install socat/);
  });
});
