// A principal's long-term Ed25519 identity (draft §4.4): the seed never leaves this object except
// through src/files/keyfile.ts; everything else sees the public key, the CID and a Signer.

import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { ED25519_SEED_LENGTH } from '../crypto/provider.js';
import { CryptoError } from '../errors.js';
import { cidOf } from './cid.js';

export interface Identity {
  /** 32-byte Ed25519 seed (RFC 8032 §5.1.5 private key). Secret. */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** BLAKE3-256(publicKey). */
  readonly cid: Uint8Array;
  readonly signer: Signer;
}

export function identityFromSeed(provider: CryptoProvider, seed: Uint8Array): Identity {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_LENGTH) {
    throw new CryptoError(`ed25519 seed: expected ${ED25519_SEED_LENGTH} bytes, got ${seed instanceof Uint8Array ? seed.length : typeof seed}`);
  }
  const signer = provider.signer(seed);
  return { seed: seed.slice(), publicKey: signer.publicKey, cid: cidOf(provider, signer.publicKey), signer };
}

export function generateIdentity(provider: CryptoProvider): Identity {
  return identityFromSeed(provider, provider.randomBytes(ED25519_SEED_LENGTH));
}
