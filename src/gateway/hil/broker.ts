// The HIL broker (draft §4.3): serves authenticated operator sessions on behalf of the attached
// equipment. Each session is bound to the gateway identity (the session's own handshake) and each
// channel to one slot and its device id; the Grant is enforced on *every* frame in both directions,
// and every action and refusal is one audit line. The broker never calls a device with anything the
// Grant did not allow, so the gateway cannot generalise a slot's authority.
//
// A composition of four parts, one job each: the session cap (how many sessions one operator
// holds), the session authority (how long a session's Grant holds), the channel router (what each
// channel is and which device it reaches) and the evidence service (the `attest` channel); and per
// session, its refusal gate (refusal-gate.ts: refusals audited without amplification, and a session
// whose refusal finds its operator's budget spent ended; operator-budgets.ts holds one per operator).

import type { Grant, Valid } from '../../uzp/artefacts/types.js';
import type { Channel } from '../../uzp/session/channel.js';
import type { Session } from '../../uzp/session/session.js';
import { toHex } from '../../uzp/bytes.js';
import type { AnyDevice } from '../../hil/device.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { AuditLog } from './audit.js';
import { ChannelRouter, DEFAULT_MAX_PENDING_REQUESTS } from './channel-router.js';
import { EvidenceService, type EvidenceSource } from './evidence-service.js';
import { SessionAuthority } from './session-authority.js';
import { DEFAULT_SESSIONS_PER_OPERATOR, SessionCap } from './session-cap.js';
import { OperatorBudgets } from './operator-budgets.js';
import { RefusalGate } from './refusal-gate.js';
import type { BrokerStats } from './stats.js';
import type { ReadingSource } from './log-tail.js';

export type { BrokerStats } from './stats.js';

interface BrokerOptions {
  readonly devices: ReadonlyMap<string, AnyDevice>;
  readonly audit: AuditLog;
  /** Modbus requests in flight per channel; beyond, the operator gets exception 0x06 (busy). Default 64. */
  readonly maxPendingRequests?: number;
  /** Produces evidence for (nonce, session binding); absent: attestation requests are refused. */
  readonly attest?: EvidenceSource;
  /** Schedules Grant expiry (default: the system clock). */
  readonly clock?: Clock;
  /** The gateway's boot epoch for readings (gateway/boot-epoch.ts); default 0 (unknown). */
  readonly epoch?: number;
  /** The reading log tails read (gateway/reading-log/recorder.ts); absent: live tails only. */
  readonly readings?: ReadingSource;
  /** Sessions one operator may hold at once (session-cap.ts); default DEFAULT_SESSIONS_PER_OPERATOR. */
  readonly sessionsPerOperator?: number;
  /** Refusals one operator's sessions together may cause per second (operator-budgets.ts); default REFUSALS_PER_S. */
  readonly refusalsPerSecond?: number;
}

export class HilBroker {
  readonly stats: BrokerStats = { sessions: 0, channels: 0, refusals: 0, readingsDropped: 0 };
  private readonly cap: SessionCap;
  private readonly authority: SessionAuthority;
  private readonly router: ChannelRouter;
  private readonly evidence: EvidenceService;
  private readonly budgets: OperatorBudgets;
  private readonly gates = new WeakMap<Session, RefusalGate>();

  constructor(private readonly o: BrokerOptions) {
    const shared = { audit: o.audit, stats: this.stats };
    this.budgets = new OperatorBudgets(o.clock ?? systemClock, o.refusalsPerSecond);
    this.cap = new SessionCap({ ...shared, clock: o.clock ?? systemClock, perOperator: o.sessionsPerOperator ?? DEFAULT_SESSIONS_PER_OPERATOR, released: (op) => this.budgets.released(op) });
    this.authority = new SessionAuthority({ ...shared, clock: o.clock ?? systemClock });
    this.evidence = new EvidenceService({ audit: o.audit, ...(o.attest !== undefined ? { attest: o.attest } : {}) });
    this.router = new ChannelRouter({ ...shared, devices: o.devices, evidence: this.evidence, maxPendingRequests: o.maxPendingRequests ?? DEFAULT_MAX_PENDING_REQUESTS, epoch: o.epoch ?? 0, ...(o.readings !== undefined ? { readings: o.readings } : {}) });
  }

  /** Operators whose refusal budget is held: with sessions, or refilling after their last (operator-budgets.ts). */
  get budgetedOperators(): number {
    return this.budgets.size;
  }

  /**
   * Serve one authenticated operator session under its (responder-validated) Grant. Authority
   * ends with the Grant: the session is closed when the Grant expires (draft §9: a Grant is
   * evaluated for freshness, not only at the handshake), and on revalidate() after a revocation.
   * `now` is the wall clock in milliseconds the Grant's expiry is read against. A session beyond
   * its operator's cap is not served: it is answered TOO_MANY_SESSIONS and closed (session-cap.ts).
   *
   * Service ends when the session starts closing, not when it has closed: a graceful close waits
   * up to CLOSE_TIMEOUT_MS for the operator's ack, and messages that cross the CLOSE are still
   * delivered (docs/PROFILE.md §Closing). From then on no message reaches a device, and requests
   * still waiting for a bus are taken off its queue (modes.ts). Before, an operator whose Grant had
   * expired had writes executed and audited "allowed" for up to 3 s after `session.end` (review of
   * 3deca72). Listening before admit(): a Grant already expired ends the session inside it, and
   * early data (0-RTT) is delivered after serve().
   */
  serve(session: Session, grant: Valid<Grant>, now: () => number = Date.now): void {
    if (!this.cap.admit(session, grant)) return;
    const gate = new RefusalGate({
      audit: this.o.audit,
      stats: this.stats,
      clock: this.o.clock ?? systemClock,
      session: { operator: session.peerCid, grant: grant.objectId },
      end: () => this.authority.end(session, 'TOO_MANY_REFUSALS'),
      budget: this.budgets.of(toHex(session.peerCid)),
    });
    this.gates.set(session, gate);
    // Before admit(): the counts not yet said come before the session's `session.close` line.
    session.once('close', () => gate.close());
    const ends = new Set<() => void>();
    let serving = true;
    const stop = (): void => {
      if (!serving) return;
      serving = false;
      for (const end of ends) end();
      ends.clear();
    };
    session.once('closing', stop);
    session.once('close', stop);
    this.authority.admit(session, grant, now);
    session.on('channel', (ch: Channel) => {
      if (!serving) return; // nothing it carries reaches a device; the session is ending
      const end = this.router.route(ch, session, grant, gate);
      ends.add(end);
      const forget = (): void => void ends.delete(end);
      ch.once('end', forget);
      ch.once('abort', forget);
    });
  }

  /**
   * Re-checks every live session (after a revocation list was reloaded): sessions whose Grant or
   * operator `stillValid` refuses are closed and audited. Returns how many were closed.
   */
  revalidate(stillValid: (grant: Valid<Grant>, operator: Uint8Array) => boolean): number {
    return this.authority.revalidate(stillValid);
  }

  /**
   * Sends evidence unasked on a channel we open, for the attestation request (nonce) the operator
   * put into CH1's extension slot. Nothing is sent for a session that no longer holds its Grant.
   */
  pushEvidence(session: Session, nonce: Uint8Array): void {
    if (this.cap.answerPush(session)) return;
    const grant = this.authority.grantOf(session);
    const gate = this.gates.get(session);
    if (grant !== undefined && gate !== undefined) this.evidence.push(session, grant, nonce, gate);
  }
}
