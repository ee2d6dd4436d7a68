// The receiving side of block protection: header parsing, the cheap checks that need no key
// (shape, size, replay window: RFC 6479), then the AEAD open under the right key phase. The
// replay window is updated only by accept(), after the block authenticated and validated.

import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from '../crypto/provider.js';
import { readU32 } from '../bytes.js';
import { ACK_MAX_LENGTH, BLOCK_HEADER_LENGTH, BLOCK_SPACE_BIT, SPACE_ACK, SPACE_DATA, isBlockType, type Space } from './constants.js';
import { RecvKeys } from './keys.js';
import { AdTemplate } from './protect.js';
import { REPLAY_DUPLICATE, REPLAY_TOO_OLD, ReplayWindow } from './replay.js';

export const DROP_DUPLICATE = 'duplicate';

/** Smallest block: header and tag around at least one plaintext byte. */
const MIN_BLOCK = BLOCK_HEADER_LENGTH + 1 + AEAD_TAG_LENGTH;

export class BlockOpener {
  readonly keys: RecvKeys;
  private readonly ad: AdTemplate;
  private readonly nonce = new Uint8Array(AEAD_NONCE_LENGTH);
  private readonly replay = [new ReplayWindow(), new ReplayWindow()] as const;
  /** Header of the block last passed to check(). */
  type = 0;
  space: Space = SPACE_DATA;
  number = 0;

  constructor(
    p: CryptoProvider,
    alg: AeadAlgorithm,
    secret: Uint8Array,
    adContext: Uint8Array,
    peerDirection: 0 | 1,
    private readonly acceptBlockPlaintext: number,
  ) {
    this.keys = new RecvKeys(p, alg, secret);
    this.ad = new AdTemplate(adContext, peerDirection);
  }

  /** Parses the header into type/space/number; returns a drop reason, or undefined to go on. */
  check(block: Uint8Array): string | undefined {
    if (block.length < MIN_BLOCK) return 'short';
    const type = block[0]!;
    if (!isBlockType(type)) return 'not a block';
    const hi = readU32(block, 1);
    if (hi > 0x1f_ffff) return 'number'; // above 2^53 - 1: never sent by a conforming peer
    const space: Space = type & BLOCK_SPACE_BIT ? SPACE_ACK : SPACE_DATA;
    this.type = type;
    this.space = space;
    this.number = hi * 0x1_0000_0000 + readU32(block, 5);
    const maxPt = space === SPACE_DATA ? this.acceptBlockPlaintext : ACK_MAX_LENGTH;
    if (block.length > BLOCK_HEADER_LENGTH + maxPt + AEAD_TAG_LENGTH) return 'too large';
    const verdict = this.replay[space].check(this.number);
    if (verdict === REPLAY_TOO_OLD) return 'too old';
    if (verdict === REPLAY_DUPLICATE) return DROP_DUPLICATE;
    return undefined;
  }

  /** Opens the block last checked; null when no candidate key authenticates it. */
  open(block: Uint8Array): Uint8Array | null {
    return this.keys.open(this.ad, this.nonce, this.type, this.number, block);
  }

  /** The block authenticated and its content is valid: record it in the replay window. */
  accept(space: Space, number: number): void {
    this.replay[space].mark(number);
  }
}
