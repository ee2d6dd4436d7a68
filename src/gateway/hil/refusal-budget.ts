// How many refusals one HIL session may cause: a token bucket of REFUSALS_PER_S, refilled
// continuously and holding at most one second's worth. Why: every refused or malformed frame
// costs the gateway a decode attempt, a reply and an audit record, and an operator decides how
// many it sends. One operator with a narrow read Grant sending 1-byte junk frames as fast as it
// could kept the gateway at 100% CPU, and the reading log recorded nothing on any slot during the
// flood and for 4 s after (found by review); the polling shares the gateway's one event loop
// with the HIL. What a session does beyond its budget is the owner's choice (session-gate.ts).

import type { Clock } from '../../lib/clock.js';

/**
 * Refusals one session may cause per second (and at once). An honest operator's tool sends no
 * malformed frame, and its refusals come from a Grant narrower than its polling or from a burst
 * past the requests in flight (BUSY): `connect … modbus-tcp` with 16 clients of 32 pipelined
 * requests each can be refused 192 at once (256 in flight at the operator, 64 at the gateway).
 * Spent at this rate, refusals cost the gateway a few milliseconds of CPU per second.
 */
export const REFUSALS_PER_S = 200;

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
    const now = this.clock.now();
    // A clock that went back (it should not: now() is monotonic) refills nothing.
    if (now > this.at) this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
