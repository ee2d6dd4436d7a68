// Evidence artefact (RFC 9334 §3.1 Evidence): the claims set in the common artefact envelope,
// object_type "attestation", signed by the gateway identity (docs/PROFILE.md §Attestation):
//   b = {"claims": claims, "pk": bstr32, "tpm"?: {"ak": bstr, "attest": bstr, "sig": bstr, "pcrs": bstr}}
//   iss = CID(pk) = ueid[1..], iat = nbf = claims.iat, exp = iat + EVIDENCE_LIFETIME_SECONDS, no sub/aud.
// With a TPM, the quote's qualifying data covers nonce, binding and BLAKE3(canonical claims), so the
// TPM vouches for exactly these claims (src/attest/tpm/qualifying.ts).

import { equal } from '../uzp/bytes.js';
import { asBytes, asMap, encodeCanonical, onlyKeys, type CborMap } from '../uzp/cbor.js';
import type { CryptoProvider, Signer } from '../uzp/crypto/provider.js';
import { ED25519_PUBLIC_LENGTH } from '../uzp/crypto/provider.js';
import { ErrorCode, ValidationError } from '../uzp/errors.js';
import { cidOf } from '../uzp/identity/cid.js';
import { decodeEnvelope, sealEnvelope } from '../uzp/artefacts/envelope.js';
import { verifySignatures } from '../uzp/artefacts/open.js';
import { decodeClaims, encodeClaims } from './claims.js';
import type { Claims, Evidence, TpmQuote } from './types.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

const EVIDENCE_TYPE = 'attestation';
/** Evidence is fresh for this long after iat (the nonce is what really gives freshness). */
export const EVIDENCE_LIFETIME_SECONDS = 300;
const MAX_TPM_FIELD = 2048;

/** Canonical CBOR of the claims: the input of the claims digest. */
export function claimsBytes(c: Claims): Uint8Array {
  return encodeCanonical(encodeClaims(c));
}

/** BLAKE3-256 of the canonical claims (what a TPM quote's qualifying data commits to). */
export function claimsDigest(p: CryptoProvider, c: Claims): Uint8Array {
  return p.blake3(claimsBytes(c));
}

export function signEvidence(p: CryptoProvider, signer: Signer, claims: Claims, tpm?: TpmQuote): Uint8Array {
  const b: CborMap = { claims: encodeClaims(claims), pk: signer.publicKey };
  if (tpm !== undefined) b.tpm = { ak: tpm.akPublic, attest: tpm.attest, sig: tpm.signature, pcrs: tpm.pcrs };
  return sealEnvelope(p, [signer], { type: EVIDENCE_TYPE, issuedAt: claims.iat, notBefore: claims.iat, expiresAt: claims.iat + EVIDENCE_LIFETIME_SECONDS }, b);
}

function bounded(v: CborMap[string] | undefined, what: string): Uint8Array {
  const b = asBytes(v, what);
  if (b.length === 0 || b.length > MAX_TPM_FIELD) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: ${b.length} bytes, expected 1..${MAX_TPM_FIELD}`);
  return b;
}

/**
 * Structural decode: envelope, closed body, claims, issuer = CID(pk) = ueid. Does not verify the
 * signature (appraisal does, and reports it as a claim result). Throws DecodeError/ValidationError.
 */
export function decodeEvidence(p: CryptoProvider, bytes: Uint8Array): Evidence {
  const raw = decodeEnvelope(p, bytes);
  if (raw.type !== EVIDENCE_TYPE) throw new ValidationError(ErrorCode.ARTEFACT_TYPE, `expected ${EVIDENCE_TYPE} evidence, got ${raw.type}`);
  if (raw.subject !== undefined || raw.audience !== undefined) throw new DecodeError(CommonCode.DECODE_VALUE, 'evidence: sub and aud must be absent');
  for (const e of raw.extensions) if (e.critical) throw new ValidationError(ErrorCode.ARTEFACT_CRITICAL_EXT, `evidence: unknown critical extension ${JSON.stringify(e.id)}`);
  if (raw.signatures.length !== 1) throw new DecodeError(CommonCode.DECODE_VALUE, 'evidence: exactly one signature (the gateway) expected');
  const b = asMap(raw.body, 'evidence');
  onlyKeys(b, ['claims', 'pk', 'tpm'], 'evidence');
  const claimsMap = asMap(b.claims, 'claims');
  const claims = decodeClaims(claimsMap);
  const publicKey = asBytes(b.pk, 'evidence.pk', ED25519_PUBLIC_LENGTH);
  const cid = cidOf(p, publicKey);
  if (!equal(cid, raw.issuer)) throw new ValidationError(ErrorCode.ARTEFACT_ISSUER, 'evidence: issuer is not CID(pk)');
  if (!equal(claims.ueid.subarray(1), cid)) throw new ValidationError(ErrorCode.ARTEFACT_ISSUER, 'evidence: ueid is not the signer CID');
  if (claims.iat !== raw.issuedAt) throw new DecodeError(CommonCode.DECODE_VALUE, 'evidence: claims iat differs from the envelope iat');
  let tpm: TpmQuote | undefined;
  if (b.tpm !== undefined) {
    const t = asMap(b.tpm, 'evidence.tpm');
    onlyKeys(t, ['ak', 'attest', 'sig', 'pcrs'], 'evidence.tpm');
    tpm = { akPublic: bounded(t.ak, 'tpm.ak'), attest: bounded(t.attest, 'tpm.attest'), signature: bounded(t.sig, 'tpm.sig'), pcrs: bounded(t.pcrs, 'tpm.pcrs') };
  }
  if ((tpm !== undefined) !== (claims.key_origin === 'tpm')) {
    throw new DecodeError(CommonCode.DECODE_VALUE, `evidence: key_origin ${claims.key_origin} but ${tpm ? 'a' : 'no'} TPM quote`);
  }
  return {
    claims,
    claimsBytes: encodeCanonical(claimsMap),
    publicKey,
    ...(tpm !== undefined ? { tpm } : {}),
    issuer: raw.issuer,
    issuedAt: raw.issuedAt,
    expiresAt: raw.expiresAt,
    objectId: raw.objectId,
    bytes,
  };
}

/** True iff the envelope signature verifies under the evidence's own key. */
export function evidenceSignatureValid(p: CryptoProvider, e: Evidence): boolean {
  const raw = decodeEnvelope(p, e.bytes);
  try {
    verifySignatures(p, raw, (kid) => (equal(kid, e.issuer) ? e.publicKey : undefined));
    return true;
  } catch {
    return false;
  }
}
