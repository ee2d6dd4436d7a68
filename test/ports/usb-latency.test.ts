// lowerUsbLatencyTimer (src/ports/usb-latency.ts) against a sysfs tree of real files: an FTDI-class
// adapter reached through a /dev/serial/by-id symlink gets its latency timer lowered to 1 ms (and
// is left alone once it is), a tty without the attribute is not touched, and an attribute the
// gateway may not write is reported with the udev rule that fixes it — never thrown.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lowerUsbLatencyTimer } from '../../src/ports/usb-latency.js';
import type { PortLog } from '../../src/ports/log.js';

const root = mkdtempSync(join(tmpdir(), 'uzp-usb-latency-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function recorder(): PortLog & { lines: { level: string; msg: string; obj: object }[] } {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** /dev/<tty> (a plain file standing in for the node), a by-id symlink to it, and its sysfs directory. */
function adapter(tty: string, latency?: string): { byId: string; attr: string } {
  mkdirSync(join(root, 'dev'), { recursive: true });
  mkdirSync(join(root, 'by-id'), { recursive: true });
  writeFileSync(join(root, 'dev', tty), '');
  const byId = join(root, 'by-id', `usb-FTDI_${tty}-if00-port0`);
  symlinkSync(join(root, 'dev', tty), byId);
  const dir = join(root, 'sys', 'class', 'tty', tty, 'device');
  mkdirSync(dir, { recursive: true });
  const attr = join(dir, 'latency_timer');
  if (latency !== undefined) writeFileSync(attr, latency);
  return { byId, attr };
}

describe('USB latency timer', () => {
  it('lowers 16 ms to 1 ms through a by-id symlink, then leaves it alone', async () => {
    const a = adapter('ttyUSB0', '16\n');
    const log = recorder();
    expect(await lowerUsbLatencyTimer(a.byId, log, join(root, 'sys'))).toBe('set');
    expect(readFileSync(a.attr, 'utf8').trim()).toBe('1');
    expect(log.lines).toEqual([expect.objectContaining({ level: 'info', msg: expect.stringMatching(/lowered from 16 ms to 1 ms/) })]);
    expect(await lowerUsbLatencyTimer(a.byId, log, join(root, 'sys'))).toBe('already');
    expect(log.lines).toHaveLength(1);
  });

  it('a tty without the attribute (UART, CDC-ACM, PTY) or a missing device: nothing done, nothing logged', async () => {
    const a = adapter('ttyAMA0');
    const log = recorder();
    expect(await lowerUsbLatencyTimer(a.byId, log, join(root, 'sys'))).toBe('none');
    expect(await lowerUsbLatencyTimer(join(root, 'dev', 'ttyUSB9'), log, join(root, 'sys'))).toBe('none');
    expect(log.lines).toEqual([]);
  });

  it('an attribute it may not write: a warning with the udev rule, no exception', async () => {
    // A sysctl file that is read-only even for root (mode 0444 holds for uid 0 under /proc/sys).
    const a = adapter('ttyUSB1');
    symlinkSync('/proc/sys/fs/file-nr', a.attr);
    const log = recorder();
    expect(await lowerUsbLatencyTimer(a.byId, log, join(root, 'sys'))).toBe('denied');
    expect(log.lines).toEqual([expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ udev: expect.stringContaining('ATTR{latency_timer}="1"') }) })]);
  });
});
