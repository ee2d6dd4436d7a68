// Decoders for the few TPM 2.0 wire structures a quote consists of (TPM 2.0 Library spec Part 2,
// "Structures"; all big-endian, sizes as TPM2B u16 prefixes). Pure: no tpm2-tools, no TPM.
// Bounded: every length is checked against the largest value the spec allows before it is used,
// and each structure must be consumed exactly. Every failure is a TpmDecodeError (a DecodeError)
// whose `field` names the structure member, e.g. "TPMS_ATTEST.magic", so callers and tests can tell
// failures apart without parsing messages.
//
// Only what our profile produces is accepted: an ECC NIST P-256 key signing with ECDSA-SHA256.
// Anything else (RSA keys, other curves, other hashes) is refused with DECODE_TYPE, not half-parsed.

import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { Reader, concat } from '../../uzp/bytes.js';
import type { CryptoProvider } from '../../uzp/crypto/provider.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** Part 2 §6.3 TPM_ALG_ID values we meet. */
const TPM_ALG_ECC = 0x0023;
const TPM_ALG_RSA = 0x0001;
export const TPM_ALG_SHA256 = 0x000b;
const TPM_ALG_NULL = 0x0010;
const TPM_ALG_ECDSA = 0x0018;
/** Part 2 §6.4 TPM_ECC_CURVE. */
const TPM_ECC_NIST_P256 = 0x0003;
/** Part 2 §6.2 TPM_GENERATED_VALUE: "\xffTCG", prefixed by the TPM to everything it signs itself. */
const TPM_GENERATED_VALUE = 0xff544347;
/** Part 2 §6.9 TPM_ST_ATTEST_QUOTE. */
export const TPM_ST_ATTEST_QUOTE = 0x8018;

/** Part 2 §8.3 TPMA_OBJECT bits. */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

const SHA256_SIZE = 32;
/** P-256 coordinates and ECDSA r, s are at most 32 bytes. */
const P256_SIZE = 32;
/** Part 2 §10.4: TPM2B_DIGEST / TPM2B_DATA hold at most sizeof(TPMU_HA) = 64 (SHA-512) and sizeof(TPMT_HA) = 66 bytes. */
const MAX_DIGEST = 64;
const MAX_DATA = 66;
/** Part 2 §10.5.3 TPM2B_NAME: sizeof(TPMU_NAME) = sizeof(TPMT_HA) = 66. */
const MAX_NAME = 66;
/** Part 2 §10.6: HASH_COUNT bounds TPML_PCR_SELECTION; PCR_SELECT_MAX bounds a TPMS_PCR_SELECTION bitmap (we allow 32 PCRs). */
const MAX_PCR_BANKS = 16;
const PCR_SELECT_MIN = 3;
const PCR_SELECT_MAX = 4;
/** Upper bounds on whole inputs, far above what a P-256 AK produces (public ~90, attest ~150, signature ~72). */
const MAX_PUBLIC_BYTES = 1024;
const MAX_ATTEST_BYTES = 1024;
const MAX_SIGNATURE_BYTES = 512;

/** A DecodeError that names the TPM structure member it failed on. */
export class TpmDecodeError extends DecodeError {
  readonly field: string;
  constructor(code: CommonCode, field: string, message: string, options?: { cause?: unknown }) {
    super(code, `${field}: ${message}`, options);
    this.field = field;
  }
}

/** Wraps Reader so that every bounds failure is re-thrown naming the member being read. */
class FieldReader {
  private readonly r: Reader;
  constructor(
    bytes: Uint8Array,
    private readonly struct: string,
  ) {
    this.r = new Reader(bytes);
  }
  get offset(): number {
    return this.r.offset;
  }
  private at<T>(field: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeError && !(e instanceof TpmDecodeError)) throw new TpmDecodeError(e.code, `${this.struct}.${field}`, e.message);
      throw e;
    }
  }
  u8(field: string): number {
    return this.at(field, () => this.r.u8(field));
  }
  u16(field: string): number {
    return this.at(field, () => this.r.u16(field));
  }
  u32(field: string): number {
    return this.at(field, () => this.r.u32(field));
  }
  /** u64 as bigint: TPM clocks and firmware versions may use all 64 bits. */
  u64(field: string): bigint {
    return this.at(field, () => (BigInt(this.r.u32(field)) << 32n) | BigInt(this.r.u32(field)));
  }
  bytes(n: number, field: string): Uint8Array {
    return this.at(field, () => this.r.bytes(n, field));
  }
  /** A TPM2B: u16 size, then that many bytes (at most `max`). */
  tpm2b(max: number, field: string): Uint8Array {
    return this.at(field, () => this.r.vec16(max, field));
  }
  end(): void {
    this.at('(end)', () => this.r.end(this.struct));
  }
  fail(code: CommonCode, field: string, message: string): never {
    throw new TpmDecodeError(code, `${this.struct}.${field}`, message);
  }
}

function hex16(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

function tooLong(bytes: Uint8Array, max: number, field: string): void {
  if (bytes.length > max) throw new TpmDecodeError(CommonCode.DECODE_LENGTH, field, `${bytes.length} bytes exceeds ${max}`);
}

// ---------------------------------------------------------------------------------------------
// TPMT_PUBLIC (Part 2 §12.2.4) for an ECC key: type, nameAlg, objectAttributes, authPolicy,
// parameters (TPMS_ECC_PARMS §12.2.3.6), unique (TPMS_ECC_POINT §11.2.5.2).

export interface EccPublic {
  readonly nameAlg: number;
  /** TPMA_OBJECT bits. */
  readonly objectAttributes: number;
  readonly authPolicy: Uint8Array;
  /** Affine point, each coordinate left-padded to 32 bytes. */
  readonly x: Uint8Array;
  readonly y: Uint8Array;
  /** The marshalled TPMT_PUBLIC exactly as received: what the object's name is computed over. */
  readonly tpmt: Uint8Array;
}

/** Decodes a TPMT_PUBLIC (no size prefix). */
export function decodeTpmtPublic(bytes: Uint8Array): EccPublic {
  tooLong(bytes, MAX_PUBLIC_BYTES, 'TPMT_PUBLIC');
  const r = new FieldReader(bytes, 'TPMT_PUBLIC');
  const type = r.u16('type');
  if (type !== TPM_ALG_ECC) {
    r.fail(CommonCode.DECODE_TYPE, 'type', `only ECC keys (TPM_ALG_ECC 0x0023) are supported, got ${hex16(type)}${type === TPM_ALG_RSA ? ' (RSA)' : ''}`);
  }
  const nameAlg = r.u16('nameAlg');
  if (nameAlg !== TPM_ALG_SHA256) r.fail(CommonCode.DECODE_TYPE, 'nameAlg', `expected TPM_ALG_SHA256 (0x000b), got ${hex16(nameAlg)}`);
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = r.tpm2b(MAX_DIGEST, 'authPolicy');
  // A policy digest is either empty or a nameAlg digest (Part 1 §19.7.1).
  if (authPolicy.length !== 0 && authPolicy.length !== SHA256_SIZE) r.fail(CommonCode.DECODE_LENGTH, 'authPolicy', `expected 0 or 32 bytes, got ${authPolicy.length}`);
  // TPMT_SYM_DEF_OBJECT: a signing key has no symmetric part (only storage parents do).
  const symmetric = r.u16('parameters.symmetric');
  if (symmetric !== TPM_ALG_NULL) r.fail(CommonCode.DECODE_TYPE, 'parameters.symmetric', `a signing key's symmetric algorithm must be TPM_ALG_NULL, got ${hex16(symmetric)}`);
  // TPMT_ECC_SCHEME: ECDSA with SHA-256, fixed in the key so that it cannot sign any other way.
  const scheme = r.u16('parameters.scheme');
  if (scheme !== TPM_ALG_ECDSA) r.fail(CommonCode.DECODE_TYPE, 'parameters.scheme', `expected TPM_ALG_ECDSA (0x0018), got ${hex16(scheme)}`);
  const schemeHash = r.u16('parameters.scheme.hashAlg');
  if (schemeHash !== TPM_ALG_SHA256) r.fail(CommonCode.DECODE_TYPE, 'parameters.scheme.hashAlg', `expected TPM_ALG_SHA256 (0x000b), got ${hex16(schemeHash)}`);
  const curve = r.u16('parameters.curveID');
  if (curve !== TPM_ECC_NIST_P256) r.fail(CommonCode.DECODE_TYPE, 'parameters.curveID', `expected TPM_ECC_NIST_P256 (0x0003), got ${hex16(curve)}`);
  const kdf = r.u16('parameters.kdf');
  if (kdf !== TPM_ALG_NULL) r.fail(CommonCode.DECODE_TYPE, 'parameters.kdf', `expected TPM_ALG_NULL (0x0010), got ${hex16(kdf)}`);
  const x = r.tpm2b(P256_SIZE, 'unique.x');
  const y = r.tpm2b(P256_SIZE, 'unique.y');
  if (x.length === 0 || y.length === 0) r.fail(CommonCode.DECODE_LENGTH, 'unique', 'empty ECC coordinate');
  r.end();
  return { nameAlg, objectAttributes, authPolicy, x: leftPad(x, P256_SIZE), y: leftPad(y, P256_SIZE), tpmt: bytes };
}

/** Decodes a TPM2B_PUBLIC (Part 2 §12.2.5: u16 size || TPMT_PUBLIC), the form tpm2-tools write with -u. */
export function decodePublic(bytes: Uint8Array): EccPublic {
  tooLong(bytes, MAX_PUBLIC_BYTES + 2, 'TPM2B_PUBLIC');
  const r = new FieldReader(bytes, 'TPM2B_PUBLIC');
  const inner = r.tpm2b(MAX_PUBLIC_BYTES, 'size');
  r.end();
  return decodeTpmtPublic(inner);
}

/** Part 1 §16 object name: nameAlg (u16) || H_nameAlg(TPMT_PUBLIC). Throws TpmDecodeError for a non-ECC-P256 key. */
export function akNameOf(p: CryptoProvider, akPublic: Uint8Array): Uint8Array {
  const pub = decodePublic(akPublic);
  return concat(new Uint8Array([TPM_ALG_SHA256 >>> 8, TPM_ALG_SHA256 & 0xff]), p.sha256(pub.tpmt));
}

// ---------------------------------------------------------------------------------------------
// TPMS_ATTEST (Part 2 §10.12.12) holding a TPMS_QUOTE_INFO (§10.12.4).

/** Part 2 §10.11.1 TPMS_CLOCK_INFO. */
interface ClockInfo {
  /** Milliseconds the TPM has been powered since its last TPM2_Clear (Part 1 §36.3). */
  readonly clock: bigint;
  /** TPM Resets (power-on without an orderly shutdown, or TPM2_Startup(CLEAR)) since the last TPM2_Clear. */
  readonly resetCount: number;
  /** TPM Restarts / Resumes since the last TPM Reset. */
  readonly restartCount: number;
  /** NO if the clock may have been behind a value the TPM already reported (non-orderly shutdown). */
  readonly safe: boolean;
}

/** Part 2 §10.6.2 TPMS_PCR_SELECTION. */
interface PcrSelection {
  readonly hash: number;
  /** Selected PCR indices in ascending order (the order the TPM digests them in). */
  readonly pcrs: readonly number[];
}

export interface Attest {
  /** Qualified Name of the signing key (Part 1 §16.6), H(QN(parent) || Name): not the key's Name. */
  readonly qualifiedSigner: Uint8Array;
  readonly extraData: Uint8Array;
  readonly clockInfo: ClockInfo;
  readonly firmwareVersion: bigint;
  readonly pcrSelect: readonly PcrSelection[];
  readonly pcrDigest: Uint8Array;
}

export function decodeAttest(bytes: Uint8Array): Attest {
  tooLong(bytes, MAX_ATTEST_BYTES, 'TPMS_ATTEST');
  const r = new FieldReader(bytes, 'TPMS_ATTEST');
  // The magic is what makes a restricted key's signature meaningful: the TPM refuses to sign
  // external data that starts with it (Part 1 §34.2), so it proves the TPM built this structure.
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE) r.fail(CommonCode.DECODE_VALUE, 'magic', `expected TPM_GENERATED_VALUE 0xff544347, got 0x${magic.toString(16).padStart(8, '0')}`);
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE) r.fail(CommonCode.DECODE_TYPE, 'type', `expected TPM_ST_ATTEST_QUOTE (0x8018), got ${hex16(type)}`);
  const qualifiedSigner = r.tpm2b(MAX_NAME, 'qualifiedSigner');
  const extraData = r.tpm2b(MAX_DATA, 'extraData');
  const clock = r.u64('clockInfo.clock');
  const resetCount = r.u32('clockInfo.resetCount');
  const restartCount = r.u32('clockInfo.restartCount');
  const safe = r.u8('clockInfo.safe');
  // TPMI_YES_NO: only 0 and 1 are valid values (Part 2 §9.2).
  if (safe > 1) r.fail(CommonCode.DECODE_VALUE, 'clockInfo.safe', `TPMI_YES_NO must be 0 or 1, got ${safe}`);
  const firmwareVersion = r.u64('firmwareVersion');
  const count = r.u32('attested.pcrSelect.count');
  if (count > MAX_PCR_BANKS) r.fail(CommonCode.DECODE_LENGTH, 'attested.pcrSelect.count', `${count} exceeds ${MAX_PCR_BANKS}`);
  const pcrSelect: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const f = `attested.pcrSelect[${i}]`;
    const hash = r.u16(`${f}.hash`);
    const size = r.u8(`${f}.sizeofSelect`);
    if (size < PCR_SELECT_MIN || size > PCR_SELECT_MAX) r.fail(CommonCode.DECODE_LENGTH, `${f}.sizeofSelect`, `expected ${PCR_SELECT_MIN}..${PCR_SELECT_MAX}, got ${size}`);
    const bitmap = r.bytes(size, `${f}.pcrSelect`);
    const pcrs: number[] = [];
    // Part 2 §10.6.2: PCR n is bit (n mod 8) of octet n / 8.
    for (let n = 0; n < size * 8; n++) if ((bitmap[n >>> 3]! >>> (n & 7)) & 1) pcrs.push(n);
    pcrSelect.push({ hash, pcrs });
  }
  const pcrDigest = r.tpm2b(MAX_DIGEST, 'attested.pcrDigest');
  r.end();
  return { qualifiedSigner, extraData, clockInfo: { clock, resetCount, restartCount, safe: safe === 1 }, firmwareVersion, pcrSelect, pcrDigest };
}

/**
 * tpm2-tools' `-m` file: tpm2-tools 5.x write the bare TPMS_ATTEST (TPM2B_ATTEST.attestationData),
 * some versions the whole TPM2B_ATTEST. A TPMS_ATTEST starts with the magic 0xff544347, whose first
 * two bytes can never be a valid TPM2B size here (0xff54 > MAX_ATTEST_BYTES), so the two forms are
 * told apart without guessing. Returns the bare TPMS_ATTEST.
 */
export function unwrapAttest(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0x54 && bytes[2] === 0x43 && bytes[3] === 0x47) return bytes;
  const r = new FieldReader(bytes, 'TPM2B_ATTEST');
  const inner = r.tpm2b(MAX_ATTEST_BYTES, 'size');
  r.end();
  return inner;
}

// ---------------------------------------------------------------------------------------------
// TPMT_SIGNATURE (Part 2 §11.3.4) with TPMS_SIGNATURE_ECDSA (§11.3.2): sigAlg, hash, r, s.

export interface EcdsaSignature {
  /** r and s, each left-padded to 32 bytes. */
  readonly r: Uint8Array;
  readonly s: Uint8Array;
}

export function decodeSignature(bytes: Uint8Array): EcdsaSignature {
  tooLong(bytes, MAX_SIGNATURE_BYTES, 'TPMT_SIGNATURE');
  const rd = new FieldReader(bytes, 'TPMT_SIGNATURE');
  const sigAlg = rd.u16('sigAlg');
  if (sigAlg !== TPM_ALG_ECDSA) rd.fail(CommonCode.DECODE_TYPE, 'sigAlg', `expected TPM_ALG_ECDSA (0x0018), got ${hex16(sigAlg)}`);
  const hash = rd.u16('signature.hash');
  if (hash !== TPM_ALG_SHA256) rd.fail(CommonCode.DECODE_TYPE, 'signature.hash', `expected TPM_ALG_SHA256 (0x000b), got ${hex16(hash)}`);
  // A TPM may drop leading zero octets of r or s (TPM2B_ECC_PARAMETER is a big-endian integer).
  const r = rd.tpm2b(P256_SIZE, 'signature.signatureR');
  const s = rd.tpm2b(P256_SIZE, 'signature.signatureS');
  if (r.length === 0 || s.length === 0) rd.fail(CommonCode.DECODE_LENGTH, 'signature', 'empty r or s');
  rd.end();
  return { r: leftPad(r, P256_SIZE), s: leftPad(s, P256_SIZE) };
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length === n) return b;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ECDSA P-256 / SHA-256 verification with node:crypto (the CryptoProvider has no ECDSA).

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

/** The AK as a node KeyObject; throws TpmDecodeError when (x, y) is not a point on P-256. */
export function eccPublicKey(pub: EccPublic): KeyObject {
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(pub.x), y: b64url(pub.y) }, format: 'jwk' });
  } catch (e) {
    throw new TpmDecodeError(CommonCode.DECODE_VALUE, 'TPMT_PUBLIC.unique', 'not a point on NIST P-256', { cause: e });
  }
}

/** True iff (r, s) is a valid ECDSA signature by `key` over SHA-256(message). Never throws. */
export function verifyEcdsaP256(key: KeyObject, message: Uint8Array, sig: EcdsaSignature): boolean {
  try {
    return nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, concat(sig.r, sig.s));
  } catch {
    return false;
  }
}
