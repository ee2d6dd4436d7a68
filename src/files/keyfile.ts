// Ed25519 secret key file:
//   {"kind":"uzp-gw/ed25519-secret","seed":hex64,"public":hex64,"cid":hex64}
// Written with mode 0600 (created so, then chmod'ed, via temp file + link/rename). Loading refuses
// a file that grants any permission to group or others, or that another user owns, the way ssh
// refuses such a key, and one under a directory another user could replace it through (key-dirs.ts).

import { equal, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ED25519_PUBLIC_LENGTH, ED25519_SEED_LENGTH } from '../uzp/crypto/provider.js';
import { CID_LENGTH } from '../uzp/identity/cid.js';
import { identityFromSeed, type Identity } from '../uzp/identity/identity.js';
import { readFileCapped, writeFileAtomic } from './fsutil.js';
import { checkKeyDirs, checkKeyDirsForWrite } from './key-dirs.js';
import { hexField, parseJsonObject, utf8Text } from './json.js';
import { FileErrorCode } from './errors.js';
import { LocalError } from '../lib/errors.js';

const KEY_FILE_KIND = 'uzp-gw/ed25519-secret';
export const KEY_FILE_MODE = 0o600;
const MAX_KEY_FILE = 4096;
const KEYS = ['kind', 'seed', 'public', 'cid'] as const;

export function encodeKeyFile(id: Identity): string {
  return JSON.stringify({ kind: KEY_FILE_KIND, seed: toHex(id.seed), public: toHex(id.publicKey), cid: toHex(id.cid) }) + '\n';
}

/** Parses key file text; every error is KEY_FILE_INVALID naming `file`. Checks seed/public/cid agree. */
export function parseKeyFile(provider: CryptoProvider, text: string, file: string): Identity {
  const code = FileErrorCode.KEY_FILE_INVALID;
  const o = parseJsonObject(text, file, KEY_FILE_KIND, KEYS, code);
  const seed = hexField(o, 'seed', ED25519_SEED_LENGTH, file, code);
  const pub = hexField(o, 'public', ED25519_PUBLIC_LENGTH, file, code);
  const cid = hexField(o, 'cid', CID_LENGTH, file, code);
  const id = identityFromSeed(provider, seed);
  if (!equal(id.publicKey, pub)) throw new LocalError(code, `${file}: "public" does not belong to "seed" (corrupted or edited key file)`);
  if (!equal(id.cid, cid)) throw new LocalError(code, `${file}: "cid" is not BLAKE3-256 of "public" (corrupted or edited key file)`);
  return id;
}

/**
 * Writes a new key file with mode 0600; refuses to replace an existing file unless `overwrite`, and
 * refuses a directory another user could replace it through (KEY_FILE_PERMISSIONS, as loadKeyFile
 * would at every later load).
 */
export function writeKeyFile(file: string, id: Identity, opts: { overwrite?: boolean } = {}): void {
  checkKeyDirsForWrite(file);
  writeFileAtomic(file, encodeKeyFile(id), { mode: KEY_FILE_MODE, overwrite: opts.overwrite ?? false });
}

/**
 * Loads a key file, refusing group/other permissions, another user's file, and a directory above it
 * that another user could replace it through (KEY_FILE_PERMISSIONS). What is not a key file at all
 * (a PCert given as --key) is said first: "chmod 600" would be the wrong fix for it.
 */
export function loadKeyFile(provider: CryptoProvider, file: string): Identity {
  const { bytes, mode, uid } = readFileCapped(file, MAX_KEY_FILE, 'key file');
  const id = parseKeyFile(provider, utf8Text(bytes, file, FileErrorCode.KEY_FILE_INVALID), file);
  checkKeyFileMode(file, mode, uid);
  checkKeyDirs(file);
  return id;
}

/**
 * mode & 0o077 must be 0, and the owner this user or root, as ssh asks of a private key: a key
 * another user owns is one that user can replace with its own (POSIX only: Windows has neither).
 */
function checkKeyFileMode(file: string, mode: number, uid: number): void {
  if (process.platform === 'win32') return;
  const me = process.geteuid?.();
  if (me !== undefined && uid !== me && uid !== 0) {
    throw new LocalError(FileErrorCode.KEY_FILE_PERMISSIONS, `${file}: secret key file is owned by uid ${uid}, not by this user (uid ${me}) or root, so that user could replace it; fix with: chown ${me} ${file}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new LocalError(
      FileErrorCode.KEY_FILE_PERMISSIONS,
      `${file}: secret key file is accessible by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); fix with: chmod 600 ${file}`,
    );
  }
}
