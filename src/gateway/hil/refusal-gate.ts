// Where every refusal of one HIL session goes (reply.ts refuse(), the modes' refused lines, early
// data, attestation): counted, audited without amplification, and held to its operator's budget.
//
// - Audit: per code, the first refusal of an interval is one line in full, and so is the first of
//   each (code, action and slot) up to a few (lib/repeat-limiter.ts, as uzp/session-refusals.ts
//   does for sessions refused at the handshake); the rest are counted, and each interval the
//   session's counts become one `refused.suppressed` line per code. So an operator sending 100,000
//   junk frames no longer writes 100,000 lines (36.6 MB, found by review). What an operator *did*
//   is never summarised: allowed actions and failed ones (the device erred on an allowed action,
//   which may have reached the equipment) stay one line each (channel-router.ts). The one failure
//   that reached nothing, a request to a unit known silent answered at once (0x0B, nothing sent:
//   unsent()), is held like a refusal, its counts in `failed.suppressed` lines: an honest poller
//   of a dead unit sends it at the rate of its own answers (3,000 reads were 3,000 lines, review).
// - Text: a refused or failed line's reason and text details are cut (lib/wire-text.ts): they can
//   quote what the operator sent.
// - Budget: refusals spend it, except the answers an honest client causes at the rate of its own
//   requests (UNSPENT_CODES, refusal-budget.ts: BUSY, a port down, a unit known silent). It is the
//   operator's, shared by all its sessions (operator-budgets.ts): REFUSALS_PER_S for them together.
//   The session whose refusal finds it spent is ended, `session.end` with code TOO_MANY_REFUSALS in
//   the audit, and nothing more it sends is read: not answered, not audited, only counted (one
//   `session.dropped` line when it closes; channel-router.ts counts before it looks whether the
//   channel ended, since the end ends every channel at once). The operator's other sessions go on,
//   each ended in turn only if it causes a refusal while the budget is still spent. Ending rather
//   than dropping in silence: an honest tool never comes near the budget, so a session past it is
//   broken or hostile; a request dropped without an answer leaves a broken client waiting on every
//   one, while the end tells it at once why; and the hostile one pays a new handshake for each
//   session, which finds the budget as the operator left it (refilling at REFUSALS_PER_S).

import type { Clock } from '../../lib/clock.js';
import { RepeatLimiter, type RepeatSummary } from '../../lib/repeat-limiter.js';
import { cutWire, WIRE_TEXT_MAX } from '../../lib/wire-text.js';
import type { AuditContext, AuditEntry, AuditLog } from './audit.js';
import { UNSPENT_CODES, type RefusalBudget } from './refusal-budget.js';
import type { BrokerStats } from './stats.js';

/** How often a session whose refusals were counted gets its `refused.suppressed` lines. */
export const REFUSAL_SUMMARY_MS = 10_000;
/** Characters of a refused or failed line's reason kept (ours, but some quote the operator's text). */
export const REASON_MAX = 256;
/** The limiter's one source: a gate serves one session. */
const SESSION = 'session';

interface RefusalGateOptions {
  readonly audit: AuditLog;
  readonly stats: BrokerStats;
  readonly clock: Clock;
  /** The session's operator and Grant: its summary lines name no slot. */
  readonly session: AuditContext;
  /** Ends the session (session-authority.ts end(), TOO_MANY_REFUSALS): a refusal of it found the budget spent. */
  readonly end: () => void;
  /** The budget its refusals spend: its operator's, shared with the operator's other sessions (operator-budgets.ts). */
  readonly budget: RefusalBudget;
}

export class RefusalGate {
  private readonly limiter: RepeatLimiter;
  private over = false;
  private closed = false;
  private dropped = 0;
  /** Refusals of this session taken from its operator's budget. */
  private spent = 0;
  /** Codes audited through unsent(): their summaries say `failed.suppressed`. */
  private readonly unsentCodes = new Set<string>();

  constructor(private readonly o: RefusalGateOptions) {
    this.limiter = new RepeatLimiter({ clock: o.clock, intervalMs: REFUSAL_SUMMARY_MS, onSummary: (s) => this.summary(s), maxSources: 1 });
  }

  /** True once a refusal of this session found the budget spent: nothing more of it is read (drop() each). */
  get ended(): boolean {
    return this.over;
  }

  /**
   * One refusal (decision 'refused'): counted, audited in full or counted for the next summary, and
   * spent from the budget unless its code is in UNSPENT_CODES (BUSY, DEVICE_UNAVAILABLE).
   * False: say nothing to the operator, a refusal of this session found the budget spent and it is being ended.
   */
  refused(ctx: AuditContext, entry: AuditEntry): boolean {
    this.o.stats.refusals++;
    return this.gated(ctx, entry);
  }

  /**
   * A request that failed before anything was sent (decision 'failed', a unit known silent):
   * audited like a refusal, in full or counted (`failed.suppressed`), never spent from the budget
   * (UNSPENT_CODES), not a refusal in the stats. False: say nothing, the session is being ended.
   */
  unsent(ctx: AuditContext, entry: AuditEntry): boolean {
    this.unsentCodes.add(entry.code ?? entry.decision);
    return this.gated(ctx, entry);
  }

  private gated(ctx: AuditContext, entry: AuditEntry): boolean {
    // After the close (an evidence request that failed late): nothing more can come, said in full.
    if (this.closed) {
      this.o.audit.record(ctx, bounded(entry));
      return true;
    }
    if (this.over) return false;
    if (!UNSPENT_CODES.has(entry.code ?? '')) {
      if (!this.o.budget.spend()) {
        // The refusal that ends the session is one line in full, whatever the limiter says: with a
        // budget shared by the operator's sessions it may be this session's first, the rest spent by
        // another (`session_spent` says how many were its own); the auditor must see what it did.
        this.over = true;
        this.o.audit.record(ctx, { ...bounded(entry), budget: 'spent', session_spent: this.spent });
        this.o.end();
        return false;
      }
      this.spent++;
    }
    const where = ctx.slot !== undefined ? `${entry.action} ${ctx.slot}` : entry.action;
    if (this.limiter.admit(SESSION, entry.code ?? entry.decision, where)) this.o.audit.record(ctx, bounded(entry));
    return true;
  }

  /** A frame that arrived after the end: not read. */
  drop(): void {
    this.dropped++;
  }

  /** The session closed: its counts not yet said are said now, and what was dropped. */
  close(): void {
    this.closed = true;
    this.limiter.stop();
    if (this.dropped > 0) {
      this.o.audit.record(this.o.session, { action: 'session.dropped', decision: 'refused', code: 'TOO_MANY_REFUSALS', frames: this.dropped, reason: 'frames that arrived after the session was ended for its refusals: not read' });
    }
  }

  private summary(s: RepeatSummary): void {
    for (const [code, n] of Object.entries(s.codes)) {
      const failed = this.unsentCodes.has(code);
      const what = failed ? `failure${n === 1 ? '' : 's'} (nothing sent)` : `refusal${n === 1 ? '' : 's'}`;
      const reason = `${n} more ${what} of this session with this code, not written one by one (the first was)`;
      const decision = failed ? 'failed' : 'refused';
      this.o.audit.record(this.o.session, { action: `${decision}.suppressed`, decision, code, reason, suppressed: n, examples: s.examples, interval_s: REFUSAL_SUMMARY_MS / 1000 });
    }
  }
}

/**
 * A refused or failed entry with its text cut: the reason to REASON_MAX, any other text detail (an
 * MQTT filter or topic, up to 1 KiB on the wire) to WIRE_TEXT_MAX. Allowed entries are written as
 * they are: they record what was done.
 */
export function bounded(entry: AuditEntry): AuditEntry {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string' || k === 'action' || k === 'decision' || k === 'code') continue;
    const max = k === 'reason' ? REASON_MAX : WIRE_TEXT_MAX;
    if (v.length <= max) continue;
    out ??= { ...entry };
    out[k] = cutWire(v, max);
  }
  return (out as AuditEntry | undefined) ?? entry;
}
