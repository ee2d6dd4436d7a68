// Serial settings are read back after every open (issue #10: a port configured 8E1 on a tty that
// refuses parity opened silently as 8N1). A Linux PTY is such a tty: its driver clears PARENB and
// forces CS8 on every tcsetattr. So the real binding, a real socat PTY and the real `stty` show the
// whole path: asked for 8E1, the tty reads back 8N1, an error line is logged and the port is marked
// degraded. By default PTYs are skipped (they have no wire, so parity means nothing on them); the
// 'always' setting used here is how the tests reach them. What no test here can show is a real
// UART refusing a setting; the comparison is the same code either way.

import { afterEach, describe, expect, it } from 'vitest';
import type { PortLog } from '../../src/ports/log.js';
import { SerialLink } from '../../src/ports/serial.js';
import { framingDifferences, isPseudoTerminal, parseSttyAll, readTtySettings } from '../../src/ports/tty-settings.js';
import { cleanupVirtualSerial, virtualLine, waitFor } from '../virtual-serial/harness.js';

afterEach(cleanupVirtualSerial);

function recorder(): PortLog & { errors: { obj: object; msg: string }[] } {
  const errors: { obj: object; msg: string }[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (obj, msg) => void errors.push({ obj, msg }) };
}

async function openChecked(o: { parity: 'none' | 'even'; stopBits: 1 | 2; verifySettings?: 'auto' | 'always' }): Promise<{ link: SerialLink; log: ReturnType<typeof recorder> }> {
  const line = await virtualLine({ baud: 19_200 });
  const log = recorder();
  const link = new SerialLink({ path: line.path, baudRate: 19_200, dataBits: 8, parity: o.parity, stopBits: o.stopBits, log, ...(o.verifySettings ? { verifySettings: o.verifySettings } : {}) }).start();
  await link.whenOpen();
  await waitFor(() => link.portStatus.settings.check !== 'pending', 10_000, 'the settings read-back');
  return { link, log };
}

describe('settings read back after open (real PTY, real stty)', () => {
  it('8E1 asked, the tty keeps no parity: an error line names both, and the port is degraded', async () => {
    const { link, log } = await openChecked({ parity: 'even', stopBits: 1, verifySettings: 'always' });
    try {
      expect(link.portStatus.settings).toMatchObject({ check: 'mismatch', configured: '19200 8E1', actual: '19200 8N1' });
      expect(link.portStatus.degraded).toBe(true);
      expect(log.errors).toHaveLength(1);
      expect(log.errors[0]!.msg).toContain('parity even configured, the tty has none');
      expect(log.errors[0]!.msg).toContain(link.path);
      expect(log.errors[0]!.obj).toMatchObject({ configured: '19200 8E1', actual: '19200 8N1' });
    } finally {
      await link.close();
    }
  });

  it('settings the tty keeps (19200 8N2) verify: no error, not degraded', async () => {
    const { link, log } = await openChecked({ parity: 'none', stopBits: 2, verifySettings: 'always' });
    try {
      expect(link.portStatus.settings).toMatchObject({ check: 'ok', configured: '19200 8N2', actual: '19200 8N2' });
      expect(link.portStatus.degraded).toBe(false);
      expect(log.errors).toEqual([]);
    } finally {
      await link.close();
    }
  });

  it('by default a PTY is not checked (its framing is not kept), and says why', async () => {
    const { link, log } = await openChecked({ parity: 'even', stopBits: 1 });
    try {
      expect(isPseudoTerminal(link.path)).toBe(true);
      expect(link.portStatus.settings).toMatchObject({ check: 'skipped', note: expect.stringMatching(/pseudo-terminal/) });
      expect(link.portStatus.degraded).toBe(false);
      expect(log.errors).toEqual([]);
    } finally {
      await link.close();
    }
  });

  it('readTtySettings reads a PTY with stty; a path that is not a tty is a PORT_IO error', async () => {
    const line = await virtualLine({ baud: 9600 });
    expect(await readTtySettings(line.path)).toMatchObject({ dataBits: 8, parity: 'none' });
    await expect(readTtySettings('/dev/null')).rejects.toMatchObject({ code: 'PORT_IO' });
  });
});

describe('parseSttyAll and framingDifferences', () => {
  const STTY = (speed: string, cflags: string): string =>
    [`speed ${speed} baud; rows 0; columns 0; line = 0;`, 'intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D;', `${cflags} cread clocal -crtscts`, '-ignbrk -brkint ignpar -parmrk -inpck -istrip'].join('\n');

  it('reads size, parity, stop bits and the speed', () => {
    expect(parseSttyAll(STTY('19200', '-parenb -parodd -cmspar cs8 hupcl -cstopb'))).toEqual({ baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1 });
    expect(parseSttyAll(STTY('9600', 'parenb -parodd -cmspar cs7 hupcl cstopb'))).toEqual({ baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 2 });
    expect(parseSttyAll(STTY('9600', 'parenb parodd -cmspar cs8 hupcl -cstopb'))?.parity).toBe('odd');
    expect(parseSttyAll(STTY('9600', 'parenb parodd cmspar cs8 hupcl -cstopb'))?.parity).toBe('mark');
    // A custom rate (termios2 BOTHER) prints as speed 0: unknown, not compared.
    expect(parseSttyAll(STTY('0', '-parenb -parodd cs8 -cstopb'))).toEqual({ dataBits: 8, parity: 'none', stopBits: 1 });
    expect(parseSttyAll('stty: /dev/x: Inappropriate ioctl for device')).toBeUndefined();
  });

  it('lists each difference; nothing for a match or an unknown speed', () => {
    const cfg = { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 } as const;
    expect(framingDifferences(cfg, { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 })).toEqual([]);
    expect(framingDifferences(cfg, { dataBits: 8, parity: 'even', stopBits: 1 })).toEqual([]);
    expect(framingDifferences(cfg, { baudRate: 9600, dataBits: 7, parity: 'none', stopBits: 2 })).toEqual([
      'baud 19200 configured, the tty runs 9600',
      '8 data bits configured, the tty has 7',
      'parity even configured, the tty has none',
      '1 stop bit(s) configured, the tty has 2',
    ]);
  });
});
