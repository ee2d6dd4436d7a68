// The web console's flags and start-up, shared by `uzpgw collector --ui` and `uzpgw connect … ui`
// (issue #17; docs/CONSOLE.md). Checks everything before any network: the address parses, is
// loopback or comes with TLS and a token (the collector only; the operator's console is loopback
// only), the files can be read, the certificate and key are PEM and belong together, the token is
// long enough to resist guessing.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFileCapped } from '../files/fsutil.js';
import { isLoopback, parseListen, type ListenAddress } from '../console/address.js';
import { ConsoleCode, ConsoleError } from '../console/errors.js';
import type { ConsoleSource } from '../console/model.js';
import { ConsoleServer } from '../console/server.js';
import { usageError } from './flags.js';

/** At least 128 bits from a random generator, written as text: 22+ characters of base64 or 32 hex. */
const MIN_TOKEN = 22;

export const UI_TLS_FLAGS = {
  'ui-tls-cert': { type: 'string', placeholder: 'FILE', describe: 'serve the console over HTTPS with this PEM certificate chain (required off loopback)' },
  'ui-tls-key': { type: 'string', placeholder: 'FILE', describe: 'the PEM private key of --ui-tls-cert' },
  'ui-token-file': { type: 'string', placeholder: 'FILE', describe: `every console request must carry the token in FILE (at least ${MIN_TOKEN} characters; required off loopback)` },
} as const;

export interface ConsoleFlagValues {
  readonly 'ui-tls-cert'?: string | undefined;
  readonly 'ui-tls-key'?: string | undefined;
  readonly 'ui-token-file'?: string | undefined;
}

/** PEM files and tokens are small: a bigger file is refused without being read whole. */
const MAX_SECRET_FILE = 64 * 1024;

function readSecret(file: string, flag: string): Buffer {
  try {
    return Buffer.from(readFileCapped(file, MAX_SECRET_FILE, `${flag} file`).bytes);
  } catch (e) {
    throw new ConsoleError(ConsoleCode.UI_SECRET, `${flag}: ${(e as Error).message}`, { cause: e });
  }
}

/** OpenSSL's reason without its error code prefix (`error:05800074:x509 certificate routines::`). */
function opensslReason(e: unknown): string {
  return ((e as Error)?.message ?? String(e)).replace(/^error:[0-9A-Fa-f]+:[^:]*:[^:]*:/, '');
}

/**
 * The certificate and key as the HTTPS server will load them, checked now, each on its own and then
 * together: a junk or empty file, a key of another certificate or the two swapped failed only inside
 * createServer, as an "unexpected error" with OpenSSL's words and a stack. The message names the file
 * at fault and what to do; OpenSSL's reason is kept at the end.
 */
function checkTls(cert: Buffer, key: Buffer, certFile: string, keyFile: string): void {
  const fail = (text: string, e: unknown): never => {
    throw new ConsoleError(ConsoleCode.UI_SECRET, `${text} (OpenSSL: ${opensslReason(e)})`, { cause: e });
  };
  const swapped = '; are --ui-tls-cert and --ui-tls-key swapped?';
  try {
    createSecureContext({ cert });
  } catch (e) {
    fail(`--ui-tls-cert ${certFile}: not a PEM certificate chain (-----BEGIN CERTIFICATE-----)${cert.includes('PRIVATE KEY-----') ? swapped : '; give the certificate file'}`, e);
  }
  try {
    createSecureContext({ key });
  } catch (e) {
    fail(`--ui-tls-key ${keyFile}: not an unencrypted PEM private key (a -----BEGIN … PRIVATE KEY----- block)${key.includes('BEGIN CERTIFICATE-----') ? swapped : '; give the key file'}`, e);
  }
  // The server presents the file's first certificate: in a chain file that is the key's own.
  const chain = cert.toString('latin1').split('-----BEGIN CERTIFICATE-----').length > 2;
  const mismatch = `--ui-tls-key ${keyFile} is not the private key of the certificate in --ui-tls-cert ${certFile}; give the key the certificate was issued for${chain ? ', and put that certificate first in the file, the intermediates after it' : ''}`;
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    fail(mismatch, e);
  }
  // createSecureContext compares the two only when they are of one algorithm: an RSA certificate
  // with an EC key passed, and so did a chain file that starts with an intermediate of another
  // algorithm; the console then started and every handshake failed. X509Certificate reads the
  // first PEM CERTIFICATE block, the one the server presents.
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    return fail(mismatch, e);
  }
  if (!matches) throw new ConsoleError(ConsoleCode.UI_SECRET, mismatch);
}

export interface PreparedConsole {
  readonly listen: ListenAddress;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly token?: string;
}

/** Everything checked and read, before any network; `loopbackOnly` for the operator's console. */
export function prepareConsole(address: string, flag: string, f: ConsoleFlagValues, loopbackOnly: boolean): PreparedConsole {
  let listen: ListenAddress;
  try {
    listen = parseListen(address, flag);
  } catch (e) {
    throw usageError((e as Error).message);
  }
  if (loopbackOnly && !isLoopback(listen.host)) throw usageError(`${flag}: ${listen.host} is not loopback; the operator's console serves this workstation only (127.0.0.1 or ::1)`);
  const [cert, key, token] = [f['ui-tls-cert'], f['ui-tls-key'], f['ui-token-file']];
  if ((cert === undefined) !== (key === undefined)) throw usageError('--ui-tls-cert and --ui-tls-key go together');
  if (!isLoopback(listen.host) && (cert === undefined || token === undefined)) {
    throw usageError(`${flag}: ${listen.host} is not loopback: serving the console elsewhere needs HTTPS and a token (--ui-tls-cert, --ui-tls-key, --ui-token-file; docs/CONSOLE.md), or keep it on 127.0.0.1 and reach it through an SSH tunnel`);
  }
  let tokenText: string | undefined;
  if (token !== undefined) {
    tokenText = readSecret(token, '--ui-token-file').toString('utf8').trim();
    if (tokenText.length < MIN_TOKEN || /\s/.test(tokenText)) throw new ConsoleError(ConsoleCode.UI_SECRET, `--ui-token-file: the token must be one word of at least ${MIN_TOKEN} characters (e.g. \`openssl rand -base64 32 > ${token}\`)`);
  }
  let tls: { cert: Buffer; key: Buffer } | undefined;
  if (cert !== undefined && key !== undefined) {
    tls = { cert: readSecret(cert, '--ui-tls-cert'), key: readSecret(key, '--ui-tls-key') };
    checkTls(tls.cert, tls.key, cert, key);
  }
  return {
    listen,
    ...(tls !== undefined ? { tls } : {}),
    ...(tokenText !== undefined ? { token: tokenText } : {}),
  };
}

export function startConsole(p: PreparedConsole, source: ConsoleSource, onError: (e: unknown, path: string) => void): Promise<ConsoleServer> {
  return ConsoleServer.start({ source, listen: p.listen, ...(p.tls !== undefined ? { tls: p.tls } : {}), ...(p.token !== undefined ? { token: p.token } : {}), onError });
}
