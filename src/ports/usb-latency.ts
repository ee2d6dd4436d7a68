// FTDI-class USB-serial adapters hold received bytes until 62 are buffered or their latency timer
// expires: 16 ms by default, which caps a Modbus RTU bus near 50 transactions a second whatever
// the baud rate. Linux exposes the timer as a sysfs attribute of the usb-serial port
// (/sys/class/tty/ttyUSB0/device/latency_timer, ftdi_sio); recent kernels no longer lower it for
// the ASYNC_LOW_LATENCY flag the serial link also asks for. We set it to 1 ms where the attribute
// exists and we may write it, and say how to make it permanent where we may not (a udev rule).
// Every other tty (on-board UARTs, CDC-ACM adapters, PTYs) has no such attribute and is left alone.

import { readFile, realpath, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describeError, type PortLog } from './log.js';

export const TARGET_LATENCY_MS = 1;

export type LatencyOutcome = 'set' | 'already' | 'none' | 'denied';

const UDEV_RULE = 'ACTION=="add", SUBSYSTEM=="usb-serial", DRIVER=="ftdi_sio", ATTR{latency_timer}="1"';

/**
 * Lowers the latency timer of the USB adapter behind `devicePath` (a /dev path or a symlink such as
 * /dev/serial/by-id/…) to TARGET_LATENCY_MS. `sysfs` is the sysfs mount (tests point it at a
 * directory of their own). Never throws: the link works either way, only slower.
 */
export async function lowerUsbLatencyTimer(devicePath: string, log: PortLog, sysfs = '/sys'): Promise<LatencyOutcome> {
  let tty: string;
  try {
    tty = basename(await realpath(devicePath));
  } catch {
    return 'none'; // not there (yet): the serial link reports that itself
  }
  const attr = join(sysfs, 'class', 'tty', tty, 'device', 'latency_timer');
  let current: number;
  try {
    current = Number.parseInt((await readFile(attr, 'utf8')).trim(), 10);
  } catch {
    return 'none'; // not an FTDI-class adapter
  }
  if (Number.isInteger(current) && current <= TARGET_LATENCY_MS) return 'already';
  try {
    await writeFile(attr, `${TARGET_LATENCY_MS}\n`);
  } catch (e) {
    log.warn(
      { path: devicePath, attr, latency_ms: current, err: describeError(e), udev: UDEV_RULE },
      `serial: ${devicePath} is a USB adapter with a ${current} ms latency timer, which slows every Modbus transaction; the gateway may not lower it (${describeError(e)}). Add the udev rule in "udev" to /etc/udev/rules.d/99-uzp-ftdi.rules, or run the gateway with write access to ${attr}`,
    );
    return 'denied';
  }
  log.info({ path: devicePath, attr, from_ms: current, to_ms: TARGET_LATENCY_MS }, `serial: ${devicePath} USB latency timer lowered from ${current} ms to ${TARGET_LATENCY_MS} ms`);
  return 'set';
}
