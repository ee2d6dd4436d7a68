// Canonical identity (CID): draft §4.4 defines it as a hash (e.g. BLAKE3) of the principal's
// long-term public signing key. This profile fixes CID = BLAKE3-256(Ed25519 public key), 32 bytes,
// written as 64 lowercase hex characters wherever a human or a JSON file sees it.

import { toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ED25519_PUBLIC_LENGTH } from '../crypto/provider.js';
import { CryptoError } from '../errors.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export const CID_LENGTH = 32;
const CID_HEX_LENGTH = CID_LENGTH * 2;

/** draft §4.4: CID = BLAKE3-256(public signing key). Throws CryptoError on a wrong-length key (local misuse). */
export function cidOf(provider: CryptoProvider, publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_LENGTH) {
    throw new CryptoError(`ed25519 public key: expected ${ED25519_PUBLIC_LENGTH} bytes, got ${publicKey instanceof Uint8Array ? publicKey.length : typeof publicKey}`);
  }
  return provider.blake3(publicKey);
}

/** Lowercase hex, exactly 64 characters. */
export function cidToString(cid: Uint8Array): string {
  if (cid.length !== CID_LENGTH) throw new RangeError(`CID: expected ${CID_LENGTH} bytes, got ${cid.length}`);
  return toHex(cid);
}

/** Strict parse: exactly 64 lowercase hex characters (one spelling per CID), DecodeError otherwise. */
export function parseCid(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length !== CID_HEX_LENGTH || !/^[0-9a-f]+$/.test(s)) {
    const shown = typeof s === 'string' ? JSON.stringify(s.length > 20 ? s.slice(0, 20) + '…' : s) : typeof s;
    throw new DecodeError(CommonCode.DECODE_VALUE, `CID: expected ${CID_HEX_LENGTH} lowercase hex characters, got ${shown}`);
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}
