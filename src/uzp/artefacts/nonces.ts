// Grant nonce state (draft §9: Grants carry a monotonically increasing nonce; endpoints track
// nonces). For each (issuer, subject, audience) we remember the highest nonce accepted and refuse
// lower ones. Equal is accepted: one Grant may open several sessions while it is valid.
//
// Bound: at most NONCE_STATE_ENTRIES (65,536) triples, least recently used evicted first. After
// eviction an older Grant for that triple would be accepted again until it expires; the Grant's
// own time window remains the hard replay bound (draft §9: replayed Grants outside their window
// MUST be rejected), so eviction weakens ordering, never expiry.

import { concat, toHex } from '../bytes.js';
import { NONCE_STATE_ENTRIES } from './constants.js';

export class NonceTracker {
  private readonly highest = new Map<string, number>();
  constructor(readonly capacity = NONCE_STATE_ENTRIES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`NonceTracker capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.highest.size;
  }

  private static key(iss: Uint8Array, sub: Uint8Array, aud: Uint8Array): string {
    return toHex(concat(iss, sub, aud));
  }

  /** The highest nonce recorded for the triple, if any. */
  get(iss: Uint8Array, sub: Uint8Array, aud: Uint8Array): number | undefined {
    return this.highest.get(NonceTracker.key(iss, sub, aud));
  }

  /** True if `nonce` is lower than the highest recorded for the triple. */
  isStale(iss: Uint8Array, sub: Uint8Array, aud: Uint8Array, nonce: number): boolean {
    const h = this.get(iss, sub, aud);
    return h !== undefined && nonce < h;
  }

  /** Records `nonce` (keeps the maximum) and marks the triple most recently used. */
  record(iss: Uint8Array, sub: Uint8Array, aud: Uint8Array, nonce: number): void {
    const k = NonceTracker.key(iss, sub, aud);
    const prev = this.highest.get(k);
    this.highest.delete(k);
    this.highest.set(k, prev === undefined ? nonce : Math.max(prev, nonce));
    while (this.highest.size > this.capacity) this.highest.delete(this.highest.keys().next().value!);
  }
}
