// "host:port" strings as they appear in RN Set Statements and on the command line.
// IPv6 literals are bracketed ("[::1]:7000"), as in URLs (RFC 3986 §3.2.2).

import { CommonCode, LocalError } from '../../lib/errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseAddress(s: string, what = 'address'): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `${what}: expected host:port (e.g. 127.0.0.1:7000 or [::1]:7000), got ${JSON.stringify(s)}`);
  }
  return { host: m[1] ?? m[2]!, port };
}

export function formatAddress(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
