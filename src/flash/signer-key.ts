// The key that signs reference manifests. It belongs to whoever flashes (verifiers trust manifests
// by its CID), so it lives in the flashing user's config directory, not in the image. Created on
// first use when no --sign-key is given, so a first flash just works; an explicit --sign-key must exist.

import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { ensureDir, exists } from '../files/fsutil.js';
import { loadKeyFile, writeKeyFile } from '../files/keyfile.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { generateIdentity, type Identity } from '../uzp/identity/identity.js';
import { FileErrorCode } from '../files/errors.js';
import { LocalError } from '../lib/errors.js';

/** $XDG_CONFIG_HOME (when absolute, as the XDG spec requires) or ~/.config, + uzp-gateway/manifest-signer.key. */
export function defaultSignerKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(homedir(), '.config');
  return join(base, 'uzp-gateway', 'manifest-signer.key');
}

interface SignerKey {
  readonly file: string;
  /** Absent only in a dry run that would create the key. */
  readonly identity?: Identity;
  /** True when this call created the key (or, in a dry run, would create it). */
  readonly created: boolean;
}

export function signerKey(p: CryptoProvider, opts: { file?: string; dryRun: boolean; env?: NodeJS.ProcessEnv }): SignerKey {
  if (opts.file !== undefined) {
    if (!exists(opts.file)) throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `${opts.file}: no such signing key; create one with \`uzpgw keygen --out ${opts.file}\` or leave out --sign-key to use the default`);
    return { file: opts.file, identity: loadKeyFile(p, opts.file), created: false };
  }
  const file = defaultSignerKeyPath(opts.env);
  if (exists(file)) return { file, identity: loadKeyFile(p, file), created: false };
  if (opts.dryRun) return { file, created: true };
  ensureDir(dirname(file), 0o700);
  const id = generateIdentity(p);
  writeKeyFile(file, id);
  return { file, identity: id, created: true };
}
