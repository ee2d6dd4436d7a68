// RN policy "attestation evidence required" (`uzpgw rn --require-attestation`): a gateway link is
// offered stitches only after it presented, in a CONTROL ATTEST, evidence bound to *this*
// attachment (docs/PROFILE.md §Control, "ATTEST"). The RN checks only that the evidence is
// present, well formed, signed by the attached identity itself, fresh and bound to the attachment
// (eat_nonce and binding from attachAttestationContext, src/uzp/link/attach-keys.ts).
//
// It deliberately does NOT appraise the claims (measurements, board, software, slots): the RN has
// no reference manifest and is not the Verifier (RFC 9334 roles; the operator is), and draft §4.3
// says RN participation "MUST NOT be treated as RN authority over end-to-end identity". Presence is
// a reachability policy, never a statement that the gateway is trustworthy; operators still appraise
// evidence end to end. Nothing here gives the RN any access to slot data or session plaintext: the
// evidence travels on the EP-RN control channel and the E2E keys never reach the RN (§11).

import { decodeEvidence, evidenceSignatureValid } from '../attest/evidence.js';
import type { Evidence } from '../attest/types.js';
import { equal } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { AttachAttestationContext } from '../uzp/link/attach-keys.js';
import { isCodedError } from '../lib/errors.js';

export interface AttachEvidenceExpectation {
  /** CID the EP attached with (from its PCert). */
  readonly cid: Uint8Array;
  /** The attachment's nonce and binding. */
  readonly context: AttachAttestationContext;
  /** Unix seconds now, and the clock skew allowed around the evidence window. */
  readonly nowSeconds: number;
  readonly skewSeconds: number;
}

type AttachEvidenceReason = 'decode' | 'issuer' | 'nonce' | 'binding' | 'expired' | 'not_yet_valid' | 'signature';

type AttachEvidenceCheck =
  | { readonly ok: true; readonly evidence: Evidence }
  | { readonly ok: false; readonly reason: AttachEvidenceReason; readonly detail: string };

/**
 * Checks, cheapest first: decodes (envelope, closed body, claims, iss = CID(pk) = ueid) -> issued by
 * the attached CID -> eat_nonce and binding are this attachment's -> inside [iat, exp] with the skew
 * -> the signature verifies under the evidence's own key. Never throws for bad evidence.
 */
export function checkAttachEvidence(p: CryptoProvider, bytes: Uint8Array, x: AttachEvidenceExpectation): AttachEvidenceCheck {
  let e: Evidence;
  try {
    e = decodeEvidence(p, bytes);
  } catch (err) {
    if (!isCodedError(err)) throw err;
    return { ok: false, reason: 'decode', detail: `${err.code}: ${err.message}` };
  }
  if (!equal(e.issuer, x.cid)) return { ok: false, reason: 'issuer', detail: 'evidence is not issued by the attached identity' };
  if (!equal(e.claims.eat_nonce, x.context.nonce)) return { ok: false, reason: 'nonce', detail: 'eat_nonce is not the nonce of this attachment' };
  if (e.claims.binding === undefined || !equal(e.claims.binding, x.context.binding)) {
    return { ok: false, reason: 'binding', detail: e.claims.binding === undefined ? 'no binding claim' : 'binding is not the binding of this attachment' };
  }
  if (e.expiresAt + x.skewSeconds < x.nowSeconds) return { ok: false, reason: 'expired', detail: `exp ${e.expiresAt}, now ${x.nowSeconds}` };
  if (e.issuedAt - x.skewSeconds > x.nowSeconds) return { ok: false, reason: 'not_yet_valid', detail: `iat ${e.issuedAt}, now ${x.nowSeconds}` };
  if (!evidenceSignatureValid(p, e)) return { ok: false, reason: 'signature', detail: 'the evidence signature does not verify' };
  return { ok: true, evidence: e };
}
