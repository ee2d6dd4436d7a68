// Bounded memory of envelopes whose signatures already verified, keyed by what was verified: the
// body's object_id (BLAKE3-256 of the body bytes, computed by every decode anyway) and each
// signature's kid and bytes (open.ts sigCacheKey). No second hash of the envelope: on a cold
// path (an RN's first Grant after a failover) the pure-JS BLAKE3 cost ~0.5 ms. An RN sees the
// same Grant on every Join; with this it pays one Ed25519 verify per Grant instead of one per Join.
// Only the signature result is cached: window, revocation and nonce checks run on every validation.
// Eviction is least-recently-used (Map insertion order, refreshed on hit).

import { SIG_CACHE_ENTRIES } from './constants.js';

export class SigCache {
  private readonly entries = new Map<string, true>();
  constructor(readonly capacity = SIG_CACHE_ENTRIES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`SigCache capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** True if `k` (sigCacheKey of an envelope) verified before; refreshes its recency. */
  has(k: string): boolean {
    if (!this.entries.has(k)) return false;
    this.entries.delete(k);
    this.entries.set(k, true);
    return true;
  }

  add(k: string): void {
    this.entries.delete(k);
    this.entries.set(k, true);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
