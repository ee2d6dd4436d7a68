// Pieces both handshake roles share: the trust interface they need, the identity they sign with,
// EID derivation, transcript hashing and stage-tagged failures.

import type { Grant, PCert, Role, Valid } from '../artefacts/types.js';
import { concat } from '../bytes.js';
import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import type { CommonCode, Fault } from '../../lib/errors.js';

/** The subset of TrustStore the handshake needs (the responder checks the Grant itself: draft §4.3, §5). */
export interface HandshakeTrust {
  readonly provider: CryptoProvider;
  validatePCert(bytes: Uint8Array, opts?: { role?: Role; cid?: Uint8Array }): Valid<PCert>;
  validateGrant(bytes: Uint8Array, opts: { audience: Uint8Array; subject?: Uint8Array; nonce?: 'track' | 'ignore' }): Valid<Grant>;
}

export interface HandshakeIdentity {
  readonly cid: Uint8Array;
  readonly signer: Signer;
  /** Our PCert envelope bytes, presented to the peer. */
  readonly pcert: Uint8Array;
}

/** Signature contexts (signatureInput in ../signing.ts). */
export const CTX_EID_BINDING = 'uzp-gw/1 eid-binding';
export const CTX_RESPONDER_VERIFY = 'uzp-gw/1 responder-verify';

/** EID = BLAKE3-256 of the ephemeral key material (X25519 share [|| ML-KEM share or ciphertext]) (draft §4.4). */
export function eidOf(p: CryptoProvider, x25519: Uint8Array, pq: Uint8Array): Uint8Array {
  return p.blake3(pq.length === 0 ? x25519 : concat(x25519, pq));
}

export function transcriptHash(p: CryptoProvider, ...parts: Uint8Array[]): Uint8Array {
  return p.sha256(concat(...parts));
}

type HandshakeStage = 'ch1' | 'responder-flight' | 'finished';

/** Wrap a failure with the stage it happened at (as js-libp2p-noise does); keep the original code. */
export function stageError(stage: HandshakeStage, e: unknown): UzpError {
  if (e instanceof UzpError) {
    const wrapped = new ProtocolError(e.code, `handshake ${stage}: ${e.message}`, e.fault, { cause: e });
    return wrapped;
  }
  return new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `handshake ${stage}: ${String(e)}`, 'local', { cause: e });
}

export function fail(code: ErrorCode | CommonCode, message: string, fault: Fault = 'peer'): never {
  throw new ProtocolError(code, message, fault);
}

/** A PCert presented in a handshake must belong to an endpoint, never to an RN. */
export function requireEndpointRole(pcert: Valid<PCert>): void {
  if (pcert.body.role === 'rn') fail(ErrorCode.PCERT_ROLE, 'an RN PCert cannot authenticate an endpoint', 'policy');
}
