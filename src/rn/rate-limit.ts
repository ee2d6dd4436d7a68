// Per-source token bucket (a cheap check before the RN spends work on a stranger; WireGuard allows
// 20 handshakes/s per source). The table is bounded: beyond `maxSources` the least recently seen
// source is forgotten, so a spray of source addresses costs memory O(maxSources), never more.
// `take(source, scale)` runs the bucket at `scale` times its rate and burst: admission.ts passes a
// larger scale for a source that attached recently (many gateways behind one NAT address). Scaling
// never mints tokens at once: a bucket a source has emptied refills at the scaled rate.

import type { Clock } from '../lib/clock.js';

interface RateLimitOptions {
  readonly ratePerS: number;
  readonly burst: number;
  readonly maxSources: number;
  readonly clock: Clock;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly opts: RateLimitOptions) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `source`; false when its bucket is empty. */
  take(source: string, scale = 1): boolean {
    const now = this.opts.clock.now();
    const burst = this.opts.burst * scale;
    let b = this.buckets.get(source);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      if (this.buckets.size >= this.opts.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) * this.opts.ratePerS * scale) / 1000);
      b.at = now;
      this.buckets.delete(source); // re-insert: Map order is our LRU order
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
