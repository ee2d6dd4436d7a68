// The refusal budget of each operator (one operator CID) with sessions at this gateway: all its
// sessions draw on one bucket (refusal-budget.ts), so that 8 sessions at once (session-cap.ts) are
// not 8 budgets, and a session opened after one was ended for TOO_MANY_REFUSALS finds the bucket as
// the operator left it instead of a fresh one (docs/PROFILE.md §HIL "Refusal budget").
//
// Memory: an operator's entry lives while it holds a session, and after its last one closes only
// until its bucket is full again (at most a second, then up to SWEEP_EVERY_MS until a sweep): a full
// bucket is the same as a new one, so nothing is lost by forgetting it then. One timer, which never
// keeps the process alive, forgets those entries; so the map holds the operators with sessions and
// those whose last session closed less than ~1.1 s ago, never every operator seen.

import type { Clock } from '../../lib/clock.js';
import { toHex } from '../../uzp/bytes.js';
import type { Session } from '../../uzp/session/session.js';
import { RefusalBudget, REFUSALS_PER_S } from './refusal-budget.js';

/**
 * Sweeps of the idle operators are at least this far apart: an operator is forgotten at most this
 * long after its bucket is full again (so within ~1.1 s of its last session's close).
 */
export const SWEEP_EVERY_MS = 100;

interface Entry {
  readonly budget: RefusalBudget;
  /** Its operator's sessions not yet closed. */
  sessions: number;
}

export class OperatorBudgets {
  /** Per operator CID (hex). */
  private readonly entries = new Map<string, Entry>();
  /** Operators of `entries` with no session left, waiting for their bucket to fill. */
  private readonly idle = new Set<string>();
  /** The one timer that forgets them is armed (it is while one of them is still refilling). */
  private armed = false;

  constructor(
    private readonly clock: Clock,
    /** Refusals per second of one operator's sessions together. */
    private readonly perSecond = REFUSALS_PER_S,
  ) {}

  /** Operators held: those with a session, and those whose bucket is still refilling after their last. */
  get size(): number {
    return this.entries.size;
  }

  /** The budget of `session`'s operator, shared with its other sessions; `session` counts until it closes. */
  admit(session: Session): RefusalBudget {
    const operator = toHex(session.peerCid);
    let entry = this.entries.get(operator);
    if (entry === undefined) {
      entry = { budget: new RefusalBudget(this.clock, this.perSecond), sessions: 0 };
      this.entries.set(operator, entry);
    }
    entry.sessions++;
    this.idle.delete(operator);
    const held = entry;
    session.once('close', () => {
      held.sessions--;
      if (held.sessions > 0) return;
      this.idle.add(operator);
      // Only this entry is looked at here (a close is O(1)); the timer sweeps every idle one.
      const ms = held.budget.msToFull();
      if (ms === 0) {
        this.idle.delete(operator);
        this.entries.delete(operator);
      } else if (!this.armed) this.arm(ms);
    });
    return entry.budget;
  }

  /**
   * Forgets the idle operators whose bucket is full, and arms the timer for the first of the rest, at
   * least SWEEP_EVERY_MS on: a sweep looks at every idle operator, so sweeps are spaced, not one per
   * operator (many operators closing in one second were O(n²) when each close swept; review).
   */
  private sweep(): void {
    let next = Infinity;
    for (const operator of this.idle) {
      const ms = this.entries.get(operator)!.budget.msToFull();
      if (ms > 0) {
        next = Math.min(next, ms);
        continue;
      }
      this.idle.delete(operator);
      this.entries.delete(operator);
    }
    if (next !== Infinity) this.arm(Math.max(next, SWEEP_EVERY_MS));
  }

  private arm(ms: number): void {
    this.armed = true;
    this.clock.setTimeout(
      () => {
        this.armed = false;
        this.sweep();
      },
      ms,
      { unref: true },
    );
  }
}
