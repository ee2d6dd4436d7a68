// Typed errors with stable codes, grouped by who is at fault (as rustls does).
// A peer never learns *why* it was refused: wire-level refusals carry only a generic code;
// the full error stays local (logs, CLI output, tests).

/** Who is at fault: the remote side sent something bad, we are incompatible, policy refused, or a local bug/misuse. */
export type Fault = 'peer' | 'incompatible' | 'policy' | 'local';

/** Every stable error code in one place so that tests, logs and docs can enumerate them. */
export const ErrorCode = {
  // decoding (fault: peer)
  DECODE_TRUNCATED: 'DECODE_TRUNCATED',
  DECODE_TRAILING: 'DECODE_TRAILING',
  DECODE_LENGTH: 'DECODE_LENGTH',
  DECODE_VALUE: 'DECODE_VALUE',
  DECODE_TYPE: 'DECODE_TYPE',
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
  PCERT_ROLE: 'PCERT_ROLE',
  PCERT_KEY_MISMATCH: 'PCERT_KEY_MISMATCH',
  REVOKED: 'REVOKED',
  GRANT_AUDIENCE: 'GRANT_AUDIENCE',
  GRANT_SUBJECT: 'GRANT_SUBJECT',
  GRANT_SCOPE: 'GRANT_SCOPE',
  GRANT_PURPOSE: 'GRANT_PURPOSE',
  GRANT_NONCE_STALE: 'GRANT_NONCE_STALE',
  GRANT_FLAGS: 'GRANT_FLAGS',
  RNSET_NOT_ELIGIBLE: 'RNSET_NOT_ELIGIBLE',
  RNSET_CONFLICT: 'RNSET_CONFLICT',
  RNSET_KEY_MISMATCH: 'RNSET_KEY_MISMATCH',
  // handshake / session / blocks (fault: peer or local)
  HANDSHAKE_UNEXPECTED: 'HANDSHAKE_UNEXPECTED',
  HANDSHAKE_NO_SUITE: 'HANDSHAKE_NO_SUITE',
  HANDSHAKE_FINISHED: 'HANDSHAKE_FINISHED',
  HANDSHAKE_TIMEOUT: 'HANDSHAKE_TIMEOUT',
  HANDSHAKE_REFUSED: 'HANDSHAKE_REFUSED',
  SESSION_ILLEGAL_TRANSITION: 'SESSION_ILLEGAL_TRANSITION',
  SESSION_CLOSED: 'SESSION_CLOSED',
  SESSION_KEY_LIMIT: 'SESSION_KEY_LIMIT',
  BLOCK_REPLAY: 'BLOCK_REPLAY',
  BLOCK_PROTOCOL: 'BLOCK_PROTOCOL',
  BLOCK_INTEGRITY_LIMIT: 'BLOCK_INTEGRITY_LIMIT',
  BUFFER_FULL: 'BUFFER_FULL',
  CHANNEL_UNKNOWN: 'CHANNEL_UNKNOWN',
  // link / RN
  LINK_CLOSED: 'LINK_CLOSED',
  LINK_TIMEOUT: 'LINK_TIMEOUT',
  LINK_FRAME_TOO_LARGE: 'LINK_FRAME_TOO_LARGE',
  ATTACH_REFUSED: 'ATTACH_REFUSED',
  JOIN_REFUSED: 'JOIN_REFUSED',
  PEER_NOT_ATTACHED: 'PEER_NOT_ATTACHED',
  /** JOIN_REFUSED code 4: the RN requires attestation and the target has not attested its link. */
  PEER_NOT_ATTESTED: 'PEER_NOT_ATTESTED',
  // equipment ports: serial, Modbus, MQTT (src/ports)
  PORT_CLOSED: 'PORT_CLOSED',
  PORT_IO: 'PORT_IO',
  MODBUS_TIMEOUT: 'MODBUS_TIMEOUT',
  MODBUS_EXCEPTION: 'MODBUS_EXCEPTION',
  MODBUS_CRC: 'MODBUS_CRC',
  MODBUS_OFFLINE: 'MODBUS_OFFLINE',
  MQTT_REFUSED: 'MQTT_REFUSED',
  // HIL device drivers (src/hil-devices)
  TOPIC_NOT_BRIDGED: 'TOPIC_NOT_BRIDGED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  ABORTED: 'ABORTED',
  // attestation (src/attest): evidence, appraisal, TPM
  ATTEST_NONCE: 'ATTEST_NONCE',
  ATTEST_BINDING: 'ATTEST_BINDING',
  ATTEST_FAILED: 'ATTEST_FAILED',
  ATTEST_UNAVAILABLE: 'ATTEST_UNAVAILABLE',
  TPM_UNAVAILABLE: 'TPM_UNAVAILABLE',
  TPM_FAILED: 'TPM_FAILED',
  TPM_QUOTE_INVALID: 'TPM_QUOTE_INVALID',
  // local files, keys, configuration (fault: local)
  KEY_FILE_PERMISSIONS: 'KEY_FILE_PERMISSIONS',
  KEY_FILE_INVALID: 'KEY_FILE_INVALID',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  FILE_EXISTS: 'FILE_EXISTS',
  FILE_IO: 'FILE_IO',
  FILE_INVALID: 'FILE_INVALID',
  CONFIG_INVALID: 'CONFIG_INVALID',
  BOARD_UNKNOWN: 'BOARD_UNKNOWN',
  USAGE: 'USAGE',
  // simulators and the virtual-serial harness: a system tool (socat, mosquitto) (fault: local)
  TOOL_MISSING: 'TOOL_MISSING',
  TOOL_FAILED: 'TOOL_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class UzpError extends Error {
  readonly code: ErrorCode;
  readonly fault: Fault;
  constructor(code: ErrorCode, fault: Fault, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.fault = fault;
    this.name = new.target.name;
  }
}

/** Malformed bytes from the wire or a file: always the peer's (or the file author's) fault. */
export class DecodeError extends UzpError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'peer', message, options);
  }
}

/** A well-formed artefact or message that policy refuses (signature, window, scope, revocation...). */
export class ValidationError extends UzpError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'policy', message, options);
  }
}

/** A protocol violation by the peer after decoding succeeded (unexpected message, bad MAC...). */
export class ProtocolError extends UzpError {
  constructor(code: ErrorCode, message: string, fault: Fault = 'peer', options?: { cause?: unknown }) {
    super(code, fault, message, options);
  }
}

/** Bad key material or a failed primitive (a peer's low-order point, a wrong-length key). */
export class CryptoError extends UzpError {
  constructor(message: string, code: ErrorCode = ErrorCode.CRYPTO_BAD_KEY, options?: { cause?: unknown }) {
    super(code, 'peer', message, options);
  }
}

/** Local misuse: illegal state transition, closed session, full buffer, bad argument. */
export class StateError extends UzpError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'local', message, options);
  }
}

/** Local configuration, key-file or CLI usage problem; the message says how to fix it. */
export class LocalError extends UzpError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'local', message, options);
  }
}

export function isUzpError(e: unknown): e is UzpError {
  return e instanceof UzpError;
}
