// Transcript hashes, signature input and keys of the 1-RTT attachment (docs/PROFILE.md §1-RTT
// attachment). The EP's first flight is sealed under a key from X25519(eph_ep, the RN's static key)
// and its signature covers the RN's identity key, so only that RN can open it and it counts for that
// RN only. The link's control keys mix in the RN's fresh ephemeral as well (forward secrecy from OK
// on), and come out of the same controlKeys / attachAttestationContext as the full attachment's.
// Pure functions, so test vectors pin every intermediate value.

import { concat, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SHA256_LENGTH } from '../crypto/provider.js';
import { expandLabel, trafficKey, type TrafficKey } from '../keyschedule.js';
import { signatureInput } from '../signing.js';
import { ATTACH1_SIG_EP, ATTACH1_TRANSCRIPT_LABEL, LABEL_EP_EARLY, LABEL_EP_HS1 } from './constants.js';

/** th0 = SHA-256("uzp-gw/1 attach1" || HELLO clear part (73 bytes) || rn_public_key). */
export function transcript0v2(p: CryptoProvider, helloClear: Uint8Array, rnPublicKey: Uint8Array): Uint8Array {
  return p.sha256(concat(utf8.encode(ATTACH1_TRANSCRIPT_LABEL), helloClear, rnPublicKey));
}

/** th1 = SHA-256(th0 || HELLO sealed part). */
export function transcript1v2(p: CryptoProvider, th0: Uint8Array, sealed: Uint8Array): Uint8Array {
  return p.sha256(concat(th0, sealed));
}

/** th2 = SHA-256(th1 || eph_rn || nonce_rn). */
export function transcript2v2(p: CryptoProvider, th1: Uint8Array, ephRn: Uint8Array, nonceRn: Uint8Array): Uint8Array {
  return p.sha256(concat(th1, ephRn, nonceRn));
}

/** prk_s = HKDF-Extract(salt = th0, IKM = ss_s), ss_s = X25519(eph_ep, X25519 key of rn_public_key). */
export function staticPrk(p: CryptoProvider, th0: Uint8Array, ssStatic: Uint8Array): Uint8Array {
  return p.hkdfExtract(th0, ssStatic);
}

/** Seals HELLO's identity part (EP -> RN), counter 0, AD th0. */
export function helloKey(p: CryptoProvider, prkS: Uint8Array, th0: Uint8Array): TrafficKey {
  return trafficKey(p, expandLabel(p, prkS, LABEL_EP_HS1, th0, SHA256_LENGTH));
}

/** EP -> RN CONTROL records sent before the EP has read HELLO_R (its JOINs), counters from 0. */
export function earlyKey(p: CryptoProvider, prkS: Uint8Array, th1: Uint8Array): TrafficKey {
  return trafficKey(p, expandLabel(p, prkS, LABEL_EP_EARLY, th1, SHA256_LENGTH));
}

/** prk = HKDF-Extract(salt = th2, IKM = ss_e || ss_s), ss_e = X25519(eph_ep, eph_rn). */
export function linkPrk(p: CryptoProvider, th2: Uint8Array, ssEphemeral: Uint8Array, ssStatic: Uint8Array): Uint8Array {
  return p.hkdfExtract(th2, concat(ssEphemeral, ssStatic));
}

/** What the EP signs: "uzp-gw/1 attach1-ep" || th0 || pcert object_id, length-prefixed (signing.ts). */
export function ep1SignatureInput(th0: Uint8Array, pcertObjectId: Uint8Array): Uint8Array {
  return signatureInput(ATTACH1_SIG_EP, concat(th0, pcertObjectId));
}
