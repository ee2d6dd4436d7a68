// A responder's log of sessions refused before they existed (the Endpoint's 'refused': a junk or
// replayed OFFER, a handshake that failed or timed out), for the gateway and the collector alike.
// Every refusal is counted (the gateway's status `refused.handshakes`), but an RN drives how many
// there are: one warning each let a hostile RN write 15 MB of a gateway's log in 30 s, and an
// operator holding one valid Grant ~3,100 lines/s through an honest RN. So per RN the first of each code (and of each operator, a few) is said in full
// (session.refused, warn) and the rest once a minute as a count (session.refused_suppressed, warn);
// each suppressed one is still written at debug. The RN, not the operator, is the key: the
// initiator CID of an OFFER is the RN's word until the handshake checks it, so a key per CID would
// let it mint one per message (src/lib/repeat-limiter.ts bounds both).
// Early data not taken (the Endpoint's 'early-refused', draft §9: the session goes on at 1-RTT) is
// bounded the same way, apart: an initiator with a valid Grant chooses how often it sends some (a
// ticket replayed on every JOIN), and it was one info line each. Per RN, the first of each reason
// (and of a few operators) in full (session.early_refused, info), the rest once a minute as a count
// (session.early_refused_suppressed, info), each counted (the gateway's status `refused.early_data`).

import type { Clock } from '../lib/clock.js';
import { RepeatLimiter, type RepeatSummary } from '../lib/repeat-limiter.js';
import { toHex } from './bytes.js';

/** How often an RN whose refusals were counted gets its summary line. */
export const REFUSAL_SUMMARY_MS = 60_000;
/** The source of an offer made on a link that does not say which RN made it (test links). */
const UNKNOWN_RN = 'unknown';

interface RefusalLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What is counted (the gateway's status `refused`). */
interface Counts {
  handshakes: number;
  earlyData: number;
}

/**
 * An early refusal's reason up to its first colon: the limiter's code. The reasons are the
 * responder's own fixed texts (resumption/ticket-issuer.ts), some followed by a detail (an error
 * message, a strike register verdict) that would otherwise make every line a new code.
 */
function reasonKind(reason: string): string {
  const i = reason.indexOf(':');
  return i < 0 ? reason : reason.slice(0, i);
}

/** What the lines call the initiator: an operator (at a gateway) or a gateway (at a collector). */
export type InitiatorRole = 'operator' | 'gateway';

export class SessionRefusals {
  private readonly limiter: RepeatLimiter;
  /** Early data not taken: its own limiter, since its summary says other things than session.refused_suppressed. */
  private readonly early: RepeatLimiter;
  private stopped = false;

  constructor(
    private readonly log: RefusalLog,
    clock: Clock,
    private readonly counts?: Counts,
    private readonly initiator: InitiatorRole = 'operator',
  ) {
    this.limiter = new RepeatLimiter({ clock, intervalMs: REFUSAL_SUMMARY_MS, onSummary: (s) => this.summary(s) });
    this.early = new RepeatLimiter({ clock, intervalMs: REFUSAL_SUMMARY_MS, onSummary: (s) => this.earlySummary(s) });
  }

  /** The Endpoint's 'refused' (error, the initiator CID the OFFER named, the RN that made it). */
  refused(e: { readonly code: string; readonly message: string }, initiator: Uint8Array, rn: Uint8Array | undefined): void {
    if (this.counts !== undefined) this.counts.handshakes++;
    const who = toHex(initiator);
    const via = rn !== undefined ? toHex(rn) : UNKNOWN_RN;
    const line = { event: 'session.refused', [this.initiator]: who, rn: via, code: e.code, reason: e.message };
    if (this.stopped) this.log.debug(line, 'session refused (while stopping: counted, not summed up)');
    else if (this.limiter.admit(via, e.code, who)) this.log.warn(line, 'session refused');
    else this.log.debug(line, 'session refused (counted in the next session.refused_suppressed)');
  }

  /**
   * The Endpoint's 'early-refused' (why, the initiator, the RN that made the offer): the handshake
   * checked the initiator, so its CID is its own, but the RN stays the key as for refused().
   */
  earlyRefused(reason: string, initiator: Uint8Array, rn: Uint8Array | undefined): void {
    if (this.counts !== undefined) this.counts.earlyData++;
    const who = toHex(initiator);
    const via = rn !== undefined ? toHex(rn) : UNKNOWN_RN;
    const line = { event: 'session.early_refused', [this.initiator]: who, rn: via, reason };
    if (this.stopped) this.log.debug(line, 'early data not taken (while stopping: counted, not summed up)');
    else if (this.early.admit(via, reasonKind(reason), who)) this.log.info(line, 'early data not taken; the session goes on at 1-RTT');
    else this.log.debug(line, 'early data not taken (counted in the next session.early_refused_suppressed)');
  }

  /** Says the counts not yet summed up (the gateway stopping); refusals after it are counted, at debug only. */
  stop(): void {
    this.stopped = true;
    this.limiter.stop();
    this.early.stop();
  }

  private summary(s: RepeatSummary): void {
    const codes = Object.entries(s.codes).map(([code, n]) => `${code} ${n}`).join(', ');
    this.log.warn(
      { event: 'session.refused_suppressed', rn: s.source, suppressed: s.suppressed, codes: s.codes, [`${this.initiator}s`]: s.examples, interval_s: REFUSAL_SUMMARY_MS / 1000 },
      `${s.suppressed} more session${s.suppressed === 1 ? '' : 's'} refused through RN ${s.source} (${codes}) not logged one by one; the first of each code was`,
    );
  }

  private earlySummary(s: RepeatSummary): void {
    const reasons = Object.entries(s.codes).map(([reason, n]) => `${reason} ${n}`).join(', ');
    this.log.info(
      { event: 'session.early_refused_suppressed', rn: s.source, suppressed: s.suppressed, reasons: s.codes, [`${this.initiator}s`]: s.examples, interval_s: REFUSAL_SUMMARY_MS / 1000 },
      `early data of ${s.suppressed} more session${s.suppressed === 1 ? '' : 's'} through RN ${s.source} not taken (${reasons}) not logged one by one; the first of each reason was`,
    );
  }
}
