// Sliding replay window over one block-number space: a ring of 32-bit words (RFC 6479 §2, the idea
// behind wireguard-go's replay filter). check() is O(1) and runs before the AEAD; mark() runs only
// after the block authenticated, so forged blocks can never move or poison the window.
// Arithmetic (not bit operators) on numbers: block numbers go up to 2^53 - 1.

import { REPLAY_WINDOW, REPLAY_WORDS } from './constants.js';

export const REPLAY_NEW = 0;
export const REPLAY_DUPLICATE = 1;
export const REPLAY_TOO_OLD = 2;
type ReplayVerdict = typeof REPLAY_NEW | typeof REPLAY_DUPLICATE | typeof REPLAY_TOO_OLD;

export class ReplayWindow {
  private readonly words = new Uint32Array(REPLAY_WORDS);
  /** Highest number marked so far; -1 before the first. */
  private top = -1;

  /** Size of the window below the highest number seen (8,160). */
  static readonly size = REPLAY_WINDOW;

  get highest(): number {
    return this.top;
  }

  check(n: number): ReplayVerdict {
    if (n > this.top) return REPLAY_NEW;
    if (this.top - n >= REPLAY_WINDOW) return REPLAY_TOO_OLD;
    const word = Math.floor(n / 32);
    const bit = n - word * 32;
    return (this.words[word % REPLAY_WORDS]! >>> bit) & 1 ? REPLAY_DUPLICATE : REPLAY_NEW;
  }

  /** Record `n` as received; the caller has checked it (REPLAY_NEW) and authenticated the block. */
  mark(n: number): void {
    const word = Math.floor(n / 32);
    if (n > this.top) {
      // Advance: zero every word between the old top word and the new one (at most the whole ring).
      const current = this.top < 0 ? -1 : Math.floor(this.top / 32);
      const clear = Math.min(word - current, REPLAY_WORDS);
      for (let i = 1; i <= clear; i++) this.words[(word - clear + i) % REPLAY_WORDS] = 0;
      this.top = n;
    }
    const bit = n - word * 32;
    const idx = word % REPLAY_WORDS;
    this.words[idx] = this.words[idx]! | (1 << bit);
  }
}
