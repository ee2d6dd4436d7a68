// Operator side of attestation (RFC 9334 Verifier + Relying Party in one): get the gateway's
// evidence over the session — pushed after a CH1 request, or asked for on a channel — and appraise
// it against a reference manifest, bound to this session's exporter and the authenticated peer.

import { appraise, type AppraisalPolicy } from '../attest/appraise.js';
import { sessionBinding } from '../attest/binding.js';
import type { TpmClockStore } from '../attest/tpm/clock-store.js';
import type { NonceStore } from '../attest/nonces.js';
import type { AppraisalResult, ReferenceManifest } from '../attest/types.js';
import { decodeHil, encodeHil } from '../hil/messages.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ErrorCode, ProtocolError } from '../uzp/errors.js';
import type { Channel } from '../uzp/session/channel.js';
import type { Session } from '../uzp/session/session.js';
import { AttestErrorCode } from '../attest/errors.js';
import { CodedError } from '../lib/errors.js';

const EVIDENCE_TIMEOUT_MS = 15_000;

/** The gateway's evidence did not appraise; `result` has every check with its reason. */
export class AttestationError extends CodedError {
  constructor(readonly result: AppraisalResult) {
    const failed = [...result.claims.filter((c) => c.status === 'fail').map((c) => `${c.claim}: ${c.reason}`), ...result.slots.filter((s) => s.status === 'fail').map((s) => `slot ${s.slot}: ${s.checks.filter((c) => c.status === 'fail').map((c) => `${c.claim}: ${c.reason}`).join(', ')}`)];
    super(AttestErrorCode.ATTEST_FAILED, 'policy', `gateway attestation failed: ${failed.join('; ')}`);
  }
}

export interface AttestationRequirement {
  readonly manifest: ReferenceManifest;
  readonly policy?: AppraisalPolicy;
  readonly tpmClocks?: TpmClockStore;
  readonly timeoutMs?: number;
  /** Issued nonces, each accepted once; share one store across connections of a long-running verifier. */
  readonly nonces?: NonceStore;
}

/** Reads the one evidence (or refusal) message of an attestation channel. */
function evidenceFrom(ch: Channel, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new CodedError(AttestErrorCode.ATTEST_UNAVAILABLE, 'peer', `no evidence within ${timeoutMs} ms`)), timeoutMs);
    const done = (err: Error | undefined, e?: Uint8Array): void => {
      clearTimeout(timer);
      ch.off('message', onMessage);
      ch.close().catch(() => undefined);
      if (err) reject(err);
      else resolve(e!);
    };
    const onMessage = (b: Uint8Array): void => {
      try {
        const m = decodeHil(b);
        if (m.t === 'evidence') return done(undefined, m.e);
        if (m.t === 'refused') return done(new CodedError(AttestErrorCode.ATTEST_UNAVAILABLE, 'peer', `the gateway refused to attest (${m.code})`));
        done(new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `unexpected ${m.t} on an attestation channel`));
      } catch (e) {
        done(e as Error);
      }
    };
    ch.on('message', onMessage);
    ch.once('end', () => done(new CodedError(AttestErrorCode.ATTEST_UNAVAILABLE, 'peer', 'the gateway closed the attestation channel without evidence')));
  });
}

/** Asks for evidence on a new channel ("on request over an established session"). */
export async function requestEvidence(session: Session, nonce: Uint8Array, timeoutMs = EVIDENCE_TIMEOUT_MS): Promise<Uint8Array> {
  const ch = session.openChannel();
  const reply = evidenceFrom(ch, timeoutMs);
  await ch.send(encodeHil({ t: 'attest', nonce }));
  return reply;
}

/**
 * Waits for the evidence the gateway pushes after a CH1 attestation request (on a channel the
 * gateway opens). Call right after the session is returned, before any other await.
 */
export function pushedEvidence(session: Session, timeoutMs = EVIDENCE_TIMEOUT_MS): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off('channel', onChannel);
      reject(new CodedError(AttestErrorCode.ATTEST_UNAVAILABLE, 'peer', `no evidence pushed within ${timeoutMs} ms`));
    }, timeoutMs);
    const onChannel = (ch: Channel): void => {
      clearTimeout(timer);
      session.off('channel', onChannel);
      evidenceFrom(ch, timeoutMs).then(resolve, reject);
    };
    session.on('channel', onChannel);
  });
}

/**
 * Appraises evidence that arrived on `session` for `nonce` (issued by `nonces`, consumed here: a
 * nonce is accepted once): bound to this session and to the authenticated gateway.
 */
export function appraiseOnSession(p: CryptoProvider, session: Session, evidence: Uint8Array, nonce: Uint8Array, nonces: NonceStore, req: AttestationRequirement): AppraisalResult {
  return appraise(p, evidence, req.manifest, req.policy ?? {}, {
    // The nonce sent on this session: evidence echoing another one (a gateway that saw this
    // verifier's other connections) fails without using that nonce up there.
    nonce: { store: nonces, sent: nonce },
    // The nonce is the exporter context: evidence for another nonce or session cannot match.
    binding: sessionBinding(session, nonce),
    peer: session.peerCid,
    ...(req.tpmClocks !== undefined ? { tpmClocks: req.tpmClocks } : {}),
  });
}
