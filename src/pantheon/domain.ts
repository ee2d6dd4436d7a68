// A Pantheon trust domain on disk: DIR/root.key (0600), DIR/trust.json, DIR/state.json.

import { join } from 'node:path';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor, type TrustAnchor } from '../files/trust-anchor.js';
import { equal } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { Identity } from '../uzp/identity/identity.js';
import { CommonCode, LocalError } from '../lib/errors.js';

const ROOT_KEY_FILE = 'root.key';
const TRUST_FILE = 'trust.json';

export interface Domain {
  readonly dir: string;
  readonly root: Identity;
  readonly anchor: TrustAnchor;
}

export function rootKeyPath(dir: string): string {
  return join(dir, ROOT_KEY_FILE);
}
export function trustPath(dir: string): string {
  return join(dir, TRUST_FILE);
}

/** Loads the root key and trust anchor of DIR and checks that they belong together. */
export function openDomain(provider: CryptoProvider, dir: string): Domain {
  const anchor = loadTrustAnchor(provider, trustPath(dir));
  const root = loadKeyFile(provider, rootKeyPath(dir));
  if (!equal(root.cid, anchor.rootCid)) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `${dir}: ${ROOT_KEY_FILE} is not the root key named in ${TRUST_FILE}`);
  }
  return { dir, root, anchor };
}

/** Validity window from now (ms) for `seconds`; iat = nbf = now. */
export function windowFrom(nowMs: number, seconds: number): { issuedAt: number; notBefore: number; expiresAt: number } {
  const now = Math.floor(nowMs / 1000);
  return { issuedAt: now, notBefore: now, expiresAt: now + seconds };
}

export const DAY = 86_400;
export const HOUR = 3_600;
