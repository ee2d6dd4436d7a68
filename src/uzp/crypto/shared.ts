// Primitives both providers take from @noble: node:crypto (OpenSSL 3.0) has no BLAKE3 and no ML-KEM.

import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { CryptoError } from '../errors.js';
import {
  BLAKE3_LENGTH,
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_PUBLIC_LENGTH,
  MLKEM768_SECRET_LENGTH,
  type KeyPair,
} from './provider.js';

export function blake3(data: Uint8Array, length = BLAKE3_LENGTH): Uint8Array {
  return nobleBlake3(data, { dkLen: length });
}

/** FIPS 203 ML-KEM-768 key generation; `seed` (64 bytes d || z) makes it deterministic for vectors. */
export function mlkem768Generate(seed?: Uint8Array): KeyPair {
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  return { publicKey, privateKey: secretKey };
}

export function mlkem768Encapsulate(publicKey: Uint8Array, seed?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  if (publicKey.length !== MLKEM768_PUBLIC_LENGTH) {
    throw new CryptoError(`ml-kem-768 public key: expected ${MLKEM768_PUBLIC_LENGTH} bytes, got ${publicKey.length}`);
  }
  try {
    return ml_kem768.encapsulate(publicKey, seed);
  } catch (e) {
    // FIPS 203 §7.2 modulus check failure: the peer sent a malformed encapsulation key.
    throw new CryptoError(`ml-kem-768 encapsulation key rejected: ${(e as Error).message}`, undefined, { cause: e });
  }
}

export function mlkem768Decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (cipherText.length !== MLKEM768_CIPHERTEXT_LENGTH) {
    throw new CryptoError(`ml-kem-768 ciphertext: expected ${MLKEM768_CIPHERTEXT_LENGTH} bytes, got ${cipherText.length}`);
  }
  if (secretKey.length !== MLKEM768_SECRET_LENGTH) {
    throw new CryptoError(`ml-kem-768 secret key: expected ${MLKEM768_SECRET_LENGTH} bytes, got ${secretKey.length}`);
  }
  return ml_kem768.decapsulate(cipherText, secretKey);
}
