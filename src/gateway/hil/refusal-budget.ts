// How many refusals one operator's HIL sessions may cause: a token bucket of REFUSALS_PER_S, refilled
// continuously and holding at most one second's worth, shared by all sessions of one operator
// (operator-budgets.ts). Why: every refused or malformed frame costs the gateway a decode attempt,
// a reply and an audit record, and an operator decides how many it sends. One operator with a
// narrow read Grant sending 1-byte junk frames as fast as it could kept the gateway at 100% CPU,
// and the reading log recorded nothing on any slot during the flood and for 4 s after (found by
// review); the polling shares the gateway's one event loop with the HIL. Why per operator, not per
// session: a bucket per session gave an operator 8 times the rate with its 8 sessions
// (session-cap.ts), and a fresh full bucket to each session it opened after one was ended. The
// session whose refusal finds the bucket empty is ended (refusal-gate.ts, docs/PROFILE.md §HIL
// "Refusal budget").

import type { Clock } from '../../lib/clock.js';
import { PortErrorCode } from '../../ports/errors.js';
import { REFUSALS_PER_S } from '../../hil/limits.js';

/*
 * REFUSALS_PER_S (src/hil/limits.ts, where the operator's tools read it too): refusals one operator's
 * sessions together may cause per second (and at once), every answer audited `refused` (malformed frames, frames
 * before `open`, what the Grant does not allow, what the device refuses on its own, …) except
 * UNSPENT_CODES. An honest operator's tool sends no malformed frame, and its refusals come from a
 * Grant narrower than its polling. Spent at this rate, refusals cost the gateway a few milliseconds
 * of CPU per second.
 */
export { REFUSALS_PER_S };

/**
 * Answers that spend nothing: an honest client causes them at the rate of its own requests, however
 * well it behaves. `BUSY` is flow control (its unit's queue or its share of it full, or more than
 * the channel's requests in flight): `connect … modbus-tcp` keeping 32 reads in flight on a unit
 * whose share is 16 is answered BUSY at round-trip speed, and had its session ended within a
 * fraction of a second (review). `MODBUS_UNIT_SILENT` (a `failed` line, refusal-gate.ts unsent()):
 * a unit known silent is answered 0x0B at once, nothing sent, as fast as a poller of a dead unit
 * asks. `DEVICE_UNAVAILABLE`: the slot's port is down, every request answered at once (0x0A, nothing
 sent), so a poller of that slot would be ended the same way. All are still audited through the
 gate (first in full, then counted).
 */
export const UNSPENT_CODES: ReadonlySet<string> = new Set(['BUSY', 'DEVICE_UNAVAILABLE', PortErrorCode.MODBUS_UNIT_SILENT]);

export class RefusalBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly clock: Clock,
    private readonly perSecond = REFUSALS_PER_S,
  ) {
    this.tokens = perSecond;
    this.at = clock.now();
  }

  /** One refusal: true while the budget holds, false once it is spent (nothing is taken then). */
  spend(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * Whole milliseconds until the bucket is full again, 0 when it is: from then on it is the same as
   * a new one, and operator-budgets.ts forgets it. Rounded up, so that waiting this long fills it.
   */
  msToFull(): number {
    this.refill();
    return this.tokens >= this.perSecond ? 0 : Math.ceil(((this.perSecond - this.tokens) * 1000) / this.perSecond);
  }

  private refill(): void {
    const now = this.clock.now();
    // A clock that went back (it should not: now() is monotonic) refills nothing.
    if (now > this.at) this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
  }
}
