// The refusal budget of each operator (one operator CID) with sessions at this gateway: all its
// sessions draw on one bucket (refusal-budget.ts), so that 8 sessions at once (session-cap.ts) are
// not 8 budgets, and a session opened after one was ended for TOO_MANY_REFUSALS finds the bucket as
// the operator left it instead of a fresh one (docs/PROFILE.md §HIL "Refusal budget").
//
// Memory: an operator's entry lives while it holds a session, and after its last one closes only
// until its bucket is full again (at most a second): a full bucket is the same as a new one, so
// nothing is lost by forgetting it then. One timer, which never keeps the process alive, forgets
// those entries; so the map holds the operators with sessions and those whose last session closed
// less than a second ago, never every operator seen.

import type { Clock } from '../../lib/clock.js';
import { toHex } from '../../uzp/bytes.js';
import type { Session } from '../../uzp/session/session.js';
import { RefusalBudget, REFUSALS_PER_S } from './refusal-budget.js';

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
  /** The one timer that forgets them: when it fires (Infinity: none armed), and its cancel. */
  private due = Infinity;
  private cancel: () => void = () => {};

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
      this.forget();
    });
    return entry.budget;
  }

  /** Forgets the idle operators whose bucket is full, and arms the timer for the first of the rest. */
  private forget(): void {
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
    if (next === Infinity) return;
    const at = this.clock.now() + next;
    if (at >= this.due) return; // the armed timer comes first, and looks again then
    this.cancel();
    this.due = at;
    this.cancel = this.clock.setTimeout(
      () => {
        this.due = Infinity;
        this.forget();
      },
      next,
      { unref: true },
    );
  }
}
