// A gateway must never exit because its clock is off. A Raspberry Pi has no real-time clock: until
// NTP has set it, the time can be days behind (every artefact "not yet valid") or, after a bad fix,
// ahead (artefacts "expired"). Instead of dying with ARTEFACT_NOT_YET_VALID, the gateway says once
// what is wrong and what to check, then retries with backoff — re-reading its files each time, so
// a renewed RN Set Statement or PCert put in place meanwhile is picked up — and starts as soon as
// its artefacts are valid.

import { Backoff } from '../lib/backoff.js';
import { sleep, type Clock } from '../lib/clock.js';
import { isCodedError } from '../lib/errors.js';
import { ErrorCode } from '../uzp/errors.js';

/** Retry pacing while the clock is wrong: quick at first (NTP usually answers within seconds). */
const CLOCK_RETRY_BASE_MS = 1_000;
const CLOCK_RETRY_CAP_MS = 60_000;

const CLOCK_CODES: ReadonlySet<string> = new Set([ErrorCode.ARTEFACT_NOT_YET_VALID, ErrorCode.ARTEFACT_EXPIRED]);

/** The two log calls used here (a pino logger fits). */
interface ClockLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

interface ClockWaitOptions {
  readonly clock: Clock;
  readonly log: ClockLog;
  /** Uniform in [0, 1): the backoff's jitter (tests pin it). */
  readonly random?: () => number;
  /** Stops waiting (SIGTERM while the clock is still wrong): rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

function advice(code: string): string {
  return code === ErrorCode.ARTEFACT_NOT_YET_VALID
    ? 'the clock is behind: check NTP / systemd-timesyncd (a Pi has no RTC)'
    : 'the clock is ahead, or the artefact really expired: check NTP, or issue a new one (`uzpgw pantheon …`) and put it in place';
}

/** `build()` once the clock lets every artefact validate; other errors are thrown as they come. */
export async function whenClockIsRight<T>(build: () => Promise<T>, o: ClockWaitOptions): Promise<T> {
  const backoff = new Backoff({ baseMs: CLOCK_RETRY_BASE_MS, capMs: CLOCK_RETRY_CAP_MS, ...(o.random !== undefined ? { random: o.random } : {}) });
  let said: string | undefined;
  for (;;) {
    try {
      const built = await build();
      if (said !== undefined) o.log.info({ event: 'clock.ok', waited_attempts: backoff.attempts }, 'artefacts are valid now; starting');
      return built;
    } catch (e) {
      if (!isCodedError(e) || !CLOCK_CODES.has(e.code)) throw e;
      // Say it once per kind of problem (behind / ahead), not at every retry.
      if (said !== e.code) {
        said = e.code;
        o.log.warn({ event: 'clock.wrong', code: e.code, detail: e.message }, `${e.message}: ${advice(e.code)}; retrying until it is valid`);
      }
      await sleep(o.clock, Math.max(1, backoff.next()), o.signal);
      if (o.signal?.aborted === true) throw o.signal.reason;
    }
  }
}
