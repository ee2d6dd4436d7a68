// Verifier-side nonces (RFC 9334 §10.2, nonce-based freshness): the verifier issues a random nonce,
// the evidence must echo it, and each nonce is accepted once. Bounded: at most `capacity` nonces are
// outstanding (the oldest is forgotten first), each for `ttlMs`; a consumed nonce is remembered until
// its expiry so a replay is named as such rather than as "unknown".

import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { toHex } from '../uzp/bytes.js';
import { MAX_NONCE_BYTES, MIN_NONCE_BYTES } from './types.js';

const DEFAULT_NONCE_BYTES = 16;
const DEFAULT_NONCE_TTL_MS = 120_000;
const DEFAULT_NONCE_CAPACITY = 4096;

type NonceVerdict = 'ok' | 'unknown' | 'replayed' | 'expired';

interface Entry {
  readonly expires: number;
  used: boolean;
}

export class NonceStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly p: CryptoProvider,
    private readonly o: { ttlMs?: number; capacity?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** A fresh nonce to send to an attester. */
  issue(length = DEFAULT_NONCE_BYTES): Uint8Array {
    if (length < MIN_NONCE_BYTES || length > MAX_NONCE_BYTES) throw new RangeError(`nonce length ${length} not in ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES}`);
    const n = this.p.randomBytes(length);
    this.remember(n);
    return n;
  }

  /** Registers a nonce chosen elsewhere (e.g. `attest verify --nonce HEX`). */
  remember(nonce: Uint8Array): void {
    this.sweep();
    const cap = this.o.capacity ?? DEFAULT_NONCE_CAPACITY;
    while (this.entries.size >= cap) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(toHex(nonce), { expires: this.now() + (this.o.ttlMs ?? DEFAULT_NONCE_TTL_MS), used: false });
  }

  /** Marks the nonce used if it is outstanding; says why not otherwise. */
  consume(nonce: Uint8Array): NonceVerdict {
    const e = this.entries.get(toHex(nonce));
    if (e === undefined) return 'unknown';
    if (e.used) return 'replayed';
    if (this.now() > e.expires) return 'expired';
    e.used = true;
    return 'ok';
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (now > e.expires) this.entries.delete(k);
  }
}
