// Per-source token bucket for HELLO (cheap check before the RN spends an X25519 and a signature
// on a stranger; WireGuard allows 20 handshakes/s per source). The table is bounded: beyond
// `maxSources` the least recently seen source is forgotten, so a spray of source addresses costs
// memory O(maxSources), never more.

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
  take(source: string): boolean {
    const now = this.opts.clock.now();
    let b = this.buckets.get(source);
    if (b === undefined) {
      b = { tokens: this.opts.burst, at: now };
      if (this.buckets.size >= this.opts.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    } else {
      b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) * this.opts.ratePerS) / 1000);
      b.at = now;
      this.buckets.delete(source); // re-insert: Map order is our LRU order
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
