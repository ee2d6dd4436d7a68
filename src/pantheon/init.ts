// `pantheon init`: creates a trust domain: a fresh root key (DIR/root.key, 0600), the public trust
// anchor (DIR/trust.json) and empty issuing state. Never overwrites an existing domain.

import { absent, ensureDir } from '../files/fsutil.js';
import { writeKeyFile } from '../files/keyfile.js';
import { MAX_DOMAIN, writeTrustAnchor } from '../files/trust-anchor.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { generateIdentity } from '../uzp/identity/identity.js';
import { rootKeyPath, trustPath } from './domain.js';
import { emptyState, saveState, statePath } from './state.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { FileErrorCode } from '../files/errors.js';

const DOMAIN_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

interface InitResult {
  domain: string;
  dir: string;
  root_cid: string;
  root_public: string;
  files: string[];
}

export function initDomain(provider: CryptoProvider, dir: string, domain: string): InitResult {
  if (domain.length > MAX_DOMAIN || !DOMAIN_PATTERN.test(domain)) {
    throw new LocalError(CommonCode.USAGE, `--domain ${JSON.stringify(domain)}: use a DNS-style name (letters, digits, '.', '-')`);
  }
  for (const f of [rootKeyPath(dir), trustPath(dir), statePath(dir)]) {
    // lstat, not stat: a dangling symlink is something there too (another domain's file, moved or
    // not yet mounted). stat called it absent, and init wrote the root key and anchor before the
    // state file's write met the link (which a replacing write now follows: a fresh state written
    // over wherever it leads).
    if (!absent(f)) throw new LocalError(FileErrorCode.FILE_EXISTS, `${f}: a trust domain already exists here; refusing to overwrite it`);
  }
  ensureDir(dir, 0o700);
  const root = generateIdentity(provider);
  // Key first, exclusively: if two inits race, one of them fails here before writing anything else.
  writeKeyFile(rootKeyPath(dir), root);
  writeTrustAnchor(trustPath(dir), { domain, rootPublicKey: root.publicKey, rootCid: root.cid });
  saveState(dir, emptyState());
  return { domain, dir, root_cid: toHex(root.cid), root_public: toHex(root.publicKey), files: [rootKeyPath(dir), trustPath(dir), statePath(dir)] };
}
