// The one envelope every signed artefact uses (UZPIF common envelope as quoted in draft §12:
// canonical serialisation, exact signature coverage, object_id derivation, unknown-extension
// handling, signature ordering, algorithm identifier matching, no detached signatures).
//
// Wire form (canonical CBOR, RFC 8949 §4.2.1):
//   envelope = {"body": bstr, "sigs": [ {"alg": "ed25519", "kid": bstr32, "sig": bstr64}, ... ]}
//   body     = canonical CBOR of {"typ", "iss", "sub"?, "aud"?, "iat", "nbf", "exp", "epo", "seq", "ext"?, "b"}
// The body travels as a byte string so that the signed bytes and the object_id input are exactly
// the bytes on the wire (exact signature coverage), never a re-serialisation.
//
// This file is structure only: it throws DecodeError and never looks at keys or policy.
// Type-specific bodies are in ./codecs.ts; verification is in ./open.ts.

import { equal } from '../bytes.js';
import { signatureInput } from '../signing.js';
import { asArray, asBool, asBytes, asMap, asText, asUint, decodeCanonical, encodeCanonical, onlyKeys, type CborMap, type CborValue } from '../cbor.js';
import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { ED25519_SIGNATURE_LENGTH } from '../crypto/provider.js';
import { ErrorCode } from '../errors.js';
import { CID_LENGTH, cidOf } from '../identity/cid.js';
import {
  ALG_ED25519,
  MAX_ENVELOPE_BYTES,
  MAX_EXTENSION_ID,
  MAX_EXTENSIONS,
  MAX_SIGNATURES,
  OBJECT_TYPES,
  SIG_CONTEXT_PREFIX,
} from './constants.js';
import type { CommonFields, Envelope, Extension, ObjectType, Signature } from './types.js';
import { CommonCode, DecodeError, StateError } from '../../lib/errors.js';

/** The common fields an issuer chooses; object_id is derived, never chosen. */
export interface ArtefactFields {
  readonly type: ObjectType;
  /** Defaults to the CID of the first signer; if given it must equal it. */
  readonly issuer?: Uint8Array;
  readonly subject?: Uint8Array;
  readonly audience?: Uint8Array;
  readonly issuedAt: number;
  readonly notBefore: number;
  readonly expiresAt: number;
  readonly epoch?: number;
  readonly sequence?: number;
  readonly extensions?: readonly Extension[];
}

/** A structurally decoded envelope whose type-specific part ("b") is still a CBOR map. */
type RawEnvelope = Envelope<CborMap>;

const ENVELOPE_KEYS = ['body', 'sigs'] as const;
const SIG_KEYS = ['alg', 'kid', 'sig'] as const;
const BODY_KEYS = ['typ', 'iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'epo', 'seq', 'ext', 'b'] as const;
const EXT_KEYS = ['id', 'crit', 'val'] as const;

/**
 * Signature input (exact signature coverage, domain-separated, length-prefixed; ../signing.ts):
 *   u16be(len(ctx)) || ctx || u32be(len(body)) || body,   ctx = "uzp-gw/1 " || object_type (UTF-8)
 * The type in ctx means a signature over a Grant body can never verify as a PCert and vice versa.
 */
export function artefactSignatureInput(type: string, body: Uint8Array): Uint8Array {
  return signatureInput(SIG_CONTEXT_PREFIX + type, body);
}

/** Lexicographic byte order, used for co-signature ordering. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Canonical body bytes for the given common fields and type-specific map. */
export function encodeBody(fields: ArtefactFields & { readonly issuer: Uint8Array }, b: CborValue): Uint8Array {
  const m: CborMap = {
    typ: fields.type,
    iss: fields.issuer,
    iat: fields.issuedAt,
    nbf: fields.notBefore,
    exp: fields.expiresAt,
    epo: fields.epoch ?? 0,
    seq: fields.sequence ?? 0,
    b,
  };
  if (fields.subject !== undefined) m.sub = fields.subject;
  if (fields.audience !== undefined) m.aud = fields.audience;
  const ext = fields.extensions ?? [];
  // One value, one encoding: an empty extension list is omitted, never sent as [].
  if (ext.length > 0) m.ext = ext.map((e) => ({ id: e.id, crit: e.critical, val: decodeCanonical(e.value) }));
  return encodeCanonical(m);
}

/**
 * Signs and assembles an envelope. signers[0] is the issuer; co-signers are put in ascending kid
 * order (signature ordering rule). Local misuse (issuer mismatch, oversize) is a StateError.
 */
export function sealEnvelope(provider: CryptoProvider, signers: readonly Signer[], fields: ArtefactFields, b: CborValue): Uint8Array {
  const [issuerSigner, ...coSigners] = signers;
  if (issuerSigner === undefined) throw new StateError(ErrorCode.SIG_MISSING, 'sealEnvelope: at least one signer (the issuer) is required');
  const issuer = cidOf(provider, issuerSigner.publicKey);
  if (fields.issuer !== undefined && !equal(fields.issuer, issuer)) {
    throw new StateError(ErrorCode.ARTEFACT_ISSUER, 'sealEnvelope: fields.issuer is not the CID of the first signer');
  }
  if (!(fields.notBefore <= fields.expiresAt)) throw new StateError(CommonCode.DECODE_VALUE, 'sealEnvelope: notBefore is after expiresAt');
  const body = encodeBody({ ...fields, issuer }, b);
  const input = artefactSignatureInput(fields.type, body);
  const cos = coSigners.map((s) => ({ s, kid: cidOf(provider, s.publicKey) })).sort((x, y) => compareBytes(x.kid, y.kid));
  const sigs: CborMap[] = [{ alg: ALG_ED25519, kid: issuer, sig: issuerSigner.sign(input) }];
  let prev: Uint8Array | undefined;
  for (const { s, kid } of cos) {
    if (equal(kid, issuer) || (prev !== undefined && equal(kid, prev))) {
      throw new StateError(ErrorCode.SIG_UNKNOWN_SIGNER, 'sealEnvelope: duplicate signer');
    }
    sigs.push({ alg: ALG_ED25519, kid, sig: s.sign(input) });
    prev = kid;
  }
  const bytes = encodeCanonical({ body, sigs });
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new StateError(CommonCode.DECODE_LENGTH, `sealEnvelope: envelope of ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  }
  return bytes;
}

/** Structural decode of an envelope: canonical CBOR, closed maps, bounds, signature ordering. DecodeError only. */
export function decodeEnvelope(provider: CryptoProvider, bytes: Uint8Array): RawEnvelope {
  if (bytes.length > MAX_ENVELOPE_BYTES) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `artefact: ${bytes.length} bytes exceeds ${MAX_ENVELOPE_BYTES}`);
  }
  const outer = asMap(decodeCanonical(bytes), 'artefact envelope');
  onlyKeys(outer, ENVELOPE_KEYS, 'artefact envelope');
  const bodyBytes = asBytes(outer.body, 'artefact body');
  const common = decodeCommon(provider, bodyBytes);
  const signatures = decodeSignatures(outer.sigs, common.issuer);
  return { ...common, signatures, bodyBytes, bytes };
}

function decodeCommon(provider: CryptoProvider, bodyBytes: Uint8Array): CommonFields & { body: CborMap } {
  const m = asMap(decodeCanonical(bodyBytes), 'artefact body');
  onlyKeys(m, BODY_KEYS, 'artefact body');
  const typ = asText(m.typ, 'typ', 32);
  if (!(OBJECT_TYPES as readonly string[]).includes(typ)) {
    throw new DecodeError(ErrorCode.ARTEFACT_TYPE, `artefact: unknown object_type ${JSON.stringify(typ)}`);
  }
  const notBefore = asUint(m.nbf, 'nbf');
  const expiresAt = asUint(m.exp, 'exp');
  if (notBefore > expiresAt) throw new DecodeError(CommonCode.DECODE_VALUE, `artefact: nbf ${notBefore} is after exp ${expiresAt}`);
  const out: CommonFields & { body: CborMap } = {
    type: typ as ObjectType,
    objectId: provider.blake3(bodyBytes),
    issuer: asBytes(m.iss, 'iss', CID_LENGTH),
    ...(m.sub !== undefined ? { subject: asBytes(m.sub, 'sub', CID_LENGTH) } : {}),
    ...(m.aud !== undefined ? { audience: asBytes(m.aud, 'aud', CID_LENGTH) } : {}),
    issuedAt: asUint(m.iat, 'iat'),
    notBefore,
    expiresAt,
    epoch: asUint(m.epo, 'epo'),
    sequence: asUint(m.seq, 'seq'),
    extensions: m.ext === undefined ? [] : decodeExtensions(m.ext),
    body: asMap(m.b, 'b'),
  };
  return out;
}

function decodeExtensions(v: CborValue): Extension[] {
  const list = asArray(v, 'ext', MAX_EXTENSIONS);
  if (list.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'ext: an empty extension list must be omitted');
  const seen = new Set<string>();
  return list.map((item, i) => {
    const e = asMap(item, `ext[${i}]`);
    onlyKeys(e, EXT_KEYS, `ext[${i}]`);
    const id = asText(e.id, `ext[${i}].id`, MAX_EXTENSION_ID);
    if (id.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `ext[${i}].id: empty`);
    if (seen.has(id)) throw new DecodeError(CommonCode.DECODE_VALUE, `ext: duplicate extension id ${JSON.stringify(id)}`);
    seen.add(id);
    if (!Object.prototype.hasOwnProperty.call(e, 'val')) throw new DecodeError(CommonCode.DECODE_VALUE, `ext[${i}].val: missing`);
    return { id, critical: asBool(e.crit, `ext[${i}].crit`), value: encodeCanonical(e.val as CborValue) };
  });
}

function decodeSignatures(v: CborValue | undefined, issuer: Uint8Array): Signature[] {
  const list = asArray(v, 'sigs', MAX_SIGNATURES);
  // No detached signatures: the envelope itself must carry at least the issuer's.
  if (list.length === 0) throw new DecodeError(ErrorCode.SIG_MISSING, 'sigs: no signature');
  const sigs = list.map((item, i): Signature => {
    const s = asMap(item, `sigs[${i}]`);
    onlyKeys(s, SIG_KEYS, `sigs[${i}]`);
    const alg = asText(s.alg, `sigs[${i}].alg`, 32);
    // Algorithm identifier matching: exactly "ed25519"; anything else is refused, not skipped.
    if (alg !== ALG_ED25519) throw new DecodeError(ErrorCode.SIG_ALG, `sigs[${i}].alg: unsupported algorithm ${JSON.stringify(alg)}`);
    return { alg: ALG_ED25519, kid: asBytes(s.kid, `sigs[${i}].kid`, CID_LENGTH), sig: asBytes(s.sig, `sigs[${i}].sig`, ED25519_SIGNATURE_LENGTH) };
  });
  // Signature ordering: sigs[0] by the issuer, co-signatures strictly ascending by kid.
  if (!equal(sigs[0]!.kid, issuer)) throw new DecodeError(ErrorCode.SIG_MISSING, 'sigs[0]: not the issuer signature (kid != iss)');
  for (let i = 1; i < sigs.length; i++) {
    const kid = sigs[i]!.kid;
    if (equal(kid, issuer)) throw new DecodeError(CommonCode.DECODE_VALUE, `sigs[${i}]: duplicate issuer signature`);
    if (i > 1 && compareBytes(sigs[i - 1]!.kid, kid) >= 0) {
      throw new DecodeError(CommonCode.DECODE_VALUE, `sigs[${i}]: co-signatures must be strictly ascending by kid`);
    }
  }
  return sigs;
}
