// `uzpgw slots check` run on the gateway itself: are the serial devices the slots name there, and
// may this user open them? A missing device or a missing dialout membership otherwise shows only
// when the gateway runs (an error line in its log, `uzpgw status`). These are warnings, not
// errors: the config is right, the machine is not ready yet (an adapter unplugged, a UART not yet
// enabled, a PTY not yet made), and the gateway keeps retrying until it is.

import { childPath } from '../lib/json-path.js';
import { deviceAccessProblem } from '../ports/device-access.js';
import type { ConfigIssue } from './issues.js';
import type { Board, BoardPort, GatewayConfig } from './types.js';

const VIRTUAL_DIR_TOKEN = '{virtual_dir}';

/** What makes the device of `port` appear, for the fix of a missing one. */
function howToMakeIt(port: BoardPort, board: Board): string {
  if (port.device?.startsWith(VIRTUAL_DIR_TOKEN) === true) return 'the virtual board’s PTYs exist only while its equipment runs: start it first (`npm run demo`, or the HIL harness), then the gateway';
  if (port.kind === 'uart' || port.kind === 'rs485') {
    const lines = port.docs.split('\n').filter((l) => /^\s*(enable_uart|dtoverlay|dtparam)\b/.test(l));
    const enable = lines.length > 0 ? `add ${lines.map((l) => `\`${l.trim()}\``).join(' and ')} to config.txt (/boot/firmware/config.txt; /boot/config.txt on older images) and reboot` : 'enable the UART (see the port’s notes)';
    return `${enable}; \`uzpgw boards show ${board.id}\` lists what port ${port.id} needs`;
  }
  return 'plug the adapter in and check its name with `ls -l /dev/serial/by-id/`';
}

/** One warning per serial slot whose device is missing, not a tty, or not readable+writable here. */
export function devicePathWarnings(config: GatewayConfig, board: Board, file: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const slot of config.slots) {
    const path = slot.port.path;
    if (path === undefined) continue; // net slots, and serial ones whose path is already an error
    const p = deviceAccessProblem(path);
    if (p === undefined) continue;
    const port = board.ports.find((x) => x.id === slot.port.id);
    const fix = p.code === 'ENOENT' && port !== undefined ? howToMakeIt(port, board) : p.check;
    out.push({
      severity: 'warning',
      file,
      path: slot.portPath !== undefined ? childPath(childPath('slots', slot.id), 'port_path') : childPath('slots', slot.id),
      expected: `serial device ${path} present and readable+writable by this user (checked on this machine; --no-file-check skips it)`,
      found: p.found,
      fix,
    });
  }
  return out;
}
