// Where a console listens. Loopback by default and by rule: the page shows a fleet's state and
// audit trail, so it is reachable from elsewhere only over TLS and with a bearer token (issue #17,
// docs/CONSOLE.md "Serving beyond loopback"). The operator's console (`connect … ui`) is loopback
// only, like `connect modbus-tcp` (ARCHITECTURE: the operator's listeners are loopback listeners).

import { isIP } from 'node:net';
import { ConsoleCode, ConsoleError } from './errors.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** 127.0.0.0/8, ::1 and "localhost". */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** "HOST:PORT" or "[v6]:PORT"; port 0 picks a free one. */
export function parseListen(text: string, flag: string): ListenAddress {
  const i = text.lastIndexOf(':');
  const host = text.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const portText = text.slice(i + 1);
  const port = Number(portText);
  if (i <= 0 || host === '' || !/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new ConsoleError(ConsoleCode.UI_ADDRESS, `${flag}: expected HOST:PORT such as 127.0.0.1:8080, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (host !== 'localhost' && isIP(host) === 0) throw new ConsoleError(ConsoleCode.UI_ADDRESS, `${flag}: ${JSON.stringify(host.slice(0, 64))} is not an IP address (give 127.0.0.1, ::1, or the address of one of this machine's interfaces)`);
  return { host, port };
}

/**
 * The Host header values (RFC 9110 §7.2) a tokenless console answers: its own address, and on
 * loopback every name of loopback, each with its port. A browser leaves the port out when it is the
 * scheme's default (80 for http, 443 for https: RFC 3986 §3.2.3, WHATWG URL), so on that port the
 * bare names are its address too; elsewhere a bare name is another origin's (refused, 421).
 */
export function consoleHosts(address: string, port: number, tls: boolean): Set<string> {
  const own = address.includes(':') ? `[${address}]` : address;
  const names = [own, 'localhost', ...(isLoopback(address) ? ['127.0.0.1', '[::1]'] : [])];
  const bare = port === (tls ? 443 : 80);
  return new Set(names.flatMap((n) => (bare ? [`${n}:${port}`, n] : [`${n}:${port}`])));
}
