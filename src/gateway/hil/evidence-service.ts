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
import type { AuditContext } from './audit.js';
import { refuse, senderOf, type Refusals } from './reply.js';

/** Produces evidence for (nonce, session binding). */
export type EvidenceSource = (nonce: Uint8Array, binding: Uint8Array) => Promise<Uint8Array>;

interface EvidenceServiceOptions extends Refusals {
  /** Absent: attestation requests are refused (ATTEST_UNAVAILABLE). */
  readonly attest?: EvidenceSource;
}

export class EvidenceService {
  constructor(private readonly o: EvidenceServiceOptions) {}

  /** An `attest` message opened this channel: the evidence is the channel's only answer, then it closes. */
  answer(ch: Channel, nonce: Uint8Array, session: Session, ctx: AuditContext): void {
    void this.send(ch, nonce, session, ctx, 'attest');
  }

  /**
   * Sends evidence unasked on a channel we open: the operator put an attestation request (its nonce)
   * into CH1's extension slot, so the evidence is on its way as soon as the session exists.
   */
  push(session: Session, grant: Valid<Grant>, nonce: Uint8Array): void {
    let ch: Channel;
    try {
      ch = session.openChannel();
    } catch {
      return; // session closing or out of channels: the operator can still ask on a channel of its own
    }
    void this.send(ch, nonce, session, { operator: session.peerCid, grant: grant.objectId }, 'attest.early');
  }

  private async send(ch: Channel, nonce: Uint8Array, session: Session, ctx: AuditContext, action: string): Promise<void> {
    const send = senderOf(ch);
    if (this.o.attest === undefined) {
      refuse(this.o, send, ctx, action, 'ATTEST_UNAVAILABLE', 'this gateway has no attester');
    } else {
      try {
        const e = await this.o.attest(nonce, sessionBinding(session, nonce));
        this.o.audit.record(ctx, { action, decision: 'allowed' });
        // Evidence can be several blocks long: wait for window space rather than drop it.
        await ch.send(encodeHil({ t: 'evidence', e })).catch(() => undefined);
      } catch (err) {
        refuse(this.o, send, ctx, action, 'ATTEST_UNAVAILABLE', isCodedError(err) ? err.message : String(err));
      }
    }
    ch.close().catch(() => undefined);
  }
}
