// The 0-RTT key schedule (draft §9: early data "MUST be cryptographically distinct from 1-RTT
// data"), shaped like TLS 1.3's PSK branch (RFC 8446 §7.1) with this profile's label prefix:
//
//   res      = Expand-Label(master, "res master", th_sh, 32)           both ends, once SH is known
//   psk      = Expand-Label(res, "resumption", ticket_id, 32)           one per ticket
//   early    = HKDF-Extract(salt = 32 zero bytes, ikm = psk)
//   e_secret = Expand-Label(early, "e traffic", SHA-256(CH1), 32)      per CH1 that carries the ticket
//   key, iv  = trafficKey(e_secret)
//
// th_sh, not th_app: the responder issues the next ticket inside EE (early-data.ts), which th_app
// covers. res still depends on the session's (EC)DHE secret and on CH1 and SH.
// So early keys depend on a secret of the earlier session (only its two endpoints hold it), on the
// ticket and on the exact CH1 (which binds the Grant, its nonce, both CIDs and the EID signature);
// no label is shared with the 1-RTT schedule ("i/r hs traffic", "i/r ap traffic").

import type { CryptoProvider } from '../crypto/provider.js';
import { SHA256_LENGTH } from '../crypto/provider.js';
import { expandLabel, trafficKey, type TrafficKey } from '../keyschedule.js';

const ZERO = new Uint8Array(SHA256_LENGTH);

/** The resumption master secret of a finished handshake. */
export function resumptionMaster(p: CryptoProvider, master: Uint8Array, thSh: Uint8Array): Uint8Array {
  return expandLabel(p, master, 'res master', thSh, SHA256_LENGTH);
}

/** The PSK a ticket stands for. */
export function ticketPsk(p: CryptoProvider, resMaster: Uint8Array, ticketId: Uint8Array): Uint8Array {
  return expandLabel(p, resMaster, 'resumption', ticketId, SHA256_LENGTH);
}

/** The early-data traffic key for one CH1 (its exact bytes). */
export function earlyTrafficKey(p: CryptoProvider, psk: Uint8Array, ch1: Uint8Array): TrafficKey {
  const early = p.hkdfExtract(ZERO, psk);
  return trafficKey(p, expandLabel(p, early, 'e traffic', p.sha256(ch1), SHA256_LENGTH));
}
