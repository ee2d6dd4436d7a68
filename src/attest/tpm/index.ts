// TPM 2.0 attestation: qualifying data, quote structures and verification (pure, for verifiers),
// the clock store (verifier state across quotes), and the tpm2-tools attester (gateway side).

export { QUALIFYING_CONTEXT, QUALIFYING_LENGTH, qualifyingData } from './qualifying.js';
export {
  MAX_ATTEST_BYTES,
  MAX_PUBLIC_BYTES,
  MAX_SIGNATURE_BYTES,
  TPMA_OBJECT,
  TPM_ALG_ECC,
  TPM_ALG_ECDSA,
  TPM_ALG_NULL,
  TPM_ALG_RSA,
  TPM_ALG_SHA256,
  TPM_ECC_NIST_P256,
  TPM_GENERATED_VALUE,
  TPM_ST_ATTEST_QUOTE,
  TpmDecodeError,
  akNameOf,
  decodeAttest,
  decodePublic,
  decodeSignature,
  decodeTpmtPublic,
  eccPublicKey,
  unwrapAttest,
  verifyEcdsaP256,
  type Attest,
  type ClockInfo,
  type EccPublic,
  type EcdsaSignature,
  type PcrSelection,
} from './structures.js';
export { verifyQuote, type QuoteCheck, type QuoteExpectation, type TpmClock } from './verify.js';
export { DEFAULT_CLOCK_STORE_CAPACITY, TpmClockStore, type ClockVerdict } from './clock-store.js';
export { DEFAULT_TPM_TIMEOUT_MS, KERNEL_TCTI, detectTpm, lastErrorLine, runTool, type ToolOptions } from './tools.js';
export { AK_PRIVATE_FILE, AK_PUBLIC_FILE, QUOTE_PCRS, TpmAttester, type TpmAttesterOptions } from './attester.js';
