// Character timing on an asynchronous serial line: how long one byte occupies the wire and how
// long the Modbus RTU silences are. The gateway's RTU master, the simulator's pacer and RTU framer
// and the benches all read it from here, so "a byte" and "3.5 characters" mean the same thing
// everywhere.

import { CommonCode, LocalError } from '../lib/errors.js';

/** Character framing as written on equipment labels: data bits, parity (N/E/O), stop bits. */
export type Framing = `${5 | 6 | 7 | 8}${'N' | 'E' | 'O'}${1 | 2}`;

export const DEFAULT_FRAMING: Framing = '8N1';

/**
 * Bits on the wire per character: 1 start bit + data bits + parity bit (if any) + stop bits.
 * 8N1 = 10, 8E1 / 8O1 / 8N2 = 11 (Modbus over Serial Line V1.02 §2.5.1: an RTU character is
 * 11 bits; 8N1 is the common field deviation, so the framing is configurable).
 */
export function bitsPerChar(framing: Framing = DEFAULT_FRAMING): number {
  const m = /^([5-8])([NEO])([12])$/.exec(framing);
  if (m === null) throw new LocalError(CommonCode.USAGE, `framing: expected e.g. 8N1, 8E1, 8O1 or 8N2, got ${JSON.stringify(framing)}`);
  return 1 + Number(m[1]) + (m[2] === 'N' ? 0 : 1) + Number(m[3]);
}

/** Checks a baud rate: a positive integer up to 4 Mbaud (what USB adapters reach). */
function checkBaud(baud: number): number {
  if (!Number.isInteger(baud) || baud <= 0 || baud > 4_000_000) {
    throw new LocalError(CommonCode.USAGE, `baud: expected a positive integer rate such as 9600 or 115200, got ${baud}`);
  }
  return baud;
}

/** Milliseconds one character occupies the line; `framing` as on a label, or bits per character. */
export function charTimeMs(baud: number, framing: Framing | number = DEFAULT_FRAMING): number {
  return ((typeof framing === 'number' ? framing : bitsPerChar(framing)) * 1000) / checkBaud(baud);
}

/**
 * Modbus over Serial Line V1.02 §2.5.1.1: the inter-frame silence t3.5 is 3.5 character times,
 * fixed at 1.750 ms above 19200 baud (so fast lines do not need sub-character timers).
 */
export function t35Ms(baud: number, framing: Framing | number = DEFAULT_FRAMING): number {
  return checkBaud(baud) > 19_200 ? 1.75 : 3.5 * charTimeMs(baud, framing);
}

/** Same section: the inter-character limit t1.5, fixed at 0.750 ms above 19200 baud. */
export function t15Ms(baud: number, framing: Framing | number = DEFAULT_FRAMING): number {
  return checkBaud(baud) > 19_200 ? 0.75 : 1.5 * charTimeMs(baud, framing);
}

/**
 * The shortest a Modbus RTU transaction can take on the line (§2.5.1.1): the request's and the
 * reply's characters, each frame followed by t3.5 of silence. What a master at line rate reaches,
 * one transaction at a time; the benches' `spec_line_limit` is 1000 / this.
 */
export function rtuTransactionMs(requestBytes: number, replyBytes: number, baud: number, framing: Framing | number = DEFAULT_FRAMING): number {
  return (requestBytes + replyBytes) * charTimeMs(baud, framing) + 2 * t35Ms(baud, framing);
}
