// Bounded continuity state for a re-stitch (draft §11.4): an endpoint-presented token, never an
// RN-issued assertion. The initiator sends RESUME in the JOIN's CH1 position at an alternate RN;
// the responder answers RESUMED as the first relay payload of the new stitch. Both are MACed with a
// key exported from the session (draft §8), so only the two endpoints can make or check them, and
// the MAC input binds both CIDs, the Grant object_id, the accepted RN Set object_id, the RN the
// token is for, a generation counter and a short expiry. STANDBY is the same token made ahead of a
// loss, for a spare stitch (§11.1 "multiple eligible alternate RNs"): other type, other MAC label.
// Byte layout: docs/PROFILE.md §Continuity, §Standby stitch.

import { concat, equal, fixedLength, Reader, utf8, Writer } from '../bytes.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import type { CryptoProvider } from '../crypto/provider.js';

/** First byte of a relay payload: 0x01-0x03 handshake, 0x04-0x06 continuity, 0x10-0x13 blocks. */
export const MSG_RESUME = 0x04;
export const MSG_RESUMED = 0x05;
/** A RESUME's twin for a standby stitch: same layout and checks, other type and MAC label. */
export const MSG_STANDBY = 0x06;
export const CONTINUITY_VERSION = 1;

export const SESSION_TAG_LENGTH = 16;
const ID_LENGTH = 32;
const MAC_LENGTH = 32;

/** Longest lifetime (expires - issued) a responder accepts: the draft's "short expiry". */
export const MAX_TOKEN_LIFETIME_MS = 60_000;

const RESUME_BODY_LENGTH = 1 + 1 + SESSION_TAG_LENGTH + 4 + 8 + 8 + 3 * ID_LENGTH;
export const RESUME_LENGTH = RESUME_BODY_LENGTH + MAC_LENGTH;
const RESUMED_BODY_LENGTH = 1 + 1 + SESSION_TAG_LENGTH + 4;
export const RESUMED_LENGTH = RESUMED_BODY_LENGTH + MAC_LENGTH;

const RESUME_LABEL = utf8.encode('uzp resume v1');
const STANDBY_LABEL = utf8.encode('uzp standby v1');
const RESUMED_LABEL = utf8.encode('uzp resumed v1');

/** The session's continuity secrets, from its exporter (session.ts continuityKeys()). */
export interface ContinuityKeys {
  /** Names the session to its responder; also the PoR session context. */
  readonly tag: Uint8Array;
  readonly macKey: Uint8Array;
  readonly initiatorCid: Uint8Array;
  readonly responderCid: Uint8Array;
}

export interface ResumeToken {
  readonly tag: Uint8Array;
  /** Re-stitch counter of this session, starting at 1; the responder accepts only a higher one. */
  readonly generation: number;
  readonly issuedMs: number;
  readonly expiresMs: number;
  readonly grantId: Uint8Array;
  readonly rnSetId: Uint8Array;
  /** CID of the RN this token is presented at. */
  readonly rnCid: Uint8Array;
}

export interface Resumed {
  readonly tag: Uint8Array;
  readonly generation: number;
}

/** A continuity token in the CH1 position: RESUME (re-stitch now) or STANDBY (hold a spare stitch). */
export function isContinuityToken(payload: Uint8Array): boolean {
  return payload.length > 0 && (payload[0] === MSG_RESUME || payload[0] === MSG_STANDBY);
}

function resumeBody(t: ResumeToken, type: number): Uint8Array {
  return new Writer(RESUME_LENGTH)
    .u8(type)
    .u8(CONTINUITY_VERSION)
    .bytes(fixedLength(t.tag, SESSION_TAG_LENGTH, 'continuity tag'))
    .u32(t.generation)
    .u64(t.issuedMs)
    .u64(t.expiresMs)
    .bytes(fixedLength(t.grantId, ID_LENGTH, 'continuity grant id'))
    .bytes(fixedLength(t.rnSetId, ID_LENGTH, 'continuity RN Set id'))
    .bytes(fixedLength(t.rnCid, ID_LENGTH, 'continuity RN CID'))
    .finish();
}

function mac(p: CryptoProvider, k: ContinuityKeys, label: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  return p.hmacSha256(k.macKey, concat(label, k.initiatorCid, k.responderCid, ...parts));
}

/** RESUME = body || HMAC-SHA256(macKey, "uzp resume v1" || cid_i || cid_r || body). */
export function encodeResume(p: CryptoProvider, k: ContinuityKeys, t: ResumeToken): Uint8Array {
  const body = resumeBody(t, MSG_RESUME);
  return concat(body, mac(p, k, RESUME_LABEL, body));
}

/** STANDBY = body || HMAC-SHA256(macKey, "uzp standby v1" || cid_i || cid_r || body); body as RESUME's, type 0x06. */
export function encodeStandby(p: CryptoProvider, k: ContinuityKeys, t: ResumeToken): Uint8Array {
  const body = resumeBody(t, MSG_STANDBY);
  return concat(body, mac(p, k, STANDBY_LABEL, body));
}

/** Structure only (the MAC needs the session, found by tag): a RESUME or a STANDBY; throws DecodeError. */
export function decodeResume(b: Uint8Array): ResumeToken & { readonly standby: boolean; readonly mac: Uint8Array; readonly body: Uint8Array } {
  const r = new Reader(b);
  const type = r.u8('type');
  if (type !== MSG_RESUME && type !== MSG_STANDBY) throw new DecodeError(CommonCode.DECODE_TYPE, 'not a RESUME or STANDBY');
  const version = r.u8('version');
  if (version !== CONTINUITY_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `RESUME version ${version} (expected ${CONTINUITY_VERSION})`);
  const t = {
    tag: r.bytes(SESSION_TAG_LENGTH, 'tag'),
    generation: r.u32('generation'),
    issuedMs: r.u64('issued'),
    expiresMs: r.u64('expires'),
    grantId: r.bytes(ID_LENGTH, 'grant id'),
    rnSetId: r.bytes(ID_LENGTH, 'RN Set id'),
    rnCid: r.bytes(ID_LENGTH, 'RN CID'),
  };
  const macValue = r.bytes(MAC_LENGTH, 'mac');
  r.end(type === MSG_STANDBY ? 'STANDBY' : 'RESUME');
  return { ...t, standby: type === MSG_STANDBY, mac: macValue, body: b.subarray(0, RESUME_BODY_LENGTH) };
}

/** The token's MAC, under the label of its type (a RESUME cannot pass for a STANDBY or back). */
export function resumeMacValid(p: CryptoProvider, k: ContinuityKeys, d: ReturnType<typeof decodeResume>): boolean {
  return equal(mac(p, k, d.standby ? STANDBY_LABEL : RESUME_LABEL, d.body), d.mac);
}

/** RESUMED = body || HMAC-SHA256(macKey, "uzp resumed v1" || cid_i || cid_r || rn_cid || body): the responder's proof it verified the token. */
export function encodeResumed(p: CryptoProvider, k: ContinuityKeys, generation: number, rnCid: Uint8Array): Uint8Array {
  const body = new Writer(RESUMED_LENGTH).u8(MSG_RESUMED).u8(CONTINUITY_VERSION).bytes(k.tag).u32(generation).finish();
  return concat(body, mac(p, k, RESUMED_LABEL, rnCid, body));
}

/**
 * Checks RESUMED against what the initiator sent: same tag and generation, MAC by the peer's
 * continuity key over the RN the initiator is attached to. Returns false for anything else.
 */
export function resumedValid(p: CryptoProvider, k: ContinuityKeys, b: Uint8Array, generation: number, rnCid: Uint8Array): boolean {
  if (b.length !== RESUMED_LENGTH || b[0] !== MSG_RESUMED || b[1] !== CONTINUITY_VERSION) return false;
  const body = b.subarray(0, RESUMED_BODY_LENGTH);
  const r = new Reader(body);
  r.bytes(2);
  if (!equal(r.bytes(SESSION_TAG_LENGTH), k.tag) || r.u32() !== generation) return false;
  return equal(mac(p, k, RESUMED_LABEL, rnCid, body), b.subarray(RESUMED_BODY_LENGTH));
}

