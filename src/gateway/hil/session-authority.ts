// The authority a HIL session holds: its Grant, for as long as the Grant holds. Draft §9: a Grant is
// evaluated for freshness, not only at the handshake — so a session ends when its Grant expires, and
// when a reloaded revocation list revokes the Grant, its issuer or the operator (revalidate()).

import type { Grant, Valid } from '../../uzp/artefacts/types.js';
import type { Session } from '../../uzp/session/session.js';
import type { RefusalCode } from '../../hil/refusals.js';
import type { Clock } from '../../lib/clock.js';
import type { AuditContext, AuditLog } from './audit.js';
import type { BrokerStats } from './stats.js';

/** The longest single timer the system clock can arm (2^31 - 1 ms); longer Grant lifetimes re-arm. */
const MAX_TIMER_MS = 2_147_483_647;

/** Why a session lost its authority (audit codes): draft §9, or its refusal budget (refusal-gate.ts). */
type SessionEnd = Extract<RefusalCode, 'GRANT_EXPIRED' | 'REVOKED' | 'TOO_MANY_REFUSALS'>;

const END_REASONS: Readonly<Record<SessionEnd, string>> = {
  GRANT_EXPIRED: 'the Grant expired',
  REVOKED: 'the Grant or the operator was revoked',
  TOO_MANY_REFUSALS: "the session was refused once more after its operator's budget of refused and malformed messages was spent",
};

interface SessionAuthorityOptions {
  readonly audit: AuditLog;
  readonly stats: BrokerStats;
  /** Schedules the expiry timers. */
  readonly clock: Clock;
}

export class SessionAuthority {
  private readonly live = new Map<Session, Valid<Grant>>();

  constructor(private readonly o: SessionAuthorityOptions) {}

  /**
   * Holds `session` to `grant` until the session closes. `now` is wall-clock milliseconds (Grant
   * expiry is Unix time; the Clock's now() is only monotonic), read each time the timer fires.
   */
  admit(session: Session, grant: Valid<Grant>, now: () => number): void {
    this.o.stats.sessions++;
    this.live.set(session, grant);
    const audit = this.contextOf(session, grant);
    this.o.audit.record(audit, { action: 'session', decision: 'allowed', slots: grant.body.scopes.map((x) => x.slot) });
    let cancel: (() => void) | undefined;
    const arm = (): void => {
      const left = grant.expiresAt * 1000 - now();
      if (left <= 0) return this.end(session, 'GRANT_EXPIRED');
      // unref: an expiry timer alone must not keep the process alive.
      cancel = this.o.clock.setTimeout(arm, Math.min(left, MAX_TIMER_MS), { unref: true });
    };
    arm();
    session.once('close', () => {
      cancel?.();
      this.live.delete(session);
      this.o.stats.sessions--;
      this.o.audit.record(audit, { action: 'session.close', decision: 'allowed' });
    });
  }

  /** The Grant a live session holds; undefined once it has lost its authority or closed. */
  grantOf(session: Session): Valid<Grant> | undefined {
    return this.live.get(session);
  }

  /**
   * Re-checks every live session (after a revocation list was reloaded): sessions whose Grant or
   * operator `stillValid` refuses are closed and audited. Returns how many were closed.
   */
  revalidate(stillValid: (grant: Valid<Grant>, operator: Uint8Array) => boolean): number {
    let closed = 0;
    for (const [session, grant] of [...this.live]) {
      if (stillValid(grant, session.peerCid)) continue;
      this.end(session, 'REVOKED');
      closed++;
    }
    return closed;
  }

  private contextOf(session: Session, grant: Valid<Grant>): AuditContext {
    return { operator: session.peerCid, grant: grant.objectId };
  }

  /** Ends `session`'s authority (audited once) and closes it; the CLOSE reason is the code in words. */
  end(session: Session, code: SessionEnd): void {
    const grant = this.live.get(session);
    if (grant !== undefined) {
      this.o.audit.record(this.contextOf(session, grant), { action: 'session.end', decision: 'refused', code, reason: END_REASONS[code] });
    }
    this.live.delete(session);
    session.close(0, code.toLowerCase().replaceAll('_', ' '));
  }
}
