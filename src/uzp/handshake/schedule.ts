// Handshake key schedule (TLS 1.3-shaped, RFC 8446 §7.1, with our own labels; docs/PROFILE.md):
//   hs        = HKDF-Extract(salt = 32 zero bytes, ikm = shared)        shared = [mlkem_ss ||] x25519_ss
//   i_hs/r_hs = Expand-Label(hs, "i hs traffic"/"r hs traffic", th_sh, 32)   th_sh = H(CH1 || SH header)
//   fin_i/r   = Expand-Label(i_hs/r_hs, "finished", "", 32)
//   master    = HKDF-Extract(salt = Expand-Label(hs, "derived", H(""), 32), ikm = 32 zero bytes)
//   i_ap/r_ap = Expand-Label(master, "i ap traffic"/"r ap traffic", th_app, 32)  th_app = H(... || FIN_R)
//   exp       = Expand-Label(master, "exp master", th_app, 32)
// The hybrid secret puts the ML-KEM share first, as TLS X25519MLKEM768 does.

import { utf8, Writer } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { expandLabel, trafficKey } from '../keyschedule.js';

const ZERO32 = new Uint8Array(32);
const EMPTY = new Uint8Array(0);

interface HandshakeTrafficSecrets {
  readonly initiator: Uint8Array;
  readonly responder: Uint8Array;
  readonly initiatorFinishedKey: Uint8Array;
  readonly responderFinishedKey: Uint8Array;
  readonly master: Uint8Array;
}

interface ApplicationSecrets {
  readonly initiator: Uint8Array;
  readonly responder: Uint8Array;
  readonly exporterMaster: Uint8Array;
}

export function handshakeSecrets(p: CryptoProvider, shared: Uint8Array, thSh: Uint8Array): HandshakeTrafficSecrets {
  const hs = p.hkdfExtract(ZERO32, shared);
  const initiator = expandLabel(p, hs, 'i hs traffic', thSh, 32);
  const responder = expandLabel(p, hs, 'r hs traffic', thSh, 32);
  const derived = expandLabel(p, hs, 'derived', p.sha256(EMPTY), 32);
  return {
    initiator,
    responder,
    initiatorFinishedKey: expandLabel(p, initiator, 'finished', EMPTY, 32),
    responderFinishedKey: expandLabel(p, responder, 'finished', EMPTY, 32),
    master: p.hkdfExtract(derived, ZERO32),
  };
}

export function applicationSecrets(p: CryptoProvider, master: Uint8Array, thApp: Uint8Array): ApplicationSecrets {
  return {
    initiator: expandLabel(p, master, 'i ap traffic', thApp, 32),
    responder: expandLabel(p, master, 'r ap traffic', thApp, 32),
    exporterMaster: expandLabel(p, master, 'exp master', thApp, 32),
  };
}

const HS_LABEL = utf8.encode('uzp-handshake');

/** AD of the two sealed handshake records (draft §7 label "uzp-handshake"), bound to th_sh and direction. */
export function handshakeAd(thSh: Uint8Array, direction: 0 | 1): Uint8Array {
  return new Writer(48).u8(HS_LABEL.length).bytes(HS_LABEL).bytes(thSh).u8(direction).finish();
}

/** Seal/open the single record each side sends under its handshake traffic secret (nonce = iv, counter 0). */
export function sealHandshake(p: CryptoProvider, aead: 'chacha20-poly1305' | 'aes-256-gcm', secret: Uint8Array, ad: Uint8Array, pt: Uint8Array): Uint8Array {
  const k = trafficKey(p, secret);
  return p.aead(aead, k.key).seal(k.iv, pt, ad);
}

export function openHandshake(
  p: CryptoProvider,
  aead: 'chacha20-poly1305' | 'aes-256-gcm',
  secret: Uint8Array,
  ad: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | null {
  const k = trafficKey(p, secret);
  return p.aead(aead, k.key).open(k.iv, sealed, ad);
}
