// Pure-JS provider on @noble/* for platforms without the OpenSSL primitives. It must produce the
// same bytes as the node provider on every input, and refuse exactly the same inputs with the
// same typed errors; test/uzp/crypto/agreement.test.ts holds both to that.

import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  blake3,
  blake3Hasher,
  checkAeadAlgorithm,
  checkBytes,
  checkHkdfExpand,
  checkLength,
  isAllZero,
  lowOrderError,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Generate,
} from './shared.js';
import { ed25519KeyAcceptable, isSmallOrderR } from './ed25519-rule.js';
import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  ED25519_PUBLIC_LENGTH,
  ED25519_SEED_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  SHA256_LENGTH,
  X25519_KEY_LENGTH,
  type Aead,
  type AeadAlgorithm,
  type CryptoProvider,
  type KeyPair,
  type Signer,
} from './provider.js';

/** RFC 8032 §5.1: L, the order of the prime-order subgroup. */
const L = ed25519.Point.Fn.ORDER;

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * RFC 8032 §5.1.7 verification, cofactorless, byte for byte what OpenSSL 3 does (and therefore
 * what the node provider does): S < L, k = SHA-512(R || A || M) mod L, accept iff the canonical
 * encoding of [S]B - [k]A equals the R bytes. noble's own verify() is cofactored and would accept
 * signatures whose R carries a torsion component, which OpenSSL rejects; two gateways must never
 * disagree on a signature, so we do not use it.
 */
function verifyCofactorless(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (!ed25519KeyAcceptable(pub)) return false; // profile rule: canonical, not small order (ed25519-rule.ts)
  const A = ed25519.Point.fromBytes(pub, false); // zip215 = false: strict RFC 8032 decoding, as the rule
  const r = sig.subarray(0, 32);
  if (isSmallOrderR(r)) return false; // profile rule 3 (ed25519-rule.ts)
  const s = leToBigint(sig.subarray(32, 64));
  if (s >= L) return false; // §5.1.7 step 1: S must be canonical
  const h = sha512.create().update(r).update(pub).update(msg).digest();
  const k = leToBigint(h) % L;
  const check = ed25519.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return bytesEqual(check.toBytes(), r);
}

class NobleAead implements Aead {
  private readonly key: Uint8Array;
  constructor(
    readonly algorithm: AeadAlgorithm,
    key: Uint8Array,
  ) {
    this.key = key.slice(); // our own copy: the caller may wipe theirs
  }
  private cipher(nonce: Uint8Array, ad: Uint8Array) {
    return this.algorithm === 'chacha20-poly1305' ? chacha20poly1305(this.key, nonce, ad) : gcm(this.key, nonce, ad);
  }
  seal(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    checkLength(nonce, AEAD_NONCE_LENGTH, 'aead nonce');
    checkBytes(plaintext, 'aead plaintext');
    checkBytes(ad, 'aead associated data');
    // RFC 8439 §2.8 / SP 800-38D: output is ciphertext || 16-byte tag (draft §6.1: full tag).
    return this.cipher(nonce, ad).encrypt(plaintext);
  }
  sealPieces(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array[] {
    return [this.seal(nonce, plaintext, ad)];
  }
  open(nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
    if (!(nonce instanceof Uint8Array) || !(sealed instanceof Uint8Array) || !(ad instanceof Uint8Array)) return null;
    if (nonce.length !== AEAD_NONCE_LENGTH || sealed.length < AEAD_TAG_LENGTH) return null;
    try {
      return this.cipher(nonce, ad).decrypt(sealed);
    } catch {
      return null; // bad tag: no exception on the hot path, the caller drops the block
    }
  }
}

export const nobleProvider: CryptoProvider = {
  name: 'noble',

  randomBytes: (n) => randomBytes(n),

  sha256: (data) => {
    checkBytes(data, 'sha256 input');
    return sha256(data);
  },
  sha512: (data) => {
    checkBytes(data, 'sha512 input');
    return sha512(data);
  },
  hmacSha256: (key, data) => {
    checkBytes(key, 'hmac key');
    checkBytes(data, 'hmac data');
    return hmac(sha256, key, data);
  },
  hkdfExtract: (salt, ikm) => {
    checkBytes(salt, 'hkdf extract salt');
    checkBytes(ikm, 'hkdf extract ikm');
    // RFC 5869 §2.2: an absent salt is HashLen zero bytes; we treat the empty salt the same way.
    return hkdfExtract(sha256, ikm, salt.length === 0 ? new Uint8Array(SHA256_LENGTH) : salt);
  },
  hkdfExpand(prk, info, length) {
    checkHkdfExpand(prk, info, length);
    return hkdfExpand(sha256, prk, info, length);
  },
  blake3,
  blake3Hasher,

  x25519Generate(): KeyPair {
    const privateKey = randomBytes(X25519_KEY_LENGTH);
    return { privateKey, publicKey: nobleProvider.x25519PublicKey(privateKey) };
  },
  x25519PublicKey(priv) {
    checkLength(priv, X25519_KEY_LENGTH, 'x25519 private key');
    return x25519.getPublicKey(priv);
  },
  x25519(priv, pub) {
    checkLength(priv, X25519_KEY_LENGTH, 'x25519 private key');
    checkLength(pub, X25519_KEY_LENGTH, 'x25519 public key');
    let shared: Uint8Array;
    try {
      // noble refuses the low-order u-coordinates before running the ladder; with both lengths
      // checked above, that is the only way this call can fail.
      shared = x25519.getSharedSecret(priv, pub);
    } catch (e) {
      throw lowOrderError(e);
    }
    if (isAllZero(shared)) throw lowOrderError(); // RFC 7748 §6.1, belt and braces
    return shared;
  },

  ed25519Generate(): KeyPair {
    const privateKey = randomBytes(ED25519_SEED_LENGTH);
    return { privateKey, publicKey: nobleProvider.ed25519PublicKey(privateKey) };
  },
  ed25519PublicKey(seed) {
    checkLength(seed, ED25519_SEED_LENGTH, 'ed25519 seed');
    return ed25519.getPublicKey(seed);
  },
  signer(seed): Signer {
    checkLength(seed, ED25519_SEED_LENGTH, 'ed25519 seed');
    const own = seed.slice(); // like node's KeyObject: unaffected if the caller wipes the seed
    const publicKey = ed25519.getPublicKey(own);
    return {
      publicKey,
      sign: (msg) => {
        checkBytes(msg, 'ed25519 message');
        return ed25519.sign(msg, own); // RFC 8032 §5.1.6: deterministic
      },
    };
  },
  ed25519Verify(pub, msg, sig) {
    if (!(pub instanceof Uint8Array) || !(msg instanceof Uint8Array) || !(sig instanceof Uint8Array)) return false;
    if (pub.length !== ED25519_PUBLIC_LENGTH || sig.length !== ED25519_SIGNATURE_LENGTH) return false;
    try {
      return verifyCofactorless(pub, msg, sig);
    } catch {
      return false; // never throw on peer input
    }
  },

  aead(algorithm, key) {
    checkAeadAlgorithm(algorithm);
    checkLength(key, AEAD_KEY_LENGTH, `${algorithm} key`);
    return new NobleAead(algorithm, key);
  },

  mlkem768Generate,
  mlkem768Encapsulate,
  mlkem768Decapsulate,
};
