// One CLOSE sealed as the first data block of a direction (number 0, key generation 0), outside any
// block engine: what a responder sends when the initiator's Finished does not verify. The initiator
// is already stitched with its keys and understands a block; a bare UNSTITCH would only tell it
// that the stitch went away (docs/PROFILE.md §Closing, "Session-fatal errors").

import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH } from '../crypto/provider.js';
import { blockType, CLOSE_HEADER_LENGTH, SPACE_DATA } from './constants.js';
import { writeClose } from './frames.js';
import { AdTemplate, deriveKeyMaterial, joinBlock, sealBlock } from './protect.js';

export interface LoneCloseKeys {
  readonly aead: AeadAlgorithm;
  /** Our application traffic secret (generation 0) and the block AD context of the session. */
  readonly sendSecret: Uint8Array;
  readonly adContext: Uint8Array;
  readonly direction: 0 | 1;
}

/** Data block 0 carrying only CLOSE(code) with an empty reason (the peer never learns why). */
export function sealLoneClose(p: CryptoProvider, k: LoneCloseKeys, code: number): Uint8Array {
  const plaintext = new Uint8Array(CLOSE_HEADER_LENGTH);
  writeClose(plaintext, 0, code, new Uint8Array(0));
  const km = deriveKeyMaterial(p, k.aead, k.sendSecret, 0);
  return joinBlock(sealBlock(km, new AdTemplate(k.adContext, k.direction), new Uint8Array(AEAD_NONCE_LENGTH), blockType(SPACE_DATA, 0), 0, plaintext));
}
