// Round-trip time and retransmission timeout per RFC 6298 §2, clamped to [minRto, maxRto].
// Samples come only from blocks that were never retransmitted (Karn's algorithm, RFC 6298 §3).

import { CLOCK_GRANULARITY_MS } from './constants.js';

export class RttEstimator {
  private srtt: number | undefined;
  private rttvar = 0;
  private rtoMs: number;

  constructor(
    initialRtoMs: number,
    private readonly minRtoMs: number,
    private readonly maxRtoMs: number,
    /** Added to every RTO: the peer may hold an ack this long (it reports the delay, we subtract it from samples). */
    private readonly peerAckDelayMs: number,
  ) {
    this.rtoMs = this.clamp(initialRtoMs);
  }

  get smoothed(): number | undefined {
    return this.srtt;
  }

  get rto(): number {
    return this.rtoMs;
  }

  /** RTO for a block that has already timed out `timeouts` times: doubled each time (RFC 6298 §5.5). */
  backoff(timeouts: number): number {
    return Math.min(this.rtoMs * 2 ** Math.min(timeouts, 30), this.maxRtoMs);
  }

  sample(rttMs: number): void {
    const r = Math.max(0, rttMs);
    if (this.srtt === undefined) {
      // §2.2: first measurement
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      // §2.3: beta = 1/4, alpha = 1/8
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rtoMs = this.clamp(this.srtt + Math.max(CLOCK_GRANULARITY_MS, 4 * this.rttvar) + this.peerAckDelayMs);
  }

  private clamp(ms: number): number {
    return Math.min(Math.max(ms, this.minRtoMs), this.maxRtoMs);
  }
}
