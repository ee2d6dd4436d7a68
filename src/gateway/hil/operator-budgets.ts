// The refusal budget of each operator (one operator CID) with sessions at this gateway: all its
// sessions draw on one bucket (refusal-budget.ts), so that 8 sessions at once (session-cap.ts) are
// not 8 budgets, and a session opened after one was ended for TOO_MANY_REFUSALS finds the bucket as
// the operator left it instead of a fresh one (docs/PROFILE.md §HIL "Refusal budget").
//
// Which operators hold sessions is the session cap's count (session-cap.ts): the broker says
// released() when an operator's last session closed. Memory: an operator's entry lives while it
// holds a session, and after its last one closes only until its bucket is full again (at most a second, then up to SWEEP_EVERY_MS until a sweep): a full
// bucket is the same as a new one, so nothing is lost by forgetting it then. One timer, which never
// keeps the process alive, forgets those entries; so the map holds the operators with sessions and
// those whose last session closed less than ~1.1 s ago, never every operator seen.

import type { Clock } from '../../lib/clock.js';
import { RefusalBudget, REFUSALS_PER_S } from './refusal-budget.js';

/**
 * Sweeps of the idle operators are at least this far apart: an operator is forgotten at most this
 * long after its bucket is full again (so within ~1.1 s of its last session's close).
 */
export const SWEEP_EVERY_MS = 100;

export class OperatorBudgets {
  /** Per operator CID (hex). */
  private readonly entries = new Map<string, RefusalBudget>();
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

  /** The budget of `operator` (CID, hex), shared by its sessions: one it holds, or a new full one. */
  of(operator: string): RefusalBudget {
    let budget = this.entries.get(operator);
    if (budget === undefined) this.entries.set(operator, (budget = new RefusalBudget(this.clock, this.perSecond)));
    this.idle.delete(operator);
    return budget;
  }

  /**
   * `operator` holds no session any more (session-cap.ts): its budget is forgotten at once when full,
   * or once it is. Only this operator's bucket is looked at (a close is O(1)); the timer sweeps every
   * idle one.
   */
  released(operator: string): void {
    const budget = this.entries.get(operator);
    if (budget === undefined) return;
    const ms = budget.msToFull();
    if (ms === 0) {
      this.entries.delete(operator);
      return;
    }
    this.idle.add(operator);
    if (!this.armed) this.arm(ms);
  }

  /**
   * Forgets the idle operators whose bucket is full, and arms the timer for the first of the rest, at
   * least SWEEP_EVERY_MS on: a sweep looks at every idle operator, so sweeps are spaced, not one per
   * operator (many operators closing in one second were O(n²) when each close swept; review).
   */
  private sweep(): void {
    let next = Infinity;
    for (const operator of this.idle) {
      const ms = this.entries.get(operator)!.msToFull();
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
