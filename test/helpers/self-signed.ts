// A throwaway self-signed certificate for localhost / 127.0.0.1 (openssl), for TLS servers a test
// starts on loopback (an mqtts:// broker, a wss:// bridge). remove() deletes its directory.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSigned {
  readonly dir: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly certFile: string;
  remove(): void;
}

export async function selfSigned(): Promise<SelfSigned> {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-mqtts-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
  } catch (e) {
    remove();
    throw e;
  }
  return { dir, key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), certFile: join(dir, 'cert.pem'), remove };
}
