// The attestation request in CH1's extension slot (EXT_ATTESTATION, docs/PROFILE.md §Handshake and
// §Attestation): ext data = canonical CBOR {"nonce": bstr 8..64}. The gateway, as responder, cannot
// put session-bound evidence into the handshake itself (the exporter exists only after Finished,
// draft §8), so it answers the request with evidence on a channel it opens right after the session
// is up — no extra round trip for the operator.

import { asBytes, asMap, decodeCanonical, encodeCanonical, onlyKeys } from '../uzp/cbor.js';
import { EXT_ATTESTATION, type HandshakeExtension } from '../uzp/handshake/messages.js';
import { MAX_NONCE_BYTES, MIN_NONCE_BYTES } from './types.js';

export function attestationRequest(nonce: Uint8Array): HandshakeExtension {
  if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES) throw new RangeError(`nonce length ${nonce.length} not in ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES}`);
  return { type: EXT_ATTESTATION, data: encodeCanonical({ nonce }) };
}

/** The requested nonce, or undefined when there is no (well-formed) request: a bad one is ignored. */
export function attestationRequestOf(exts: readonly HandshakeExtension[]): Uint8Array | undefined {
  const ext = exts.find((e) => e.type === EXT_ATTESTATION);
  if (ext === undefined) return undefined;
  try {
    const m = asMap(decodeCanonical(ext.data, 2), 'attestation request');
    onlyKeys(m, ['nonce'], 'attestation request');
    const nonce = asBytes(m.nonce, 'attestation request nonce');
    return nonce.length >= MIN_NONCE_BYTES && nonce.length <= MAX_NONCE_BYTES ? nonce : undefined;
  } catch {
    return undefined;
  }
}
