// Block protection (draft §7: "Blocks are encrypted and authenticated with the negotiated AEAD. The
// associated data includes CID and EID for both parties, direction and block number, a context-
// specific label"; draft §6.1: full 128-bit tag).
//   block = type u8 || number u64be || AEAD-seal(key, nonce, plaintext, ad)
//   nonce = iv XOR (u32be(space) || u64be(number))                        (RFC 8446 §5.3 shape)
//   ad    = u8 len(label) || label || adContext(128) || u8 direction || u8 type || u64be number
// The AD prefix is built once per (direction, label); per block only its last 9 bytes are written.
// Nonce and AD are scratch buffers reused for every block: providers consume them synchronously.

import type { Aead, AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from '../crypto/provider.js';
import { concat, utf8, writeU32 } from '../bytes.js';
import { trafficKey } from '../keyschedule.js';
import { AD_CONTEXT_LENGTH, BLOCK_HEADER_LENGTH, BLOCK_SPACE_BIT, LABEL_ACK, LABEL_DATA, SPACE_ACK, SPACE_DATA } from './constants.js';
import { writeU64 } from './ack.js';

/** One traffic key of one direction: generation g is the secret after g key updates; phase = g mod 2. */
export interface KeyMaterial {
  readonly generation: number;
  readonly secret: Uint8Array;
  readonly aead: Aead;
  readonly iv: Uint8Array;
}

export function deriveKeyMaterial(p: CryptoProvider, alg: AeadAlgorithm, secret: Uint8Array, generation: number): KeyMaterial {
  const { key, iv } = trafficKey(p, secret);
  return { generation, secret, aead: p.aead(alg, key), iv };
}

/** AD for every block travelling in one direction; `for(type, number)` returns the filled scratch. */
export class AdTemplate {
  private readonly data: Uint8Array;
  private readonly ack: Uint8Array;

  constructor(adContext: Uint8Array, direction: 0 | 1) {
    if (adContext.length !== AD_CONTEXT_LENGTH) throw new RangeError(`adContext: expected ${AD_CONTEXT_LENGTH} bytes, got ${adContext.length}`);
    this.data = template(LABEL_DATA, adContext, direction);
    this.ack = template(LABEL_ACK, adContext, direction);
  }

  for(type: number, number: number): Uint8Array {
    const ad = type & BLOCK_SPACE_BIT ? this.ack : this.data;
    const off = ad.length - 9;
    ad[off] = type;
    writeU64(ad, off + 1, number);
    return ad;
  }
}

function template(label: string, adContext: Uint8Array, direction: 0 | 1): Uint8Array {
  const l = utf8.encode(label);
  const ad = new Uint8Array(1 + l.length + AD_CONTEXT_LENGTH + 1 + 1 + 8);
  ad[0] = l.length;
  ad.set(l, 1);
  ad.set(adContext, 1 + l.length);
  ad[1 + l.length + AD_CONTEXT_LENGTH] = direction;
  return ad;
}

/** Nonce scratch: iv XOR (u32be(space) || u64be(number)). */
export function fillNonce(out: Uint8Array, iv: Uint8Array, type: number, number: number): Uint8Array {
  writeU32(out, 0, type & BLOCK_SPACE_BIT ? SPACE_ACK : SPACE_DATA);
  writeU64(out, 4, number);
  for (let i = 0; i < AEAD_NONCE_LENGTH; i++) out[i] = out[i]! ^ iv[i]!;
  return out;
}

/**
 * A sealed block as the pieces it was made of: its header, then the AEAD's output pieces
 * (Aead.sealPieces: node:crypto gives ciphertext and tag apart). On the wire they follow each other;
 * the link writes them as they are, so a block is never copied into one buffer on the way out.
 */
export type SealedBlock = readonly Uint8Array[];

/** Seals one block: the single AEAD call per block. */
export function sealBlock(km: KeyMaterial, ad: AdTemplate, nonce: Uint8Array, type: number, number: number, plaintext: Uint8Array): SealedBlock {
  const pieces = km.aead.sealPieces(fillNonce(nonce, km.iv, type, number), plaintext, ad.for(type, number));
  const header = new Uint8Array(BLOCK_HEADER_LENGTH);
  header[0] = type;
  writeU64(header, 1, number);
  pieces.unshift(header);
  return pieces;
}

/** A sealed block in one buffer (the rare paths: a reseal, a lone CLOSE, a stitch without piece writes). */
export function joinBlock(b: SealedBlock): Uint8Array {
  return b.length === 1 ? b[0]! : concat(...b);
}

/** Opens a block whose header the caller already parsed; null when the tag does not verify. */
export function openBlock(km: KeyMaterial, ad: AdTemplate, nonce: Uint8Array, type: number, number: number, block: Uint8Array): Uint8Array | null {
  if (block.length < BLOCK_HEADER_LENGTH + AEAD_TAG_LENGTH) return null;
  return km.aead.open(fillNonce(nonce, km.iv, type, number), block.subarray(BLOCK_HEADER_LENGTH), ad.for(type, number));
}
