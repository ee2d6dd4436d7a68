// Our sending side of block protection: seals under the current key, performs key updates at the
// soft limit (RFC 9001 §6.6 confidentiality limit) once the peer confirmed the current key
// (RFC 9001 §6.5), refuses at the hard limit, and reseals retransmissions after a phase change.

import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH } from '../crypto/provider.js';
import { blockType, SPACE_DATA, type Space } from './constants.js';
import type { SentBlock } from './inflight.js';
import { SendKeys } from './keys.js';
import { AdTemplate, joinBlock, openBlock, sealBlock, type SealedBlock } from './protect.js';

export class BlockSealer {
  readonly keys: SendKeys;
  private readonly ad: AdTemplate;
  private readonly nonce = new Uint8Array(AEAD_NONCE_LENGTH);
  /** updateKey() was called: update at the next seal the peer's confirmation allows. */
  updateRequested = false;
  /** An update happened on a block that cannot confirm it: the engine should send a PING. */
  needsPing = false;
  updates = 0;

  constructor(
    p: CryptoProvider,
    alg: AeadAlgorithm,
    secret: Uint8Array,
    adContext: Uint8Array,
    direction: 0 | 1,
    private readonly softLimit: number,
    private readonly hardLimit: number,
  ) {
    this.keys = new SendKeys(p, alg, secret);
    this.ad = new AdTemplate(adContext, direction);
  }

  /**
   * Seals `pt` as block (space, number) under the current key; undefined at the hard limit.
   * `fresh`: a data block sealed for the first time, whose ack will confirm the key.
   */
  seal(space: Space, number: number, pt: Uint8Array, fresh: boolean): SealedBlock | undefined {
    const k = this.keys;
    if ((k.sealed >= this.softLimit || this.updateRequested) && k.confirmed) {
      k.update();
      this.updates++;
      this.updateRequested = false;
      // Acks are not acknowledged and a resealed retransmission may be acked for its older copy:
      // only a fresh data block can confirm the new key.
      if (!fresh) this.needsPing = true;
    }
    if (k.sealed >= this.hardLimit) return undefined;
    k.sealed++;
    return sealBlock(k.current, this.ad, this.nonce, blockType(space, k.phase), number, pt);
  }

  /**
   * The key changed since `b` was sealed: reopen it with its old key, seal it under the current
   * one and move its key reference. Returns false at the hard limit; null if the old key is gone
   * (cannot happen: in-flight blocks keep their generation alive).
   */
  reseal(b: SentBlock): boolean | null {
    const old = this.keys.material(b.generation);
    const bytes = joinBlock(b.block);
    const pt = old === undefined ? null : openBlock(old, this.ad, this.nonce, bytes[0]!, b.number, bytes);
    if (pt === null) return null;
    const block = this.seal(SPACE_DATA, b.number, pt, false);
    if (block === undefined) return false;
    this.keys.release(b.generation);
    b.generation = this.keys.current.generation;
    this.keys.retain(b.generation);
    b.block = block;
    return true;
  }
}
