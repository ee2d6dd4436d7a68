// Capped exponential backoff with full jitter: delay = random(0, min(cap, base * 2^attempt)).
// Full jitter spreads a fleet of gateways that lost the same RN at the same moment (a fixed
// interval, which most edge gateways use, makes them reconnect in lockstep).

// The defaults belong to each caller (RN links and equipment ports back off differently), so
// both bounds are required here.
export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
  /** Uniform in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions) {
    this.baseMs = opts.baseMs;
    this.capMs = opts.capMs;
    this.random = opts.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The ceiling the next delay is drawn under. */
  get ceiling(): number {
    // 2^attempt stops growing once past the cap, so the exponent never overflows.
    return Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 40));
  }

  /** Delay before the next attempt; counts one more failure. */
  next(): number {
    const d = Math.floor(this.random() * this.ceiling);
    this.attempt++;
    return d;
  }

  reset(): void {
    this.attempt = 0;
  }
}
