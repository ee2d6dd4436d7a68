// Trust anchor file: the domain root public key every endpoint and RN validates artefacts against.
//   {"kind":"uzp-gw/trust-anchor","domain":text,"root_public":hex64,"root_cid":hex64}
// Public information (mode 0644); root_cid must be BLAKE3-256(root_public).

import { equal, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ED25519_PUBLIC_LENGTH } from '../uzp/crypto/provider.js';
import { CID_LENGTH, cidOf } from '../uzp/identity/cid.js';
import { readFileCapped, writeFileAtomic } from './fsutil.js';
import { hexField, parseJsonObject, textField, utf8Text } from './json.js';
import { FileErrorCode } from './errors.js';
import { LocalError } from '../lib/errors.js';

const TRUST_ANCHOR_KIND = 'uzp-gw/trust-anchor';
const KEYS = ['kind', 'domain', 'root_public', 'root_cid'] as const;
const MAX_TRUST_FILE = 4096;
export const MAX_DOMAIN = 253;

export interface TrustAnchor {
  readonly domain: string;
  readonly rootPublicKey: Uint8Array;
  readonly rootCid: Uint8Array;
}

export function encodeTrustAnchor(a: TrustAnchor): string {
  return JSON.stringify({ kind: TRUST_ANCHOR_KIND, domain: a.domain, root_public: toHex(a.rootPublicKey), root_cid: toHex(a.rootCid) }, null, 2) + '\n';
}

export function parseTrustAnchor(provider: CryptoProvider, text: string, file: string): TrustAnchor {
  const code = FileErrorCode.FILE_INVALID;
  const o = parseJsonObject(text, file, TRUST_ANCHOR_KIND, KEYS, code);
  const domain = textField(o, 'domain', MAX_DOMAIN, file, code, true);
  const rootPublicKey = hexField(o, 'root_public', ED25519_PUBLIC_LENGTH, file, code);
  const rootCid = hexField(o, 'root_cid', CID_LENGTH, file, code);
  if (!equal(cidOf(provider, rootPublicKey), rootCid)) throw new LocalError(code, `${file}: "root_cid" is not BLAKE3-256 of "root_public"`);
  return { domain, rootPublicKey, rootCid };
}

export function writeTrustAnchor(file: string, a: TrustAnchor, opts: { overwrite?: boolean } = {}): void {
  writeFileAtomic(file, encodeTrustAnchor(a), { mode: 0o644, overwrite: opts.overwrite ?? false });
}

export function loadTrustAnchor(provider: CryptoProvider, file: string): TrustAnchor {
  const { bytes } = readFileCapped(file, MAX_TRUST_FILE, 'trust anchor file');
  return parseTrustAnchor(provider, utf8Text(bytes, file, FileErrorCode.FILE_INVALID), file);
}
