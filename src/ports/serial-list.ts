// Listing serial devices. serialport's Linux list() shells out to `udevadm` and rejects when it
// is missing (containers, minimal images — FIELD-NOTES), so listPorts() never rejects: it
// returns an empty list and the reason, and callers fall back to the board profile's paths.

import { SerialPort } from 'serialport';
import { describeError } from './log.js';

/** What serialport reports per device (path, manufacturer, serial number, USB ids). */
type PortInfo = Awaited<ReturnType<typeof SerialPort.list>>[number];

export interface ListedPorts {
  readonly ports: readonly PortInfo[];
  /** Why the list is empty because listing failed; absent when listing worked. */
  readonly reason?: string;
}

export async function listPorts(list: () => Promise<PortInfo[]> = () => SerialPort.list()): Promise<ListedPorts> {
  try {
    return { ports: await list() };
  } catch (e) {
    const msg = describeError(e);
    const hint = /udevadm/i.test(msg) || /ENOENT/.test(msg) ? ' (is udevadm installed? on Debian: apt-get install udev)' : '';
    return { ports: [], reason: `serial port listing failed: ${msg}${hint}` };
  }
}
