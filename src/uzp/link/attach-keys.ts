// Transcript hashes, signature inputs and keys of the link attachment (SIGMA-I shape: each side
// signs the transcript with its identity key and sends identity + signature sealed under a key
// from the ephemeral DH, so identities are hidden from passive observers and bound to this run).
// Pure functions so that test vectors pin every intermediate value
// (docs/PROFILE.md §Key schedule).

import { concat, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SHA256_LENGTH } from '../crypto/provider.js';
import { expandLabel, trafficKey, type TrafficKey } from '../keyschedule.js';
import { signatureInput } from '../signing.js';
import {
  ATTACH_SIG_EP,
  ATTACH_SIG_RN,
  ATTACH_TRANSCRIPT_LABEL,
  ATTEST_BINDING_LENGTH,
  ATTEST_NONCE_LENGTH,
  LABEL_ATTEST_BINDING,
  LABEL_ATTEST_NONCE,
  LABEL_EP_CTL,
  LABEL_EP_HS,
  LABEL_RN_CTL,
  LABEL_RN_HS,
} from './constants.js';

/** th0 = SHA-256("uzp-gw/1 attach" || HELLO payload || eph_rn || nonce_rn). */
export function transcript0(p: CryptoProvider, helloPayload: Uint8Array, ephRn: Uint8Array, nonceRn: Uint8Array): Uint8Array {
  return p.sha256(concat(utf8.encode(ATTACH_TRANSCRIPT_LABEL), helloPayload, ephRn, nonceRn));
}

/** th1 = SHA-256(th0 || sealed part of HELLO_R). */
export function transcript1(p: CryptoProvider, th0: Uint8Array, helloRSealed: Uint8Array): Uint8Array {
  return p.sha256(concat(th0, helloRSealed));
}

/** th2 = SHA-256(th1 || AUTH payload). */
export function transcript2(p: CryptoProvider, th1: Uint8Array, authPayload: Uint8Array): Uint8Array {
  return p.sha256(concat(th1, authPayload));
}

/** prk = HKDF-Extract(salt = th0, IKM = X25519(eph_ep, eph_rn)) (RFC 5869 §2.2). */
export function attachPrk(p: CryptoProvider, th0: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  return p.hkdfExtract(th0, sharedSecret);
}

interface HandshakeKeys {
  /** Seals HELLO_R's identity part (RN -> EP), nonce counter 0, AD th0. */
  readonly rn: TrafficKey;
  /** Seals AUTH (EP -> RN), nonce counter 0, AD th1. */
  readonly ep: TrafficKey;
}

export function handshakeKeys(p: CryptoProvider, prk: Uint8Array, th0: Uint8Array): HandshakeKeys {
  return {
    rn: trafficKey(p, expandLabel(p, prk, LABEL_RN_HS, th0, SHA256_LENGTH)),
    ep: trafficKey(p, expandLabel(p, prk, LABEL_EP_HS, th0, SHA256_LENGTH)),
  };
}

interface ControlKeys {
  /** RN -> EP: OK is counter 0, CONTROL frames continue from 1. */
  readonly rn: TrafficKey;
  /** EP -> RN: CONTROL frames from counter 0. */
  readonly ep: TrafficKey;
}

export function controlKeys(p: CryptoProvider, prk: Uint8Array, th2: Uint8Array): ControlKeys {
  return {
    rn: trafficKey(p, expandLabel(p, prk, LABEL_RN_CTL, th2, SHA256_LENGTH)),
    ep: trafficKey(p, expandLabel(p, prk, LABEL_EP_CTL, th2, SHA256_LENGTH)),
  };
}

/**
 * Values an EP's attestation evidence must carry to count for this attachment (ControlKind.ATTEST):
 * `nonce` is echoed as eat_nonce, `binding` is the binding claim. Both come from the attachment's
 * prk and th2, so both ends know them, nobody else does, and they are fresh per attachment (th0
 * covers the RN's random nonce_rn and both fresh ephemerals): evidence made for one attachment
 * never matches another.
 */
export interface AttachAttestationContext {
  /** 16 bytes: expandLabel(prk, "attach attest nonce", th2, 16). */
  readonly nonce: Uint8Array;
  /** 32 bytes: expandLabel(prk, "attach attest binding", th2, 32). */
  readonly binding: Uint8Array;
}

export function attachAttestationContext(p: CryptoProvider, prk: Uint8Array, th2: Uint8Array): AttachAttestationContext {
  return {
    nonce: expandLabel(p, prk, LABEL_ATTEST_NONCE, th2, ATTEST_NONCE_LENGTH),
    binding: expandLabel(p, prk, LABEL_ATTEST_BINDING, th2, ATTEST_BINDING_LENGTH),
  };
}

/** What the RN signs: "uzp-gw/1 attach-rn" || th0, in the profile's length-prefixed form (signing.ts). */
export function rnSignatureInput(th0: Uint8Array): Uint8Array {
  return signatureInput(ATTACH_SIG_RN, th0);
}

/** What the EP signs: "uzp-gw/1 attach-ep" || th1 || pcert object_id, length-prefixed (signing.ts). */
export function epSignatureInput(th1: Uint8Array, pcertObjectId: Uint8Array): Uint8Array {
  return signatureInput(ATTACH_SIG_EP, concat(th1, pcertObjectId));
}
