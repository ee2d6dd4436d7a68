// Reading back what a tty was really set to. serialport's binding (bindings-cpp) applies the
// framing with tcsetattr and does not check the result, and POSIX lets tcsetattr succeed when only
// some of the changes took: a UART or driver without parity support comes up 8N1 when asked for
// 8E1, and nothing says so. The binding offers no tcgetattr (its get() returns modem lines only),
// so the settings are read with coreutils `stty -F PATH -a`, which opens the device and prints its
// termios. termios belong to the tty, not to one file descriptor, so this shows what the gateway's
// own open set.
//
// Linux pseudo-terminals have no wire: the pty driver clears PARENB and forces CS8 on every
// tcsetattr (drivers/tty/pty.c pty_set_termios), so every PTY reads back as 8N1 whatever was asked.
// Callers therefore skip PTYs unless told otherwise (isPseudoTerminal).

import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { PortIoError } from './errors.js';
import { describeError, type PortLog } from './log.js';
import type { SettingsCheck } from './serial-status.js';

export interface TtySettings {
  /** Absent when stty shows a custom rate (speed 0: termios2 BOTHER), which it cannot print. */
  readonly baudRate?: number;
  readonly dataBits: 5 | 6 | 7 | 8;
  readonly parity: 'none' | 'even' | 'odd' | 'mark' | 'space';
  readonly stopBits: 1 | 2;
}

export interface ConfiguredFraming {
  readonly baudRate: number;
  readonly dataBits: 5 | 6 | 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
}

const STTY_TIMEOUT_MS = 5_000;

/** "19200 8E1" */
export function framingName(f: { baudRate?: number; dataBits: number; parity: string; stopBits: number }): string {
  return `${f.baudRate ?? '?'} ${f.dataBits}${f.parity[0]!.toUpperCase()}${f.stopBits}`;
}

/** The framing in `stty -a` output (GNU coreutils); undefined when the text is not that. */
export function parseSttyAll(text: string): TtySettings | undefined {
  const flags = new Set(text.split(/[\s;]+/).filter((w) => w !== ''));
  const size = (['cs5', 'cs6', 'cs7', 'cs8'] as const).find((c) => flags.has(c));
  const parenb = flags.has('parenb') ? true : flags.has('-parenb') ? false : undefined;
  const cstopb = flags.has('cstopb') ? true : flags.has('-cstopb') ? false : undefined;
  if (size === undefined || parenb === undefined || cstopb === undefined) return undefined;
  const speed = /\bspeed (\d+) baud/.exec(text);
  // A rate is a safe integer: digits past that (not coreutils output) are no rate at all.
  const baud = speed !== null && Number.isSafeInteger(Number(speed[1])) ? Number(speed[1]) : 0;
  const parodd = flags.has('parodd');
  const parity = !parenb ? 'none' : flags.has('cmspar') ? (parodd ? 'mark' : 'space') : parodd ? 'odd' : 'even';
  return { ...(baud > 0 ? { baudRate: baud } : {}), dataBits: Number(size.slice(2)) as 5 | 6 | 7 | 8, parity, stopBits: cstopb ? 2 : 1 };
}

/** Runs `stty -F path -a`; rejects with PORT_IO when stty is missing, fails, or prints something else. */
export function readTtySettings(path: string, stty = 'stty'): Promise<TtySettings> {
  return new Promise((resolve, reject) => {
    execFile(stty, ['-F', path, '-a'], { timeout: STTY_TIMEOUT_MS, encoding: 'utf8' }, (e, stdout, stderr) => {
      if (e) return reject(new PortIoError(`${stty} -F ${path} -a failed: ${(stderr || e.message).trim()}`, { cause: e }));
      const s = parseSttyAll(stdout);
      if (s === undefined) return reject(new PortIoError(`${stty} -F ${path} -a: no framing in its output`));
      resolve(s);
    });
  });
}

/** Each way the tty differs from the configuration, as a sentence; [] when it matches. */
export function framingDifferences(configured: ConfiguredFraming, actual: TtySettings): string[] {
  const out: string[] = [];
  if (actual.baudRate !== undefined && actual.baudRate !== configured.baudRate) out.push(`baud ${configured.baudRate} configured, the tty runs ${actual.baudRate}`);
  if (actual.dataBits !== configured.dataBits) out.push(`${configured.dataBits} data bits configured, the tty has ${actual.dataBits}`);
  if (actual.parity !== configured.parity) out.push(`parity ${configured.parity} configured, the tty has ${actual.parity}`);
  if (actual.stopBits !== configured.stopBits) out.push(`${configured.stopBits} stop bit(s) configured, the tty has ${actual.stopBits}`);
  return out;
}

/** True when `path` resolves to a Unix98 pseudo-terminal (/dev/pts/N): its framing is not kept. */
export function isPseudoTerminal(path: string): boolean {
  try {
    return /^\/dev\/pts\/\d+$/.test(realpathSync(path));
  } catch {
    return false;
  }
}

/**
 * The settings check of a port just opened at `path`: skipped when verification is off or (in
 * 'auto') for a PTY; otherwise the framing read back and compared. A difference is logged at error
 * level (the port is then degraded); a read that fails leaves the settings unverified (warn).
 */
export async function checkTtyFraming(path: string, configured: ConfiguredFraming, verify: 'auto' | 'always' | 'off', log: PortLog): Promise<SettingsCheck> {
  const base = { configured: framingName(configured) };
  if (verify === 'off') return { ...base, check: 'skipped', note: 'verification off' };
  if (verify === 'auto' && isPseudoTerminal(path)) return { ...base, check: 'skipped', note: 'pseudo-terminal: Linux keeps no parity or character size on a PTY' };
  let actual: TtySettings;
  try {
    actual = await readTtySettings(path);
  } catch (e) {
    log.warn({ path, err: describeError(e) }, `serial: could not read back the settings of ${path}; they are not verified`);
    return { ...base, check: 'unknown', note: describeError(e) };
  }
  const differences = framingDifferences(configured, actual);
  if (differences.length === 0) {
    log.debug({ path, framing: base.configured }, 'serial: settings verified');
    return { ...base, actual: framingName(actual), check: 'ok' };
  }
  log.error(
    { path, configured: base.configured, actual: framingName(actual), differences },
    `serial: ${path} is open as ${framingName(actual)}, not the configured ${base.configured} (${differences.join('; ')}): the driver or UART ignored part of the settings; the port is degraded. Check that the port supports them (\`uzpgw boards show\`) or match the device to what the port can do`,
  );
  return { ...base, actual: framingName(actual), check: 'mismatch', differences };
}
