// Which sources completed AUTH recently, and for how many distinct CIDs: the RN's memory of
// "previously seen endpoints" that admission prefers under load (docs/PROFILE.md §RN admission).
// At pre-auth the RN cannot know *who* is connecting (the identity travels sealed in AUTH), only
// from where; so it remembers (CID, source) pairs of successful attachments and lets a source count
// as known while one is remembered. Several gateways behind one NAT address are several CIDs, so a
// busy NAT earns a proportionally larger budget, up to a cap.
//
// Bounded: at most `maxCids` pairs (the least recently seen is forgotten beyond it) and one counter
// per remembered source. A pair expires `ttlMs` after it was last seen; the RN's sweep re-marks
// every attached link, so a source stays known while its links are up and for `ttlMs` after.

import type { Clock } from '../lib/clock.js';

interface KnownSourcesOptions {
  readonly ttlMs: number;
  readonly maxCids: number;
  readonly clock: Clock;
}

interface Seen {
  source: string;
  at: number;
}

export class KnownSources {
  /** CID (hex) -> where and when it was last seen attached; Map order is least recently seen first. */
  private readonly cids = new Map<string, Seen>();
  /** source -> how many remembered CIDs were last seen there. */
  private readonly counts = new Map<string, number>();

  constructor(private readonly opts: KnownSourcesOptions) {}

  /** Remembered (CID, source) pairs. */
  get size(): number {
    return this.cids.size;
  }

  /** Sources with at least one remembered CID. */
  get sources(): number {
    this.expire(this.opts.clock.now());
    return this.counts.size;
  }

  /** `cid` is (still) attached from `source` now. */
  seen(source: string, cid: string): void {
    const now = this.opts.clock.now();
    this.expire(now);
    const prev = this.cids.get(cid);
    if (prev !== undefined) {
      this.cids.delete(cid); // re-inserted below: most recently seen last
      if (prev.source !== source) this.uncount(prev.source);
    } else if (this.cids.size >= this.opts.maxCids) {
      const [oldest, s] = this.cids.entries().next().value!;
      this.cids.delete(oldest);
      this.uncount(s.source);
    }
    if (prev === undefined || prev.source !== source) this.counts.set(source, (this.counts.get(source) ?? 0) + 1);
    this.cids.set(cid, { source, at: now });
  }

  /** Distinct CIDs remembered for `source` (0: a stranger). */
  count(source: string): number {
    this.expire(this.opts.clock.now());
    return this.counts.get(source) ?? 0;
  }

  private expire(now: number): void {
    // Oldest first, so this stops at the first pair still fresh: amortised O(1) per call.
    for (const [cid, s] of this.cids) {
      if (now - s.at < this.opts.ttlMs) return;
      this.cids.delete(cid);
      this.uncount(s.source);
    }
  }

  private uncount(source: string): void {
    const n = (this.counts.get(source) ?? 1) - 1;
    if (n <= 0) this.counts.delete(source);
    else this.counts.set(source, n);
  }
}
