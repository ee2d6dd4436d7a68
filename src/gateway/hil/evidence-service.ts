// The HIL `attest` channel: the gateway's evidence (RFC 9334 Attester role) for an operator's nonce,
// bound to the session it is asked on (an exporter value, draft §8; src/attest/binding.ts), so it
// cannot be replayed into another session. Any holder of a Grant for this gateway may ask what it is
// running; every request is audited.

import type { Grant, Valid } from '../../uzp/artefacts/types.js';
import type { Channel } from '../../uzp/session/channel.js';
import type { Session } from '../../uzp/session/session.js';
import { sessionBinding } from '../../attest/binding.js';
import { encodeHil } from '../../hil/messages.js';
import { isCodedError } from '../../lib/errors.js';
import type { AuditContext, AuditLog } from './audit.js';
import { refuse, senderOf, type Refusals } from './reply.js';

/** Produces evidence for (nonce, session binding). */
export type EvidenceSource = (nonce: Uint8Array, binding: Uint8Array) => Promise<Uint8Array>;

interface EvidenceServiceOptions {
  readonly audit: AuditLog;
  /** Absent: attestation requests are refused (ATTEST_UNAVAILABLE). */
  readonly attest?: EvidenceSource;
}

/**
 * Evidence requests being produced at once, over all sessions. Each walks and hashes the bundle
 * (thousands of files), signs, and with a TPM runs tpm2-tools (seconds on a Pi), one at a time
 * (Attester): without a bound, a Grant holder opening channels and sending `attest` in a loop queued
 * work without end, and Modbus polling and the RN link's own evidence waited behind it.
 */
export const MAX_EVIDENCE_PENDING = 4;

export class EvidenceService {
  private pending = 0;
  /** Sessions with a request being produced: one at a time each. */
  private readonly asking = new WeakSet<Session>();

  constructor(private readonly o: EvidenceServiceOptions) {}

  /**
   * An `attest` message opened this channel: the evidence is the channel's only answer, then it
   * closes. A refusal goes through the session's gate (`refusals`, refusal-gate.ts).
   */
  answer(ch: Channel, nonce: Uint8Array, session: Session, ctx: AuditContext, refusals: Refusals): void {
    void this.send(ch, nonce, session, ctx, 'attest', refusals);
  }

  /**
   * Sends evidence unasked on a channel we open: the operator put an attestation request (its nonce)
   * into CH1's extension slot, so the evidence is on its way as soon as the session exists.
   */
  push(session: Session, grant: Valid<Grant>, nonce: Uint8Array, refusals: Refusals): void {
    let ch: Channel;
    try {
      ch = session.openChannel();
    } catch {
      return; // session closing or out of channels: the operator can still ask on a channel of its own
    }
    void this.send(ch, nonce, session, { operator: session.peerCid, grant: grant.objectId }, 'attest.early', refusals);
  }

  private async send(ch: Channel, nonce: Uint8Array, session: Session, ctx: AuditContext, action: string, refusals: Refusals): Promise<void> {
    const send = senderOf(ch);
    if (this.o.attest === undefined) {
      refuse(refusals, send, ctx, action, 'ATTEST_UNAVAILABLE', 'this gateway has no attester');
    } else if (this.asking.has(session)) {
      refuse(refusals, send, ctx, action, 'ATTEST_UNAVAILABLE', 'an evidence request of this session is still being answered: ask again once it is');
    } else if (this.pending >= MAX_EVIDENCE_PENDING) {
      refuse(refusals, send, ctx, action, 'ATTEST_UNAVAILABLE', `${MAX_EVIDENCE_PENDING} evidence requests are being answered: ask again shortly`);
    } else {
      this.pending++;
      this.asking.add(session);
      try {
        const e = await this.o.attest(nonce, sessionBinding(session, nonce));
        this.o.audit.record(ctx, { action, decision: 'allowed' });
        // Evidence can be several blocks long: wait for window space rather than drop it.
        await ch.send(encodeHil({ t: 'evidence', e })).catch(() => undefined);
      } catch (err) {
        refuse(refusals, send, ctx, action, 'ATTEST_UNAVAILABLE', isCodedError(err) ? err.message : String(err));
      } finally {
        this.pending--;
        this.asking.delete(session);
      }
    }
    ch.close().catch(() => undefined);
  }
}
