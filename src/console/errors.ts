// Codes of the web console (src/console). Fault: local (an address or file the user gave).

import { CodedError } from '../lib/errors.js';

export const ConsoleCode = {
  /** --ui / --listen is not HOST:PORT, or names a non-loopback host without TLS and a token. */
  UI_ADDRESS: 'UI_ADDRESS',
  /** The address is taken or cannot be bound. */
  UI_LISTEN: 'UI_LISTEN',
  /** A TLS or token file cannot be read, the certificate and key are not a PEM pair, or the token is too short. */
  UI_SECRET: 'UI_SECRET',
  /** The page's files are missing from the installation. */
  UI_ASSETS: 'UI_ASSETS',
} as const;
export type ConsoleCode = (typeof ConsoleCode)[keyof typeof ConsoleCode];

export class ConsoleError extends CodedError<ConsoleCode> {
  constructor(code: ConsoleCode, message: string, options?: { cause?: unknown }) {
    super(code, 'local', message, options);
  }
}
