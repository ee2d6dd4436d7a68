// HKDF-SHA256 label expansion and traffic-key derivation shared by the handshake (which creates
// traffic secrets) and the block layer (which turns them into AEAD keys and updates them).
// Shaped like TLS 1.3 (RFC 8446 §7.1), with our own label prefix so that no UZP key can ever be
// confused with a TLS key derived from the same secret.

import { utf8, Writer } from './bytes.js';
import type { CryptoProvider } from './crypto/provider.js';
import { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, SHA256_LENGTH } from './crypto/provider.js';

/** Prefix of every HKDF label in this profile (docs/PROFILE.md §Key schedule). */
const LABEL_PREFIX = 'uzp-gw/1 ';

/**
 * HKDF-Expand-Label(secret, label, context, length) =
 *   HKDF-Expand(secret, u16 length || u8 len(prefix+label) || prefix+label || u8 len(context) || context, length)
 */
export function expandLabel(p: CryptoProvider, secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const full = labelBytes(label);
  if (full.length > 255 || context.length > 255) throw new RangeError('expandLabel: label or context longer than 255 bytes');
  const info = new Writer(4 + full.length + context.length).u16(length).u8(full.length).bytes(full).u8(context.length).bytes(context).finish();
  return p.hkdfExpand(secret, info, length);
}

/**
 * prefix+label as bytes, made once per label: the labels are a handful of constants, and encoding
 * them on every expansion was a tenth of the RN's CPU for an attachment (docs/BENCH.md "eleventh stop").
 */
const labels = new Map<string, Uint8Array>();
function labelBytes(label: string): Uint8Array {
  let b = labels.get(label);
  if (b === undefined) {
    b = utf8.encode(LABEL_PREFIX + label);
    // Bounded: callers pass constants, but nothing stops one from passing many distinct labels.
    if (labels.size < 64) labels.set(label, b);
  }
  return b;
}

export interface TrafficKey {
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
}

/** AEAD key and IV for one direction and one key phase (RFC 8446 §7.3 shape). */
export function trafficKey(p: CryptoProvider, secret: Uint8Array): TrafficKey {
  return {
    key: expandLabel(p, secret, 'key', new Uint8Array(0), AEAD_KEY_LENGTH),
    iv: expandLabel(p, secret, 'iv', new Uint8Array(0), AEAD_NONCE_LENGTH),
  };
}

/** Key update: the next traffic secret of one direction (RFC 8446 §7.2 shape). */
export function nextTrafficSecret(p: CryptoProvider, secret: Uint8Array): Uint8Array {
  return expandLabel(p, secret, 'traffic upd', new Uint8Array(0), SHA256_LENGTH);
}
