// How many sessions one operator (one operator CID) holds at this gateway at once (docs/PROFILE.md
// §HIL protocol, "Sessions per operator"; the config's `sessions.per_operator`).
//
// Why: a session can hold about 3 MiB of the gateway's memory for an operator that stops reading
// its replies (a 2 MiB send buffer and 32 blocks of 32 KiB in flight, uzp/blocks/limits.ts), and
// nothing but the RN bounded how many sessions one operator opened (128 stitches per initiator
// and RN). A review's operator with a read Grant opened 100 sessions of 64 log tails each and
// stopped reading: the gateway grew from 83 to 376 MiB. The default keeps one operator under
// about 24 MiB however it behaves, and leaves room for a console and a few `uzpgw connect`s.
//
// A session over the cap is not served (no session authority, no channel router): the first
// channel the operator opens on it, or the evidence its CH1 asked for, is answered `refused`
// TOO_MANY_SESSIONS (which `uzpgw connect` explains), and the session is closed. One that opens no
// channel is closed after TURN_AWAY_MS. Each is one audit line.

import type { Grant, Valid } from '../../uzp/artefacts/types.js';
import type { Channel } from '../../uzp/session/channel.js';
import type { Session } from '../../uzp/session/session.js';
import { toHex } from '../../uzp/bytes.js';
import type { Clock } from '../../lib/clock.js';
import type { AuditLog } from './audit.js';
import { senderOf } from './reply.js';
import type { BrokerStats } from './stats.js';
import { DEFAULT_SESSIONS_PER_OPERATOR } from '../../hil/limits.js';

/** Sessions one operator may hold at once unless the config says otherwise (src/hil/limits.ts). */
export { DEFAULT_SESSIONS_PER_OPERATOR };

/** A session turned away that opens no channel is closed after this long (the handshake's own bound). */
export const TURN_AWAY_MS = 10_000;

interface SessionCapOptions {
  readonly audit: AuditLog;
  readonly stats: BrokerStats;
  /** Sessions one operator may hold at once. */
  readonly perOperator: number;
  /** Closes sessions turned away that never open a channel. */
  readonly clock: Clock;
  /** An operator's last session closed (operator-budgets.ts forgets its budget then). */
  readonly released?: (operator: string) => void;
}

export class SessionCap {
  /** Live sessions per operator CID (hex); an operator with none has no entry. */
  private readonly held = new Map<string, number>();
  private readonly turnedAway = new WeakSet<Session>();

  constructor(private readonly o: SessionCapOptions) {}

  /**
   * Counts `session` for its operator until it closes and returns true; or, when the operator
   * already holds `perOperator` sessions, turns it away (audited, answered, closed) and returns false.
   */
  admit(session: Session, grant: Valid<Grant>): boolean {
    const operator = toHex(session.peerCid);
    const n = this.held.get(operator) ?? 0;
    if (n >= this.o.perOperator) {
      this.turnAway(session, grant, n);
      return false;
    }
    this.held.set(operator, n + 1);
    session.once('close', () => {
      const left = (this.held.get(operator) ?? 1) - 1;
      if (left > 0) this.held.set(operator, left);
      else {
        this.held.delete(operator);
        this.o.released?.(operator);
      }
    });
    return true;
  }

  /**
   * The evidence a session's CH1 asked for, when the session was turned away: the refusal goes on a
   * channel of ours instead (the operator waits on it before opening any). False: not turned away.
   */
  answerPush(session: Session): boolean {
    if (!this.turnedAway.has(session)) return false;
    let ch: Channel;
    try {
      ch = session.openChannel();
    } catch {
      return true; // closing already
    }
    this.answer(session, ch);
    return true;
  }

  private turnAway(session: Session, grant: Valid<Grant>, n: number): void {
    this.turnedAway.add(session);
    this.o.stats.refusals++;
    this.o.audit.record(
      { operator: session.peerCid, grant: grant.objectId },
      { action: 'session', decision: 'refused', code: 'TOO_MANY_SESSIONS', reason: `the operator already holds ${n} sessions at this gateway, its limit (sessions.per_operator)` },
    );
    const cancel = this.o.clock.setTimeout(() => session.close(), TURN_AWAY_MS, { unref: true });
    session.once('close', cancel);
    session.on('channel', (ch: Channel) => this.answer(session, ch));
  }

  /** `refused` on the channel, then the session's graceful close (which sends it first). */
  private answer(session: Session, ch: Channel): void {
    senderOf(ch)({ t: 'refused', code: 'TOO_MANY_SESSIONS' });
    session.close();
  }
}
