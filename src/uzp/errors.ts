// Typed errors of the UZP protocol core, grouped by who is at fault (as rustls does), on the
// project-wide base in lib/errors.ts. Only protocol codes live here; every other layer declares
// its own (ports/errors.ts, files/errors.ts, attest/errors.ts, …). A peer never learns *why* it
// was refused: wire-level refusals carry only a generic code; the full error stays local.

import { CodedError, type CommonCode, type Fault } from '../lib/errors.js';

/** The protocol's stable codes: wire decoding (CBOR), crypto, artefacts, handshake, session, blocks, links. */
export const ErrorCode = {
  CBOR_INVALID: 'CBOR_INVALID',
  CBOR_NON_CANONICAL: 'CBOR_NON_CANONICAL',
  // crypto (fault: peer unless noted)
  CRYPTO_BAD_KEY: 'CRYPTO_BAD_KEY',
  CRYPTO_LOW_ORDER: 'CRYPTO_LOW_ORDER',
  CRYPTO_AEAD_OPEN: 'CRYPTO_AEAD_OPEN',
  // artefacts and validation (fault: policy)
  SIG_INVALID: 'SIG_INVALID',
  SIG_MISSING: 'SIG_MISSING',
  SIG_UNKNOWN_SIGNER: 'SIG_UNKNOWN_SIGNER',
  SIG_ALG: 'SIG_ALG',
  ARTEFACT_TYPE: 'ARTEFACT_TYPE',
  ARTEFACT_ID: 'ARTEFACT_ID',
  ARTEFACT_NOT_YET_VALID: 'ARTEFACT_NOT_YET_VALID',
  ARTEFACT_EXPIRED: 'ARTEFACT_EXPIRED',
  ARTEFACT_CRITICAL_EXT: 'ARTEFACT_CRITICAL_EXT',
  ARTEFACT_ISSUER: 'ARTEFACT_ISSUER',
  ARTEFACT_STALE_SEQUENCE: 'ARTEFACT_STALE_SEQUENCE',
  /** Two different artefacts of one kind claim the same (epoch, sequence): neither supersedes the other. */
  ARTEFACT_CONFLICT: 'ARTEFACT_CONFLICT',
  PCERT_ROLE: 'PCERT_ROLE',
  PCERT_KEY_MISMATCH: 'PCERT_KEY_MISMATCH',
  REVOKED: 'REVOKED',
  /** A collector refused a discovery revocation: its gateway already revoked as many grants as it may keep (docs/PROFILE.md). */
  REVOCATION_LIMIT: 'REVOCATION_LIMIT',
  GRANT_AUDIENCE: 'GRANT_AUDIENCE',
  GRANT_SUBJECT: 'GRANT_SUBJECT',
  GRANT_SCOPE: 'GRANT_SCOPE',
  GRANT_PURPOSE: 'GRANT_PURPOSE',
  GRANT_NONCE_STALE: 'GRANT_NONCE_STALE',
  GRANT_FLAGS: 'GRANT_FLAGS',
  RNSET_NOT_ELIGIBLE: 'RNSET_NOT_ELIGIBLE',
  RNSET_CONFLICT: 'RNSET_CONFLICT',
  RNSET_KEY_MISMATCH: 'RNSET_KEY_MISMATCH',
  // outbound indexing artefacts (OI draft §9.1, §10, §11.5, §11.6; fault: policy)
  /** A Discovery Grant or discovery revocation not issued by the authenticated publisher (OI §9.1). */
  DISCOVERY_ISSUER: 'DISCOVERY_ISSUER',
  /** Issued for another audience than the authenticated collector (or, for a receipt, publisher) (OI §9.1). */
  DISCOVERY_AUDIENCE: 'DISCOVERY_AUDIENCE',
  /** A Discovery Grant whose purposes or retention its own usage policy does not allow (OI §10.1). */
  DISCOVERY_POLICY: 'DISCOVERY_POLICY',
  /** A receipt not issued by the authenticated collector (OI §11.5: "a signed Indexer identity statement"). */
  RECEIPT_ISSUER: 'RECEIPT_ISSUER',
  /** A receipt for another Discovery Grant than the one it answers (OI §11.5: "the grant identifier used"). */
  RECEIPT_GRANT: 'RECEIPT_GRANT',
  // handshake / session / blocks (fault: peer or local)
  HANDSHAKE_UNEXPECTED: 'HANDSHAKE_UNEXPECTED',
  HANDSHAKE_NO_SUITE: 'HANDSHAKE_NO_SUITE',
  HANDSHAKE_FINISHED: 'HANDSHAKE_FINISHED',
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  HANDSHAKES_PENDING: 'HANDSHAKES_PENDING',
  HANDSHAKE_REPLAYED: 'HANDSHAKE_REPLAYED',
  HANDSHAKE_REFUSED: 'HANDSHAKE_REFUSED',
  SESSION_ILLEGAL_TRANSITION: 'SESSION_ILLEGAL_TRANSITION',
  SESSION_CLOSED: 'SESSION_CLOSED',
  SESSION_KEY_LIMIT: 'SESSION_KEY_LIMIT',
  /** In failover: authority-expanding actions (new channels) wait for the re-stitch (draft §11.3). */
  SESSION_FROZEN: 'SESSION_FROZEN',
  /** The peer refused or could not verify our continuity token (draft §11.4): a fresh session is needed. */
  CONTINUITY_REFUSED: 'CONTINUITY_REFUSED',
  BLOCK_REPLAY: 'BLOCK_REPLAY',
  BLOCK_PROTOCOL: 'BLOCK_PROTOCOL',
  BLOCK_INTEGRITY_LIMIT: 'BLOCK_INTEGRITY_LIMIT',
  CHANNEL_UNKNOWN: 'CHANNEL_UNKNOWN',
  // link / RN
  LINK_CLOSED: 'LINK_CLOSED',
  LINK_TIMEOUT: 'LINK_TIMEOUT',
  LINK_FRAME_TOO_LARGE: 'LINK_FRAME_TOO_LARGE',
  ATTACH_REFUSED: 'ATTACH_REFUSED',
  /**
   * EP: the RN that answered at an address is not the RN the RN Set Statement lists at that address
   * (another RN of the set, or another RN's key behind a moved address): refused before AUTH.
   */
  ATTACH_RN_MISMATCH: 'ATTACH_RN_MISMATCH',
  /** RN: a 1-RTT HELLO whose nonce_ep it took before, within the window (src/rn/attach-strikes.ts). */
  ATTACH_REPLAY: 'ATTACH_REPLAY',
  JOIN_REFUSED: 'JOIN_REFUSED',
  PEER_NOT_ATTACHED: 'PEER_NOT_ATTACHED',
  /** JOIN_REFUSED code 4: the RN requires attestation and the target has not attested its link. */
  PEER_NOT_ATTESTED: 'PEER_NOT_ATTESTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A protocol error; its code is a protocol code or one of the codes every layer shares. */
export class UzpError extends CodedError<ErrorCode | CommonCode> {}

/** A well-formed artefact or message that policy refuses (signature, window, scope, revocation...). */
export class ValidationError extends UzpError {
  constructor(code: ErrorCode | CommonCode, message: string, options?: { cause?: unknown }) {
    super(code, 'policy', message, options);
  }
}

/** A protocol violation by the peer after decoding succeeded (unexpected message, bad MAC...). */
export class ProtocolError extends UzpError {
  constructor(code: ErrorCode | CommonCode, message: string, fault: Fault = 'peer', options?: { cause?: unknown }) {
    super(code, fault, message, options);
  }
}

/** Bad key material or a failed primitive (a peer's low-order point, a wrong-length key). */
export class CryptoError extends UzpError {
  constructor(message: string, code: ErrorCode = ErrorCode.CRYPTO_BAD_KEY, options?: { cause?: unknown }) {
    super(code, 'peer', message, options);
  }
}
