// Keys that authenticate hop batches between two RNs of the fabric (docs/PROFILE.md §Fabric "Hop
// batches"). Anybody with rights on the cluster can publish to an RN's hop subject; a batch counts
// only if its tag verifies under the key its claimed sender shares with us, and the switchboard
// then acts on a hop message only for a stitch made with that sender. Static-static X25519 of
// the two RNs' identity keys in their X25519 form (§1-RTT attachment "The RN's X25519 key"), so no
// handshake and no state beyond a cache: each direction has its own key,
//
//   K(S -> R) = HKDF-SHA256(salt = "uzp fabric hop v1", ikm = X25519(S, R), info = S cid || R cid, 32)
//
// and the tag of a batch is the first 16 bytes of HMAC-SHA256(K(sender -> receiver), the batch
// before its tag): one MAC per batch, not per frame.

import { toHex } from '../../uzp/bytes.js';
import type { CryptoProvider } from '../../uzp/crypto/provider.js';
import { x25519PublicFromEd25519 } from '../../uzp/crypto/ed-to-x25519.js';

export const HOP_SALT = new TextEncoder().encode('uzp fabric hop v1');
export const HOP_TAG_LENGTH = 16;

interface PairKeys {
  /** The peer's Ed25519 key the entry was made for: a new RN Set Statement may change it. */
  readonly publicKey: Uint8Array;
  readonly send: Uint8Array;
  readonly receive: Uint8Array;
}

/** K(from -> to), from the X25519 shared secret of the two RNs. */
export function hopKey(p: CryptoProvider, shared: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  const info = new Uint8Array(from.length + to.length);
  info.set(from);
  info.set(to, from.length);
  return p.hkdfExpand(p.hkdfExtract(HOP_SALT, shared), info, 32);
}

export class HopKeys {
  private readonly pairs = new Map<string, PairKeys>();

  constructor(
    private readonly p: CryptoProvider,
    private readonly ownCid: Uint8Array,
    /** This RN's X25519 private key (the first 32 bytes of SHA-512 of its Ed25519 seed). */
    private readonly ownPrivate: Uint8Array,
    /** The Ed25519 key of an RN eligible now (peers.ts), or undefined. */
    private readonly keyOf: (cid: Uint8Array) => Uint8Array | undefined,
  ) {}

  /** The tag of `batch` (every byte before the tag) for `to`; undefined when `to` is no eligible RN now. */
  tag(to: Uint8Array, batch: Uint8Array): Uint8Array | undefined {
    const k = this.pair(to);
    return k === undefined ? undefined : this.p.hmacSha256(k.send, batch).subarray(0, HOP_TAG_LENGTH);
  }

  /** Whether `tag` is the tag `from` (an RN eligible now) made of `batch` for us. */
  verify(from: Uint8Array, batch: Uint8Array, tag: Uint8Array): boolean {
    const k = this.pair(from);
    if (k === undefined) return false;
    const want = this.p.hmacSha256(k.receive, batch);
    let d = tag.length ^ HOP_TAG_LENGTH;
    for (let i = 0; i < HOP_TAG_LENGTH; i++) d |= want[i]! ^ (tag[i] ?? 0);
    return d === 0;
  }

  /**
   * Eligibility is asked at every batch (a revocation or a lapsed statement counts at once); the
   * keys are derived once per peer key (the X25519 form is BigInt arithmetic, ~0.1 ms).
   */
  private pair(rn: Uint8Array): PairKeys | undefined {
    const publicKey = this.keyOf(rn);
    const hex = toHex(rn);
    if (publicKey === undefined) {
      this.pairs.delete(hex);
      return undefined;
    }
    const known = this.pairs.get(hex);
    if (known !== undefined && Buffer.compare(known.publicKey, publicKey) === 0) return known;
    let shared: Uint8Array;
    try {
      shared = this.p.x25519(this.ownPrivate, x25519PublicFromEd25519(publicKey));
    } catch {
      return undefined; // a key with no X25519 form, or a low-order one: no batches with that RN
    }
    const keys = { publicKey: publicKey.slice(), send: hopKey(this.p, shared, this.ownCid, rn), receive: hopKey(this.p, shared, rn, this.ownCid) };
    this.pairs.set(hex, keys);
    return keys;
  }
}
