// The hang-up-aware binding: a tty read after the other side has gone must close the port
// (stock bindings-cpp retries the 0-byte read forever: serialport/bindings-cpp issue #162).

import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtyPair } from '../../src/sim/pty.js';
import { closeSerial, openSerial } from '../../src/sim/serial-open.js';
import { Collector } from '../virtual-serial/collect.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('tty binding', () => {
  it('reads and writes like the stock binding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uzp-tty-test-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const pair = await PtyPair.open({ linkA: join(dir, 'a'), linkB: join(dir, 'b') });
    cleanup.push(() => pair.close());
    const a = await openSerial(pair.linkA, 9600);
    const b = await openSerial(pair.linkB, 9600);
    cleanup.push(() => closeSerial(a), () => closeSerial(b));
    const atB = new Collector(b);
    a.write(Buffer.alloc(5000, 0x55));
    await atB.bytesAtLeast(5000);
    expect(atB.bytes.every((x) => x === 0x55)).toBe(true);
  });

  it('a read issued after the PTY was hung up closes the port with a disconnect instead of spinning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uzp-tty-test-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const pair = await PtyPair.open({ linkA: join(dir, 'a'), linkB: join(dir, 'b') });
    cleanup.push(() => pair.close());
    const a = await openSerial(pair.linkA, 9600);
    cleanup.push(() => closeSerial(a));
    a.on('error', () => {});
    // Not reading yet: the hang-up happens first, so the first read() sees a hung-up tty (returns 0).
    await pair.close();
    const closed = new Promise<Error | null>((r) => a.once('close', (e: Error | null) => r(e)));
    a.on('data', () => {});
    const err = await closed;
    expect(a.isOpen).toBe(false);
    expect((err as { disconnected?: boolean } | null)?.disconnected).toBe(true);
  });
});
