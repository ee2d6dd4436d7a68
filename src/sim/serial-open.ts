// Opening a tty with the real serialport binding, as a promise with a typed error. Used by the
// virtual line (its relay end) and the harness (the gateway / test end).

import { SerialPort } from 'serialport';
import { ttyBinding } from '../ports/tty-binding.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';

/**
 * Opens `path` at `baud` (raw, 8N1 termios; a PTY ignores the rate, the pacer enforces it), with
 * the hang-up-aware binding so an unplugged tty closes the port instead of spinning (tty-binding.ts).
 */
export function openSerial(path: string, baud: number): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    // SerialPort's typings omit `binding`, but its constructor spreads options over the default.
    const opts = { path, baudRate: baud, autoOpen: false, binding: ttyBinding } as ConstructorParameters<typeof SerialPort>[0];
    const port = new SerialPort(opts);
    port.open((err) => {
      if (err) reject(new LocalError(FileErrorCode.FILE_IO, `cannot open ${path}: ${err.message}`, { cause: err }));
      else resolve(port);
    });
  });
}

/** Closes `port` if open; never rejects (a port whose device vanished is closed already). */
export function closeSerial(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}
