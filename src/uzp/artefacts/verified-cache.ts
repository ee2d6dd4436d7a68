// Bounded memory of artefacts that decoded and whose signatures verified, keyed by their exact
// bytes and expected type. An RN sees the same Grant on every JOIN, and a responder the same Grant
// again at every re-stitch (draft §11.4 revalidation): on that path, which runs rarely and so runs
// cold, the decode alone (CBOR, the pure-JS BLAKE3 object_id, the body codec) cost ~1 ms on the RN
// of the failover bench. With this a repeat costs one string key and the cheap checks.
// Only decoding and signatures are remembered: window, audience, revocation and nonce checks run on
// every validation (open.ts). Same bytes, same verdict: decoding is a function of the bytes, Ed25519
// verification is deterministic and a trust store's signer keys do not change.
// Bounded in entries and in bytes; eviction is least-recently-used (Map order, refreshed on hit).

import { VERIFIED_CACHE_BYTES, VERIFIED_CACHE_ENTRIES } from './constants.js';
import type { Envelope } from './types.js';

export class VerifiedCache {
  private readonly entries = new Map<string, Envelope<unknown>>();
  private bytesHeld = 0;

  constructor(
    readonly capacity = VERIFIED_CACHE_ENTRIES,
    readonly maxBytes = VERIFIED_CACHE_BYTES,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`VerifiedCache capacity must be >= 1, got ${capacity}`);
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`VerifiedCache maxBytes must be >= 1, got ${maxBytes}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The key of `bytes` decoded as `type` (one byte per octet: no hashing, no collisions). */
  static keyOf(type: string, bytes: Uint8Array): string {
    return `${type}:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')}`;
  }

  /** The envelope stored under `key`, refreshing its recency; undefined when absent. */
  get(key: string): Envelope<unknown> | undefined {
    const env = this.entries.get(key);
    if (env === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, env);
    return env;
  }

  /**
   * Remembers `env` (decoded from bytes the caller no longer changes: open.ts passes a copy, so a
   * cached envelope never pins a larger frame buffer). Artefacts larger than the byte bound are not kept.
   */
  add(key: string, env: Envelope<unknown>): void {
    if (key.length > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.bytesHeld -= key.length;
    }
    this.entries.set(key, env);
    this.bytesHeld += key.length;
    for (const [k] of this.entries) {
      if (this.entries.size <= this.capacity && this.bytesHeld <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytesHeld -= k.length;
    }
  }
}
