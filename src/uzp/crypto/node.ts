// Default provider: node:crypto (OpenSSL) for the curves, AEADs, SHA-256 and HKDF, and for
// ML-KEM-768 where the runtime's OpenSSL has it (3.5, Node 24: ~0.2 ms for a key generation,
// encapsulation and decapsulation against ~2.6 ms in @noble; issue #14's hybrid first byte);
// @noble for BLAKE3, for ML-KEM under Node 20's OpenSSL 3.0, and for the deterministic encapsulation
// of the vectors (OpenSSL takes no caller-chosen m). Input rules (lengths, HKDF bounds, ML-KEM's
// §7.2/§7.3 checks) come from shared.ts, the Ed25519 public-key and small-order-R rules from
// ed25519-rule.ts, so that both providers refuse exactly the same inputs with the same typed errors.

import {
  decapsulate as nodeDecapsulate,
  encapsulate as nodeEncapsulate,
  generateKeyPairSync,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { concat } from '../bytes.js';
import { ed25519KeyAcceptable, isSmallOrderR } from './ed25519-rule.js';
import { MadeAhead } from './made-ahead.js';
import { CryptoError, ErrorCode } from '../errors.js';
import {
  blake3,
  blake3Hasher,
  checkAeadAlgorithm,
  checkBytes,
  checkHkdfExpand,
  checkLength,
  isAllZero,
  lowOrderError,
  checkMlkemDecapsulationKey,
  checkMlkemEncapsulationKey,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Generate,
} from './shared.js';
import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  ED25519_PUBLIC_LENGTH,
  ED25519_SEED_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  SHA256_LENGTH,
  X25519_KEY_LENGTH,
  MLKEM768_CIPHERTEXT_LENGTH,
  MLKEM768_SEED_LENGTH,
  type Aead,
  type AeadAlgorithm,
  type CryptoProvider,
  type KeyPair,
  type Signer,
} from './provider.js';

// DER prefixes that wrap a raw 32-byte private key into PKCS#8 (RFC 8410 §7), the fallback import path.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// Key import goes through JWK: on Node 20 / OpenSSL 3.0 a JWK import is ~10x faster than the
// DER (PKCS#8/SPKI) decoder path (measured here: 24k/s vs 2.2k/s for private keys, 150k/s vs 10k/s
// for public keys), which made every attachment and handshake pay milliseconds. Node derives the
// key from `d` alone; the JWK format insists on an `x`, so a placeholder is passed and the real
// public key is always derived from the private key. Node 24 (OpenSSL 3.5) checks `x` against `d`:
// the import throws once and we use DER from then on (~37 µs a key there). Ephemeral keys are not
// imported at all: they are generated as KeyObjects (x25519GenerateNow).
const JWK_X_PLACEHOLDER = Buffer.alloc(32).toString('base64url');
let jwkPrivateImport = true;

function importPrivate(crv: 'Ed25519' | 'X25519', raw: Uint8Array, pkcs8Prefix: Buffer): KeyObject {
  if (jwkPrivateImport) {
    try {
      const d = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
      return createPrivateKey({ key: { kty: 'OKP', crv, d, x: JWK_X_PLACEHOLDER }, format: 'jwk' });
    } catch {
      jwkPrivateImport = false;
    }
  }
  return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, raw]), format: 'der', type: 'pkcs8' });
}

function importPublic(crv: 'Ed25519' | 'X25519', raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url') }, format: 'jwk' });
}

function ed25519Private(seed: Uint8Array): KeyObject {
  checkLength(seed, ED25519_SEED_LENGTH, 'ed25519 seed');
  return importPrivate('Ed25519', seed, PKCS8_ED25519);
}

/**
 * X25519 keys we generated keep their KeyObject, so the DH that follows needs no import; so do keys
 * imported once (the RN's static key, used at every 1-RTT attachment: its import was a tenth of the
 * RN's work on one). Keyed by the array: key bytes are never changed in place.
 */
const generatedX25519 = new WeakMap<Uint8Array, KeyObject>();
function x25519Private(scalar: Uint8Array): KeyObject {
  checkLength(scalar, X25519_KEY_LENGTH, 'x25519 private key');
  let k = generatedX25519.get(scalar);
  if (k === undefined) generatedX25519.set(scalar, (k = importPrivate('X25519', scalar, PKCS8_X25519)));
  return k;
}
function rawPublic(k: KeyObject): Uint8Array {
  return u8(Buffer.from(createPublicKey(k).export({ format: 'jwk' }).x!, 'base64url'));
}

function x25519GenerateNow(): KeyPair {
  // generateKeyPairSync, not random bytes imported: on OpenSSL 3.5 the JWK private import refuses
  // our placeholder `x` and the DER import costs ~5 µs more; the JWK export gives both raw keys.
  const { privateKey: key } = generateKeyPairSync('x25519');
  const jwk = key.export({ format: 'jwk' });
  // A copy with a buffer of its own: Buffer.from(string) may return a slice of Buffer's shared pool.
  const privateKey = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
  generatedX25519.set(privateKey, key);
  return { privateKey, publicKey: u8(Buffer.from(jwk.x!, 'base64url')) };
}

/** Ephemeral keys made ahead of their use (made-ahead.ts): one X25519 pair, one ML-KEM-768 pair. */
const x25519Ahead = new MadeAhead(x25519GenerateNow);
const mlkemAhead = new MadeAhead(() => mlkemGenerate());

/**
 * Verification keys are reused heavily (root key, peers): keep a small cache of parsed KeyObjects,
 * and of refusals (null). The profile's key rule (canonical, not small order; ed25519-rule.ts) runs once
 * per key, on the cache miss, so the hot path stays pure OpenSSL.
 */
const verifyKeyCache = new Map<string, KeyObject | null>();
const VERIFY_CACHE_MAX = 256;
function ed25519PublicKeyObject(pub: Uint8Array): KeyObject | null {
  const k = Buffer.from(pub.buffer, pub.byteOffset, pub.byteLength).toString('hex');
  let ko = verifyKeyCache.get(k);
  if (ko === undefined) {
    ko = ed25519KeyAcceptable(pub) ? importPublic('Ed25519', pub) : null;
    if (verifyKeyCache.size >= VERIFY_CACHE_MAX) verifyKeyCache.delete(verifyKeyCache.keys().next().value!);
    verifyKeyCache.set(k, ko);
  }
  return ko;
}

// ---- ML-KEM-768 through OpenSSL (docs/PROFILE.md §Crypto) ----

/** OpenSSL 3.5+ (Node 24) has ML-KEM; 3.0 (Node 20) has not: asked once, at the first use. */
let nativeMlkem: boolean | undefined;
function hasNativeMlkem(): boolean {
  if (nativeMlkem === undefined) {
    try {
      generateKeyPairSync('ml-kem-768' as never);
      nativeMlkem = true;
    } catch {
      nativeMlkem = false;
    }
  }
  return nativeMlkem;
}

// PKCS#8 of an ML-KEM-768 private key (OID 2.16.840.1.101.3.4.4.2) in its seed form `[0] d || z`
// and its expanded form (draft-ietf-lamps-kyber-certificates, "ML-KEM-768-PrivateKey"): the
// fixed DER heads, the key bytes follow.
const PKCS8_MLKEM768_SEED = Buffer.from('3054020100300b06096086480165030404020442' + '8040', 'hex');
const PKCS8_MLKEM768_EXPANDED = Buffer.from('30820978020100300b0609608648016503040402' + '048209640482' + '0960', 'hex');

/** Which library does this provider's ML-KEM on this runtime (docs/PROFILE.md §Crypto). */
export function mlkemBackend(): 'openssl' | 'noble' {
  return hasNativeMlkem() ? 'openssl' : 'noble';
}

/** Keys we generated keep their KeyObject, so the decapsulation that follows needs no import. */
const generatedMlkem = new WeakMap<Uint8Array, KeyObject>();

function mlkemPrivate(dk: Uint8Array): KeyObject {
  const known = generatedMlkem.get(dk);
  if (known !== undefined) return known;
  const head = dk.length === MLKEM768_SEED_LENGTH ? PKCS8_MLKEM768_SEED : PKCS8_MLKEM768_EXPANDED;
  try {
    return createPrivateKey({ key: Buffer.concat([head, dk]), format: 'der', type: 'pkcs8' });
  } catch (e) {
    // Past the shared checks this is an expanded key whose dkPKE OpenSSL will not take (@noble may
    // decapsulate with it anyway; our own keys are always seeds): a typed refusal, never a raw error.
    throw new CryptoError('ml-kem-768 secret key rejected by OpenSSL', ErrorCode.CRYPTO_BAD_KEY, { cause: e });
  }
}

function mlkemGenerate(seed?: Uint8Array): KeyPair {
  return hasNativeMlkem() ? nodeMlkemGenerate(seed) : mlkem768Generate(seed);
}

function nodeMlkemGenerate(seed?: Uint8Array): KeyPair {
  if (seed !== undefined) checkLength(seed, MLKEM768_SEED_LENGTH, 'ml-kem-768 seed');
  const d = seed?.slice() ?? u8(nodeRandomBytes(MLKEM768_SEED_LENGTH));
  const key = mlkemPrivate(d);
  generatedMlkem.set(d, key);
  const pub = createPublicKey(key).export({ format: 'jwk' }).pub as string;
  return { publicKey: u8(Buffer.from(pub, 'base64url')), privateKey: d };
}

function nodeMlkemEncapsulate(publicKey: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  checkMlkemEncapsulationKey(publicKey);
  const key = createPublicKey({ key: { kty: 'AKP', alg: 'ML-KEM-768', pub: Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url') } as never, format: 'jwk' });
  const { ciphertext, sharedKey } = nodeEncapsulate(key) as unknown as { ciphertext: Buffer; sharedKey: Buffer };
  return { cipherText: u8(ciphertext), sharedSecret: u8(sharedKey) };
}

function nodeMlkemDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkLength(cipherText, MLKEM768_CIPHERTEXT_LENGTH, 'ml-kem-768 ciphertext');
  checkMlkemDecapsulationKey(secretKey);
  // A wrong ciphertext of the right length never throws: FIPS 203 §6.3 implicit rejection.
  return u8(nodeDecapsulate(mlkemPrivate(secretKey), cipherText) as unknown as Buffer);
}

class NodeAead implements Aead {
  constructor(
    readonly algorithm: AeadAlgorithm,
    // A KeyObject, made once: every seal and open makes a cipher, and a raw key would be validated
    // and copied into native memory each time (~0.5 µs of the ~3.5 µs a cipher costs to set up).
    private readonly key: KeyObject,
  ) {}
  seal(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    // concat's buffer is its own (not Buffer's shared pool): it exposes no neighbouring memory.
    return concat(...this.sealPieces(nonce, plaintext, ad));
  }
  sealPieces(nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array[] {
    checkLength(nonce, AEAD_NONCE_LENGTH, 'aead nonce');
    checkBytes(plaintext, 'aead plaintext');
    checkBytes(ad, 'aead associated data');
    const c = createCipheriv(this.algorithm, this.key, nonce, { authTagLength: AEAD_TAG_LENGTH } as never) as ReturnType<
      typeof createCipheriv
    > & { setAAD(b: Uint8Array, o?: object): void; getAuthTag(): Buffer };
    c.setAAD(ad, { plaintextLength: plaintext.length });
    // update() returns a buffer of its own (not Buffer's shared pool) holding exactly the
    // ciphertext; final() adds nothing for these two stream-mode AEADs.
    const ct = c.update(plaintext);
    const rest = c.final();
    const tag = c.getAuthTag();
    return rest.length === 0 ? [u8(ct), u8(tag)] : [u8(ct), u8(rest), u8(tag)];
  }
  open(nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
    if (!(nonce instanceof Uint8Array) || !(sealed instanceof Uint8Array) || !(ad instanceof Uint8Array)) return null;
    if (nonce.length !== AEAD_NONCE_LENGTH || sealed.length < AEAD_TAG_LENGTH) return null;
    const ctLen = sealed.length - AEAD_TAG_LENGTH;
    const d = createDecipheriv(this.algorithm, this.key, nonce, { authTagLength: AEAD_TAG_LENGTH } as never) as ReturnType<
      typeof createDecipheriv
    > & { setAAD(b: Uint8Array, o?: object): void; setAuthTag(b: Uint8Array): void };
    d.setAuthTag(sealed.subarray(ctLen));
    d.setAAD(ad, { plaintextLength: ctLen });
    const pt = d.update(sealed.subarray(0, ctLen));
    try {
      d.final();
    } catch {
      return null;
    }
    return u8(pt);
  }
}

export const nodeProvider: CryptoProvider = {
  name: 'node',

  randomBytes: (n) => u8(nodeRandomBytes(n)),

  sha256: (data) => {
    checkBytes(data, 'sha256 input');
    return u8(createHash('sha256').update(data).digest());
  },
  sha512: (data) => {
    checkBytes(data, 'sha512 input');
    return u8(createHash('sha512').update(data).digest());
  },
  hmacSha256: (key, data) => {
    checkBytes(key, 'hmac key');
    checkBytes(data, 'hmac data');
    return u8(createHmac('sha256', key).update(data).digest());
  },
  hkdfExtract: (salt, ikm) => {
    checkBytes(salt, 'hkdf extract salt');
    checkBytes(ikm, 'hkdf extract ikm');
    // RFC 5869 §2.2: an absent salt is HashLen zero bytes; we treat the empty salt the same way.
    return u8(createHmac('sha256', salt.length === 0 ? Buffer.alloc(SHA256_LENGTH) : salt).update(ikm).digest());
  },
  hkdfExpand(prk, info, length) {
    checkHkdfExpand(prk, info, length);
    // RFC 5869 §2.3 T(i) = HMAC(PRK, T(i-1) | info | i). Written out because node's hkdfSync
    // only offers extract+expand together, and the key schedule needs expand on its own.
    const out = new Uint8Array(length);
    let t: Buffer = Buffer.alloc(0);
    for (let i = 1, o = 0; o < length; i++) {
      t = createHmac('sha256', prk).update(t).update(info).update(Uint8Array.of(i)).digest();
      out.set(t.subarray(0, Math.min(t.length, length - o)), o);
      o += t.length;
    }
    return out;
  },
  blake3,
  blake3Hasher,

  x25519Generate: () => x25519Ahead.take(),
  x25519PublicKey: (priv) => rawPublic(x25519Private(priv)),
  x25519(priv, pub) {
    // Both keys are parsed before the try: a wrong-length key is CRYPTO_BAD_KEY, not "low order".
    const privateKey = x25519Private(priv);
    checkLength(pub, X25519_KEY_LENGTH, 'x25519 public key');
    let publicKey: KeyObject;
    try {
      publicKey = importPublic('X25519', pub);
    } catch (e) {
      throw new CryptoError('x25519 public key: not accepted by OpenSSL', undefined, { cause: e });
    }
    let shared: Buffer;
    try {
      shared = diffieHellman({ privateKey, publicKey });
    } catch (e) {
      // OpenSSL refuses an all-zero result itself (RFC 7748 §6.1); that is its only failure here.
      throw lowOrderError(e);
    }
    if (isAllZero(shared)) throw lowOrderError();
    return u8(shared);
  },

  ed25519Generate(): KeyPair {
    const privateKey = u8(nodeRandomBytes(ED25519_SEED_LENGTH));
    return { privateKey, publicKey: nodeProvider.ed25519PublicKey(privateKey) };
  },
  ed25519PublicKey: (seed) => rawPublic(ed25519Private(seed)),
  signer(seed): Signer {
    const key = ed25519Private(seed);
    const publicKey = rawPublic(key);
    return {
      publicKey,
      sign: (msg) => {
        checkBytes(msg, 'ed25519 message');
        return u8(nodeSign(null, msg, key)); // RFC 8032 §5.1.6: deterministic
      },
    };
  },
  ed25519Verify(pub, msg, sig) {
    if (!(pub instanceof Uint8Array) || !(msg instanceof Uint8Array) || !(sig instanceof Uint8Array)) return false;
    if (pub.length !== ED25519_PUBLIC_LENGTH || sig.length !== ED25519_SIGNATURE_LENGTH) return false;
    try {
      const key = ed25519PublicKeyObject(pub);
      // OpenSSL 3 verifies cofactorless (RFC 8032 §5.1.7 with S < L and R compared as bytes); the
      // small-order R rule is ours, so that OpenSSL 3.0 and 3.5 give the same verdict.
      return key !== null && !isSmallOrderR(sig) && nodeVerify(null, msg, key, sig);
    } catch {
      return false;
    }
  },

  aead(algorithm, key) {
    checkAeadAlgorithm(algorithm);
    checkLength(key, AEAD_KEY_LENGTH, `${algorithm} key`);
    return new NodeAead(algorithm, createSecretKey(key));
  },

  // A seeded key (vectors, tests) is made on the spot; a random one comes made ahead.
  mlkem768Generate: (seed) => (seed !== undefined ? mlkemGenerate(seed) : mlkemAhead.take()),
  // A caller-chosen m (the vectors) has no OpenSSL call: @noble, which gives the same bytes.
  mlkem768Encapsulate: (publicKey, seed) => (hasNativeMlkem() && seed === undefined ? nodeMlkemEncapsulate(publicKey) : mlkem768Encapsulate(publicKey, seed)),
  mlkem768Decapsulate: (cipherText, secretKey) => (hasNativeMlkem() ? nodeMlkemDecapsulate(cipherText, secretKey) : mlkem768Decapsulate(cipherText, secretKey)),
};
