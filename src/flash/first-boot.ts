// First boot of a flashed gateway (the unit's ExecStartPre): create the gateway's identity on the
// device itself, so the secret key never exists anywhere else, and an enrollment request the domain
// admin turns into a PCert (draft §4.4: Pantheon certifies locally generated keys). Once the key
// exists this does nothing, so it is safe on every start.

import { lstatSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { createEnrollRequest, writeEnrollRequest } from '../files/enroll-request.js';
import { ensureDir, fileError } from '../files/fsutil.js';
import { writeKeyFile } from '../files/keyfile.js';
import type { GatewayConfig } from '../config/types.js';
import { MAX_TEXT } from '../uzp/artefacts/constants.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { generateIdentity } from '../uzp/identity/identity.js';
import { ENROLL_REQUEST_NAME } from './layout.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';
import { checkKeyDirsForWrite } from '../files/key-dirs.js';

export interface FirstBootResult {
  readonly created: boolean;
  readonly key: string;
  readonly cid?: string;
  readonly request?: string;
  readonly name?: string;
}

/** The name for the request: the config's, else the hostname (bounded; never empty). */
function requestName(c: GatewayConfig, host: () => string = hostname): string {
  const n = (c.name ?? host()).trim().slice(0, MAX_TEXT);
  return n === '' ? 'uzp-gateway' : n;
}

function statOrMissing(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileError(e, file, 'check for the identity key');
  }
}

export function firstBoot(p: CryptoProvider, c: GatewayConfig, host: () => string = hostname): FirstBootResult {
  const key = c.identity.key;
  const st = statOrMissing(key);
  if (st !== undefined) {
    if (!st.isFile()) throw new LocalError(FileErrorCode.FILE_INVALID, `${key}: exists but is not a regular file (expected the identity key)`);
    return { created: false, key };
  }
  const dir = dirname(key);
  ensureDir(dir, 0o700);
  // Before the request: a key the directory check refuses would leave, at every restart of the
  // unit, a request for a CID whose key was never written (an operator enrolling it gets a PCert
  // nothing can use).
  checkKeyDirsForWrite(key);
  const id = generateIdentity(p);
  const name = requestName(c, host);
  const request = join(dir, ENROLL_REQUEST_NAME);
  // The request first: if writing the key then fails, the next start finds no key and redoes both,
  // so a request on disk never belongs to a key that was lost. A stale request is replaced.
  writeEnrollRequest(request, createEnrollRequest(id, { name, role: 'gateway' }), { overwrite: true });
  writeKeyFile(key, id);
  return { created: true, key, cid: toHex(id.cid), request, name };
}
