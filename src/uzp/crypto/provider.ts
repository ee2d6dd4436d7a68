// One crypto interface for the whole protocol core. Two implementations must produce identical
// bytes on the same inputs: `node` (node:crypto, the default: 10-30x faster for curves on a Pi-class
// CPU) and `noble` (pure JS on @noble/*, for platforms without the OpenSSL primitives).
// BLAKE3 comes from @noble in both providers (node:crypto has none); ML-KEM-768 from OpenSSL 3.5
// where the runtime has it (Node 24), else from @noble (node.ts, docs/PROFILE.md §Crypto).

export type AeadAlgorithm = 'chacha20-poly1305' | 'aes-256-gcm';

/** Key sizes and the full 128-bit tag (draft §6.1: never below 96 bits; we use the full tag). */
export const AEAD_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;
export const X25519_KEY_LENGTH = 32;
export const ED25519_SEED_LENGTH = 32;
export const ED25519_PUBLIC_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const SHA256_LENGTH = 32;
export const BLAKE3_LENGTH = 32;
export const MLKEM768_PUBLIC_LENGTH = 1184;
/** The expanded decapsulation key dkPKE || ek || H(ek) || z (FIPS 203 §7.1). */
export const MLKEM768_SECRET_LENGTH = 2400;
/** The seed d || z, the other form of a decapsulation key (FIPS 203 §3.3, §7.1); what mlkem768Generate returns. */
export const MLKEM768_SEED_LENGTH = 64;
export const MLKEM768_CIPHERTEXT_LENGTH = 1088;
export const MLKEM768_SHARED_LENGTH = 32;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** An AEAD bound to one key. `open` returns null on authentication failure (no exception on the hot path). */
export interface Aead {
  readonly algorithm: AeadAlgorithm;
  /** Returns ciphertext || 16-byte tag. */
  seal(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array;
  /**
   * The same bytes as seal(), in a fresh array of the pieces the library produced them in
   * (node:crypto: ciphertext, then tag; @noble: one piece). A writer that sends the pieces as they
   * are saves joining them: one allocation and one copy of every block (blocks/protect.ts).
   */
  sealPieces(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array[];
  /** Takes ciphertext || tag; returns plaintext or null when the tag does not verify. */
  open(nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null;
}

/** An Ed25519 signing key held by the provider (node caches the KeyObject). */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** An incremental BLAKE3-256; digest() ends it (a later update or digest throws). */
export interface Blake3Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

export interface CryptoProvider {
  readonly name: 'node' | 'noble';

  randomBytes(n: number): Uint8Array;

  sha256(data: Uint8Array): Uint8Array;
  /** SHA-512 (FIPS 180-4); only to turn an Ed25519 seed into its X25519 scalar (ed-to-x25519.ts). */
  sha512(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869 §2.2 HKDF-Extract with SHA-256. An empty salt means HashLen zero bytes. */
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  /** RFC 5869 §2.3 HKDF-Expand with SHA-256; length <= 255 * 32. */
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  /** BLAKE3-256 (or `length` bytes of XOF output). */
  blake3(data: Uint8Array, length?: number): Uint8Array;
  /**
   * BLAKE3-256 of input given in pieces: digest() equals blake3(concatenation of the pieces). For
   * large inputs hashed between turns of the event loop (the bundle measurement, src/attest/bundle.ts).
   */
  blake3Hasher(): Blake3Hasher;

  /** X25519 key pair; privateKey is the 32-byte scalar as in RFC 7748. */
  x25519Generate(): KeyPair;
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /** RFC 7748 §5 X25519; throws CryptoError CRYPTO_LOW_ORDER when the result is all zero (§6.1). */
  x25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;

  /** Ed25519 (RFC 8032 §5.1, pure, no context); privateKey is the 32-byte seed. */
  ed25519Generate(): KeyPair;
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  signer(seed: Uint8Array): Signer;
  /** Returns false for any invalid signature or malformed key; never throws on peer input. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  aead(algorithm: AeadAlgorithm, key: Uint8Array): Aead;

  /**
   * FIPS 203 ML-KEM-768. `privateKey` is the 64-byte seed d || z (the key it is generated from);
   * mlkem768Decapsulate takes that or the expanded 2,400-byte key.
   */
  mlkem768Generate(seed?: Uint8Array): KeyPair;
  mlkem768Encapsulate(publicKey: Uint8Array, seed?: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
  mlkem768Decapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array;
}
