// One direction of the sealed link control channel. Nonces are implicit counters (TCP delivers
// in order, so both sides count the same way): nonce = iv XOR u64be(counter) in the last 8 bytes,
// the per-record nonce construction of RFC 8446 §5.3. A counter is used once and never reset.

import type { Aead, CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH } from '../crypto/provider.js';
import { ErrorCode } from '../errors.js';
import { StateError } from '../../lib/errors.js';
import type { TrafficKey } from '../keyschedule.js';

/** Link AEAD (brief: ChaCha20-Poly1305 for the link; fast without AES instructions on a Pi). */
export const LINK_AEAD = 'chacha20-poly1305' as const;

export function counterNonce(iv: Uint8Array, counter: number): Uint8Array {
  const nonce = iv.slice(0, AEAD_NONCE_LENGTH);
  // RFC 8446 §5.3: left-pad the 64-bit sequence number to iv_length and XOR with the IV.
  let c = counter;
  for (let i = AEAD_NONCE_LENGTH - 1; i >= AEAD_NONCE_LENGTH - 8 && c > 0; i--) {
    nonce[i] = nonce[i]! ^ c % 256;
    c = Math.floor(c / 256);
  }
  return nonce;
}

abstract class Direction {
  protected readonly aead: Aead;
  protected readonly iv: Uint8Array;
  protected counter: number;
  constructor(p: CryptoProvider, key: TrafficKey, firstCounter = 0) {
    this.aead = p.aead(LINK_AEAD, key.key);
    this.iv = key.iv;
    this.counter = firstCounter;
  }
  get next(): number {
    return this.counter;
  }
  protected take(): number {
    // 2^53 records at line rate is centuries; refusing beats ever reusing a nonce.
    if (this.counter >= Number.MAX_SAFE_INTEGER) throw new StateError(ErrorCode.SESSION_KEY_LIMIT, 'link channel: counter exhausted');
    return this.counter++;
  }
}

export class SealingDirection extends Direction {
  seal(plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
    return this.aead.seal(counterNonce(this.iv, this.take()), plaintext, ad);
  }
}

export class OpeningDirection extends Direction {
  /** Returns null when the tag fails; the counter then stays put, but the caller closes the link. */
  open(sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
    const pt = this.aead.open(counterNonce(this.iv, this.counter), sealed, ad);
    if (pt !== null) this.take();
    return pt;
  }
}

/** Both directions of an attached link, from one side's point of view. */
export interface LinkChannel {
  readonly send: SealingDirection;
  readonly recv: OpeningDirection;
}
