// Exporter interface (draft §8), analogous to TLS 1.3 exporters (RFC 8446 §7.5):
//   secret = Expand-Label(exporter_master, "exp " + label, binding, 32)
//   out    = Expand-Label(secret, "exporter", SHA-256(context), length)
// where binding = SHA-256(cid_i || cid_r || u16 suite || EE) — both CIDs and the negotiated transport
// parameters, as §8 requires, so exporter values of two sessions are cryptographically separated even
// if a caller passes the same label and context. exporter_master itself already depends on both EIDs
// and the whole transcript.

import type { SessionKeys } from './handshake/keys.js';
import type { CryptoProvider } from './crypto/provider.js';
import { expandLabel } from './keyschedule.js';

/** Labels used by this project; others may be passed by higher layers. */
export const EXPORTER_LABELS = {
  /** draft §8 example: per-ZPIT keys for monitoring or additional encapsulation. */
  zpitKey: 'uzpif-zpit-key',
  /** Session binding for attestation evidence (attestation issue). */
  attestation: 'uzp-gw attestation',
  /** Bounded continuity state for re-stitch (draft §11.4). */
  continuity: 'uzp-gw continuity',
  /** Proof-of-Reachability responder key (draft §12.4, exporter-derived). */
  por: 'uzp-gw por',
} as const;

export function exportKeyingMaterial(p: CryptoProvider, keys: SessionKeys, label: string, context: Uint8Array, length: number): Uint8Array {
  if (label.length === 0 || label.length > 200 || !/^[\x20-\x7e]+$/.test(label)) {
    throw new RangeError('exporter label: 1..200 printable ASCII characters');
  }
  if (!Number.isInteger(length) || length < 1 || length > 255) throw new RangeError('exporter length: 1..255 bytes');
  const secret = expandLabel(p, keys.exporterMaster, 'exp ' + label, keys.exporterBinding, 32);
  return expandLabel(p, secret, 'exporter', p.sha256(context), length);
}
