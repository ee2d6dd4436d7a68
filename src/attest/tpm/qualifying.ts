// The TPM quote's qualifyingData (docs/PROFILE.md §TPM quote): one 32-byte value that commits the
// quote to this evidence alone: the verifier's nonce, the session binding and the claims digest.
// It is hashed down to 32 bytes because TPM2_Quote's qualifyingData is a TPM2B_DATA that real TPMs
// refuse when it is longer than their largest digest (Part 3 §18.4, TPM_RC_SIZE), and the inputs
// together are up to 130 bytes. Lengths are encoded so no two input triples hash the same bytes.

import { Writer, utf8 } from '../../uzp/bytes.js';
import type { CryptoProvider } from '../../uzp/crypto/provider.js';
import { BINDING_LENGTH, DIGEST_LENGTH, MAX_NONCE_BYTES, MIN_NONCE_BYTES } from '../types.js';

/** Domain separation: a quote made for anything else cannot be passed off as ours, nor ours elsewhere. */
const QUALIFYING_CONTEXT = utf8.encode('uzp-gw/1 tpm-quote');

/**
 * SHA-256(u16 len(ctx) || ctx || u8 len(nonce) || nonce || u8 len(binding) || binding || claimsDigest).
 * An absent binding is encoded as length 0. Throws RangeError on lengths outside the profile
 * (a programming error: callers validate nonces and bindings when they decode them).
 */
export function qualifyingData(p: CryptoProvider, nonce: Uint8Array, binding: Uint8Array | undefined, claimsDigest: Uint8Array): Uint8Array {
  if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES) throw new RangeError(`nonce must be ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES} bytes, got ${nonce.length}`);
  const b = binding ?? new Uint8Array(0);
  if (b.length !== 0 && b.length !== BINDING_LENGTH) throw new RangeError(`binding must be absent or ${BINDING_LENGTH} bytes, got ${b.length}`);
  if (claimsDigest.length !== DIGEST_LENGTH) throw new RangeError(`claims digest must be ${DIGEST_LENGTH} bytes, got ${claimsDigest.length}`);
  const w = new Writer(160)
    .vec16(QUALIFYING_CONTEXT)
    .u8(nonce.length)
    .bytes(nonce)
    .u8(b.length)
    .bytes(b)
    .bytes(claimsDigest);
  return p.sha256(w.finish());
}
