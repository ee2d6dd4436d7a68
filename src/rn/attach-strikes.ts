// The RN's replay defence for the 1-RTT attachment (docs/PROFILE.md §1-RTT attachment; draft §9:
// bounded validity, nonce uniqueness, verifier-side state). A HELLO v2 counts once: its time_ep must
// be inside the window around the RN's clock, and its nonce_ep must not have been taken within that
// window. Both are bounded, so the register is too. Nothing is recorded before the HELLO has been
// opened and its signature verified (only authenticated flights can take a slot).
// A restart empties the register; what an earlier run of this RN may have taken had a time_ep at most
// ATTACH1_WINDOW_FUTURE_MS past that run's clock, so after a start only HELLOs made later than
// start + future are taken (assuming the RN's wall clock does not step back across the restart).

import { toHex } from '../uzp/bytes.js';
import { ATTACH1_STRIKES_MAX, ATTACH1_WINDOW_FUTURE_MS, ATTACH1_WINDOW_PAST_MS } from '../uzp/link/constants.js';

/** Why a HELLO v2 is not taken: outside the window, too early after a start, replayed, register full. */
export type StrikeRefusal = 'window' | 'restart' | 'replay' | 'full';

interface StrikeOptions {
  /** The RN's wall clock, ms since the Unix epoch. */
  readonly nowMs: () => number;
  readonly pastMs?: number;
  readonly futureMs?: number;
  readonly max?: number;
}

export class AttachStrikes {
  private readonly nowMs: () => number;
  private readonly pastMs: number;
  private readonly futureMs: number;
  private readonly max: number;
  /** Anything made up to here may have been taken by an earlier run. */
  private readonly notBefore: number;
  /** nonce_ep (hex) -> when it may be forgotten (time_ep + past window); insertion order ~ time. */
  private readonly taken = new Map<string, number>();

  constructor(opts: StrikeOptions) {
    this.nowMs = opts.nowMs;
    this.pastMs = opts.pastMs ?? ATTACH1_WINDOW_PAST_MS;
    this.futureMs = opts.futureMs ?? ATTACH1_WINDOW_FUTURE_MS;
    this.max = opts.max ?? ATTACH1_STRIKES_MAX;
    this.notBefore = this.nowMs() + this.futureMs;
  }

  get size(): number {
    return this.taken.size;
  }

  /** Cheap, before any crypto: is time_ep one this RN could take at all? */
  check(timeEp: number): StrikeRefusal | undefined {
    const now = this.nowMs();
    if (timeEp < now - this.pastMs || timeEp > now + this.futureMs) return 'window';
    if (timeEp <= this.notBefore) return 'restart';
    return undefined;
  }

  /** After the HELLO authenticated: takes its nonce, or says why not. */
  take(nonceEp: Uint8Array, timeEp: number): StrikeRefusal | undefined {
    const why = this.check(timeEp);
    if (why !== undefined) return why;
    this.prune();
    const key = toHex(nonceEp);
    if (this.taken.has(key)) return 'replay';
    if (this.taken.size >= this.max) return 'full';
    this.taken.set(key, timeEp + this.pastMs);
    return undefined;
  }

  /** Forgets nonces whose HELLO is out of the window now (oldest first; stops at the first live one). */
  private prune(): void {
    const now = this.nowMs();
    for (const [k, until] of this.taken) {
      if (until >= now) break;
      this.taken.delete(k);
    }
  }
}
