// Proof-of-Reachability (draft §12): the session's liveness. A challenge and its response travel
// inside the session's AEAD blocks on channel 0 (session control), so the RN neither reads nor
// makes them; on top of that the response carries a proof value the verifier checks itself
// (§12.6: never an RN's word): HMAC-SHA256 under a PoR responder key exported from the session
// (§12.4's preferred exporter-derived key), over every field of §12.1: responder and challenger
// identities, RN identifier, session context (session tag + re-stitch generation), nonce, issuance
// and expiry, proof-profile id. Byte layout: docs/PROFILE.md §Proof-of-Reachability.

import { concat, equal, Reader, toHex, utf8, Writer } from '../bytes.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import type { CryptoProvider } from '../crypto/provider.js';

/** Session control messages (channel 0). */
export const CTL_POR_CHALLENGE = 0x01;
export const CTL_POR_RESPONSE = 0x02;
/** Proof profile 1: exporter-derived HMAC-SHA256 responder key (draft §12.4). */
export const POR_PROFILE_EXPORTER_HMAC = 1;

export const POR_NONCE_LENGTH = 16;
const CHALLENGE_LENGTH = 1 + 1 + POR_NONCE_LENGTH + 32 + 4 + 8 + 8;
const POR_LABEL = utf8.encode('uzp por v1');

/** Challenges a verifier keeps open at once; more would only mean the peer is not answering. */
const MAX_OUTSTANDING = 8;

export interface PorChallenge {
  readonly profile: number;
  readonly nonce: Uint8Array;
  /** The RN the challenger is attached through. */
  readonly rnCid: Uint8Array;
  /** Re-stitch generation of the session (0 before any re-stitch): §12.3 context. */
  readonly generation: number;
  readonly issuedMs: number;
  readonly expiresMs: number;
}

export interface PorKeys {
  /** HMAC key exported from the session (session.ts porKeys()). */
  readonly key: Uint8Array;
  /** Session context: the continuity session tag. */
  readonly tag: Uint8Array;
  readonly localCid: Uint8Array;
  readonly peerCid: Uint8Array;
}

export function encodeChallenge(c: PorChallenge): Uint8Array {
  return new Writer(CHALLENGE_LENGTH).u8(CTL_POR_CHALLENGE).u8(c.profile).bytes(c.nonce).bytes(c.rnCid).u32(c.generation).u64(c.issuedMs).u64(c.expiresMs).finish();
}

/** proof = HMAC(key, "uzp por v1" || responder_cid || challenger_cid || tag || challenge[1..]). */
function proof(p: CryptoProvider, key: Uint8Array, responder: Uint8Array, challenger: Uint8Array, tag: Uint8Array, c: PorChallenge): Uint8Array {
  return p.hmacSha256(key, concat(POR_LABEL, responder, challenger, tag, encodeChallenge(c).subarray(1)));
}

/** The responder's answer: the challenge fields echoed, then the proof. */
export function encodeResponse(p: CryptoProvider, k: PorKeys, c: PorChallenge): Uint8Array {
  const body = encodeChallenge(c);
  body[0] = CTL_POR_RESPONSE;
  return concat(body, proof(p, k.key, k.localCid, k.peerCid, k.tag, c));
}

/** Decodes either message; throws DecodeError on anything malformed. */
export function decodePor(b: Uint8Array): { type: number; challenge: PorChallenge; proof?: Uint8Array } {
  const r = new Reader(b);
  const type = r.u8('type');
  if (type !== CTL_POR_CHALLENGE && type !== CTL_POR_RESPONSE) throw new DecodeError(CommonCode.DECODE_TYPE, `session control type 0x${type.toString(16)}`);
  const challenge = {
    profile: r.u8('profile'),
    nonce: r.bytes(POR_NONCE_LENGTH, 'nonce'),
    rnCid: r.bytes(32, 'RN CID'),
    generation: r.u32('generation'),
    issuedMs: r.u64('issued'),
    expiresMs: r.u64('expires'),
  };
  const proofValue = type === CTL_POR_RESPONSE ? r.bytes(32, 'proof') : undefined;
  r.end('PoR message');
  return proofValue === undefined ? { type, challenge } : { type, challenge, proof: proofValue };
}

export type PorVerdict = 'accepted' | 'unknown-nonce' | 'expired' | 'wrong-rn' | 'wrong-context' | 'wrong-profile' | 'bad-proof';

/**
 * The challenger's side: issues challenges and accepts each response at most once (§12.5: per
 * responder, RN, nonce and session context — the nonce is forgotten on acceptance, and a response
 * to a challenge of another RN attachment or generation is refused, §12.3).
 */
export class PorVerifier {
  private readonly open = new Map<string, PorChallenge>();

  constructor(
    private readonly p: CryptoProvider,
    private readonly k: PorKeys,
  ) {}

  get outstanding(): number {
    return this.open.size;
  }

  /** Oldest open challenge's issue time, if any. */
  get oldestIssuedMs(): number | undefined {
    let t: number | undefined;
    for (const c of this.open.values()) if (t === undefined || c.issuedMs < t) t = c.issuedMs;
    return t;
  }

  challenge(rnCid: Uint8Array, generation: number, nowMs: number, lifetimeMs: number): Uint8Array {
    if (this.open.size >= MAX_OUTSTANDING) this.open.delete(this.open.keys().next().value!);
    const c: PorChallenge = { profile: POR_PROFILE_EXPORTER_HMAC, nonce: this.p.randomBytes(POR_NONCE_LENGTH), rnCid, generation, issuedMs: nowMs, expiresMs: nowMs + lifetimeMs };
    this.open.set(toHex(c.nonce), c);
    return encodeChallenge(c);
  }

  /** Forget every open challenge (a new RN attachment: old ones can no longer prove anything). */
  reset(): void {
    this.open.clear();
  }

  verify(r: { challenge: PorChallenge; proof?: Uint8Array }, nowMs: number): PorVerdict {
    const key = toHex(r.challenge.nonce);
    const sent = this.open.get(key);
    if (sent === undefined || r.proof === undefined) return 'unknown-nonce';
    const got = r.challenge;
    if (nowMs > sent.expiresMs) {
      this.open.delete(key);
      return 'expired';
    }
    if (got.profile !== POR_PROFILE_EXPORTER_HMAC) return 'wrong-profile';
    if (!equal(got.rnCid, sent.rnCid)) return 'wrong-rn';
    if (got.generation !== sent.generation || got.issuedMs !== sent.issuedMs || got.expiresMs !== sent.expiresMs) return 'wrong-context';
    if (!equal(r.proof, proof(this.p, this.k.key, this.k.peerCid, this.k.localCid, this.k.tag, sent))) return 'bad-proof';
    this.open.delete(key);
    return 'accepted';
  }
}

/**
 * The responder's side: answers a challenge for the current generation, unexpired (with the
 * identity clock skew allowed), and only about the RN it is itself stitched through.
 */
export function answerChallenge(p: CryptoProvider, k: PorKeys, c: PorChallenge, current: { generation: number; rnCid: Uint8Array | undefined; nowMs: number; skewMs: number }): Uint8Array | undefined {
  if (c.profile !== POR_PROFILE_EXPORTER_HMAC || c.generation !== current.generation) return undefined;
  if (c.expiresMs + current.skewMs < current.nowMs) return undefined;
  if (current.rnCid !== undefined && !equal(c.rnCid, current.rnCid)) return undefined;
  return encodeResponse(p, k, c);
}
