// Bounded memory of envelopes whose signatures already verified, keyed by BLAKE3-256 of the whole
// envelope bytes. An RN sees the same Grant on every Join; with this it pays one Ed25519 verify per
// Grant instead of one per Join. Only the signature result is cached: window, revocation and nonce
// checks run on every validation. Eviction is least-recently-used (Map insertion order, refreshed on hit).

import { toHex } from '../bytes.js';
import { SIG_CACHE_ENTRIES } from './constants.js';

export class SigCache {
  private readonly entries = new Map<string, true>();
  constructor(readonly capacity = SIG_CACHE_ENTRIES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`SigCache capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** True if `key` (BLAKE3 of an envelope) verified before; refreshes its recency. */
  has(key: Uint8Array): boolean {
    const k = toHex(key);
    if (!this.entries.has(k)) return false;
    this.entries.delete(k);
    this.entries.set(k, true);
    return true;
  }

  add(key: Uint8Array): void {
    const k = toHex(key);
    this.entries.delete(k);
    this.entries.set(k, true);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
