// Codes of attestation: evidence, appraisal and the TPM path (docs/PROFILE.md §Attestation).

export const AttestErrorCode = {
  ATTEST_NONCE: 'ATTEST_NONCE',
  ATTEST_BINDING: 'ATTEST_BINDING',
  ATTEST_FAILED: 'ATTEST_FAILED',
  ATTEST_UNAVAILABLE: 'ATTEST_UNAVAILABLE',
  /** The verifier's record of used nonces (--seen) is full of nonces it may not forget yet. */
  NONCE_RECORD_FULL: 'NONCE_RECORD_FULL',
  TPM_UNAVAILABLE: 'TPM_UNAVAILABLE',
  TPM_FAILED: 'TPM_FAILED',
  TPM_QUOTE_INVALID: 'TPM_QUOTE_INVALID',
} as const;
export type AttestErrorCode = (typeof AttestErrorCode)[keyof typeof AttestErrorCode];
