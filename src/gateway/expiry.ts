// When an artefact the gateway holds runs out (issue #9, "expiry visible"): one pure assessment
// shared by the running gateway (its status file and its `artefact.expiring` log lines) and by
// `uzpgw status`, which recomputes it against its own "now" so that a stale status file still
// warns. A PCert or RN Set Statement that expires silently takes the gateway off its RN.

import { isoSeconds, roughDuration } from '../lib/time-text.js';

const DAY_MS = 24 * 60 * 60_000;

/** How long before the expiry the warnings start. */
export const EXPIRY_WARNING_MS = 7 * DAY_MS;
/** Where the renewal of each artefact is explained. */
export const RENEWAL_DOC = 'docs/FLASH.md#renewal';

export type ExpiryState = 'ok' | 'expiring' | 'expired';

export interface ExpiryAssessment {
  readonly state: ExpiryState;
  /** Milliseconds until the expiry; negative once past. */
  readonly remainingMs: number;
  /** What to tell the operator; absent when `ok`. */
  readonly warning?: string;
}

/**
 * The expiry of an artefact whose `exp` is `expiresAtMs`, seen at `nowMs`. Expired only once
 * `now` is past `exp`, as the validators read it (valid while now <= exp); expiring from
 * `warnBeforeMs` before. Pure: both times are arguments.
 */
export function assessExpiry(expiresAtMs: number, nowMs: number, warnBeforeMs: number = EXPIRY_WARNING_MS): ExpiryAssessment {
  const remainingMs = expiresAtMs - nowMs;
  const at = isoSeconds(expiresAtMs);
  if (remainingMs < 0) return { state: 'expired', remainingMs, warning: `expired ${roughDuration(-remainingMs)} ago (${at}); renew it: ${RENEWAL_DOC}` };
  if (remainingMs <= warnBeforeMs) return { state: 'expiring', remainingMs, warning: `expires in ${roughDuration(remainingMs)} (${at}); renew it: ${RENEWAL_DOC}` };
  return { state: 'ok', remainingMs };
}

/**
 * Keeps the gateway's expiry warnings to one line per artefact per day: a periodic check would
 * otherwise repeat the same warning every 30 s. Crossing from expiring to expired is news at once.
 */
export class ExpiryNotices {
  private readonly last = new Map<string, { state: ExpiryState; atMs: number }>();

  constructor(private readonly everyMs: number = DAY_MS) {}

  /** True when the warning for artefact `key` in `state` should be logged at `nowMs` (and records it). */
  due(key: string, state: ExpiryState, nowMs: number): boolean {
    if (state === 'ok') {
      this.last.delete(key);
      return false;
    }
    const prev = this.last.get(key);
    if (prev !== undefined && prev.state === state && nowMs - prev.atMs < this.everyMs) return false;
    this.last.set(key, { state, atMs: nowMs });
    return true;
  }
}
