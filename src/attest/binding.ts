// Session binding of evidence (draft §8): an exporter value under the label "uzp-gw attestation" with
// the verifier's nonce as context. Both ends of one session compute the same 32 bytes; the exporter
// mixes both CIDs, the transport parameters and the whole handshake transcript, so evidence made
// for one session never appraises in another.

import { EXPORTER_LABELS } from '../uzp/exporter.js';
import { BINDING_LENGTH } from './types.js';

interface ExporterSource {
  exporter(label: string, context: Uint8Array, length: number): Uint8Array;
}

export function sessionBinding(session: ExporterSource, nonce: Uint8Array): Uint8Array {
  return session.exporter(EXPORTER_LABELS.attestation, nonce, BINDING_LENGTH);
}
