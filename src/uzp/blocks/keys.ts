// Key phases of the two directions (key update shaped like RFC 9001 §6, with TLS 1.3's secret
// ratchet from keyschedule.ts). Each direction updates on its own; the phase bit in the block type
// tells the receiver which key sealed a block.

import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { nextTrafficSecret } from '../keyschedule.js';
import { BLOCK_PHASE_BIT, BLOCK_SPACE_BIT } from './constants.js';
import { deriveKeyMaterial, openBlock, type AdTemplate, type KeyMaterial } from './protect.js';

/**
 * Our sending keys. A block in flight remembers the generation that sealed it; older generations
 * stay here while such blocks exist, so a retransmission can be reopened and resealed under the
 * current key (blocks are kept only sealed, never twice in memory).
 */
export class SendKeys {
  current: KeyMaterial;
  /** Blocks sealed under `current` (data, ack and reseals): RFC 9001 §6.6 counts every packet. */
  sealed = 0;
  /**
   * Whether the peer has shown (by acknowledging a data block first sealed under it) that it holds the
   * current key. RFC 9001 §6.5: no further update before that, or a receiver that missed a whole
   * phase would look for the wrong key and the session would stall.
   */
  confirmed = true;
  private currentRefs = 0;
  private readonly old = new Map<number, { km: KeyMaterial; refs: number }>();

  constructor(
    private readonly p: CryptoProvider,
    private readonly alg: AeadAlgorithm,
    secret: Uint8Array,
  ) {
    this.current = deriveKeyMaterial(p, alg, secret, 0);
  }

  get phase(): number {
    return this.current.generation & BLOCK_PHASE_BIT;
  }

  /** Generations kept for in-flight blocks (test inspection). */
  get retainedGenerations(): number {
    return this.old.size;
  }

  update(): void {
    const prev = this.current;
    if (this.currentRefs > 0) this.old.set(prev.generation, { km: prev, refs: this.currentRefs });
    this.current = deriveKeyMaterial(this.p, this.alg, nextTrafficSecret(this.p, prev.secret), prev.generation + 1);
    this.currentRefs = 0;
    this.sealed = 0;
    this.confirmed = false;
  }

  retain(generation: number): void {
    if (generation === this.current.generation) this.currentRefs++;
    else {
      const e = this.old.get(generation);
      if (e !== undefined) e.refs++;
    }
  }

  release(generation: number): void {
    if (generation === this.current.generation) this.currentRefs--;
    else {
      const e = this.old.get(generation);
      if (e !== undefined && --e.refs === 0) this.old.delete(generation);
    }
  }

  material(generation: number): KeyMaterial | undefined {
    return generation === this.current.generation ? this.current : this.old.get(generation)?.km;
  }
}

/**
 * The peer's sending keys as we see them: current, previous (late and reordered blocks) and next
 * (derived on first need, installed only once a block authenticates under it, so forged blocks can
 * never move the phase).
 */
export class RecvKeys {
  current: KeyMaterial;
  private previous: KeyMaterial | undefined;
  private next: KeyMaterial | undefined;
  /** Lowest number authenticated under `current`, per space: older flipped-phase blocks try `previous` first. */
  private readonly lowest = [Infinity, Infinity];
  /** Failed opens since the current key was installed (integrity limit, RFC 9001 §6.6). */
  failedOpens = 0;
  updates = 0;

  constructor(
    private readonly p: CryptoProvider,
    private readonly alg: AeadAlgorithm,
    secret: Uint8Array,
  ) {
    this.current = deriveKeyMaterial(p, alg, secret, 0);
  }

  open(ad: AdTemplate, nonce: Uint8Array, type: number, number: number, block: Uint8Array): Uint8Array | null {
    const space = type & BLOCK_SPACE_BIT ? 1 : 0;
    if ((type & BLOCK_PHASE_BIT) === (this.current.generation & BLOCK_PHASE_BIT)) {
      const pt = openBlock(this.current, ad, nonce, type, number, block);
      if (pt === null) this.failedOpens++;
      else if (number < this.lowest[space]!) this.lowest[space] = number;
      return pt;
    }
    // Other phase: the previous key (a late block) or the next one (the peer updated).
    const prevFirst = this.previous !== undefined && number < this.lowest[space]!;
    if (prevFirst) {
      const pt = openBlock(this.previous!, ad, nonce, type, number, block);
      if (pt !== null) return pt;
      this.failedOpens++;
    }
    this.next ??= deriveKeyMaterial(this.p, this.alg, nextTrafficSecret(this.p, this.current.secret), this.current.generation + 1);
    const pt = openBlock(this.next, ad, nonce, type, number, block);
    if (pt !== null) {
      this.previous = this.current;
      this.current = this.next;
      this.next = undefined;
      this.lowest[0] = this.lowest[1] = Infinity;
      this.lowest[space] = number;
      this.failedOpens = 0;
      this.updates++;
      return pt;
    }
    this.failedOpens++;
    if (!prevFirst && this.previous !== undefined) {
      const late = openBlock(this.previous, ad, nonce, type, number, block);
      if (late !== null) return late;
      this.failedOpens++;
    }
    return null;
  }
}
