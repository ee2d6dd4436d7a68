// Why a configured serial device path cannot be used, in words an installer can act on. Asked by
// the SerialLink when an open fails (the serialport binding's errors carry no errno, only a
// sentence) and by `uzpgw slots check` on the gateway. A path that exists and is readable and
// writable by this process gives no problem here; the open may still fail (EBUSY, a driver fault),
// and then the binding's own sentence is all there is.

import { accessSync, constants, statSync } from 'node:fs';
import { userInfo } from 'node:os';

export type DeviceAccessCode = 'ENOENT' | 'EACCES' | 'ENOTTY';

export interface DeviceAccessProblem {
  readonly code: DeviceAccessCode;
  /** What is wrong, e.g. "/dev/ttyUSB0 does not exist". */
  readonly found: string;
  /** What to check or do about it. */
  readonly check: string;
}

const MISSING_CHECK =
  'check that the device exists: is the USB adapter plugged in (`ls -l /dev/serial/by-id/`)? For an on-board UART, is it enabled in config.txt (/boot/firmware/config.txt, or /boot/config.txt on older images: enable_uart=1 or its dtoverlay=uartN line) and was the board rebooted?';

function whoAmI(): string {
  try {
    const u = userInfo();
    return `${u.username} (uid ${u.uid})`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'the gateway user';
  }
}

/** The problem with `path` as a serial device for this process, or undefined when it looks usable. */
export function deviceAccessProblem(path: string): DeviceAccessProblem | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return noAccess(path, 'cannot be looked up (a directory on its path is not searchable)');
    return { code: 'ENOENT', found: `${path} does not exist`, check: MISSING_CHECK };
  }
  if (!st.isCharacterDevice()) return { code: 'ENOTTY', found: `${path} is not a character device (not a tty)`, check: 'point the slot at the serial device itself (/dev/ttyAMA0, /dev/serial/by-id/…)' };
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch {
    return noAccess(path, `is not readable and writable by ${whoAmI()}`);
  }
  return undefined;
}

function noAccess(path: string, what: string): DeviceAccessProblem {
  return {
    code: 'EACCES',
    found: `${path} ${what}`,
    check: `check permissions: the gateway's user must be in the group that owns the device, usually dialout (\`ls -l ${path}\`; \`sudo usermod -aG dialout ${userName()}\`, then restart the gateway)`,
  };
}
