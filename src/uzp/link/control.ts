// CONTROL messages (frame 0x10, sealed under the link's control keys): u8 kind || body.
// They carry draft §4 steps 3-5 (Join with target CID and Grant, the RN's stitch) and §5.2
// flight [1]/[2] (CH1 travels inside JOIN and is forwarded inside OFFER), and ATTEST: the EP's
// attestation evidence bound to the attachment (attach-keys.ts attachAttestationContext), and DRAIN:
// the RN's maintenance signal (draft §11.2), and ARTEFACT: a signed artefact the RN holds, offered
// to the EP (draft §11.1). Bytes in docs/PROFILE.md §Control.

import { Reader, Writer } from '../bytes.js';
import { CID_LENGTH, ControlKind, MAX_ARTEFACT_BYTES, MAX_ATTEST_EVIDENCE_BYTES, MAX_CH1_BYTES, MAX_GRANT_BYTES } from './constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export type ControlMessage =
  | { readonly kind: typeof ControlKind.ACCEPT }
  | { readonly kind: typeof ControlKind.JOIN; readonly joinId: number; readonly target: Uint8Array; readonly grant: Uint8Array; readonly ch1: Uint8Array }
  | { readonly kind: typeof ControlKind.OFFER; readonly stitchId: number; readonly initiator: Uint8Array; readonly grant: Uint8Array; readonly ch1: Uint8Array }
  | { readonly kind: typeof ControlKind.OFFER_VIA; readonly stitchId: number; readonly initiator: Uint8Array; readonly via: Uint8Array; readonly grant: Uint8Array; readonly ch1: Uint8Array }
  | { readonly kind: typeof ControlKind.JOINED; readonly joinId: number; readonly stitchId: number }
  | { readonly kind: typeof ControlKind.JOIN_REFUSED; readonly joinId: number; readonly code: number }
  | { readonly kind: typeof ControlKind.UNSTITCH; readonly stitchId: number; readonly code: number }
  | { readonly kind: typeof ControlKind.REJECT_OFFER; readonly stitchId: number }
  | { readonly kind: typeof ControlKind.PING; readonly nonce: number }
  | { readonly kind: typeof ControlKind.PONG; readonly nonce: number }
  | { readonly kind: typeof ControlKind.ATTEST; readonly evidence: Uint8Array }
  /** RN -> EP, draft §11.2 maintenance signalling: the RN closes this link in `deadlineMs` (u32). */
  | { readonly kind: typeof ControlKind.DRAIN; readonly deadlineMs: number }
  /** RN -> EP, draft §11.1: one artefact envelope (vec32, at most MAX_ARTEFACT_BYTES), verified by the EP before any use. */
  | { readonly kind: typeof ControlKind.ARTEFACT; readonly artefact: Uint8Array };

function cid(b: Uint8Array, what: string): Uint8Array {
  if (b.length !== CID_LENGTH) throw new RangeError(`${what}: expected ${CID_LENGTH} bytes, got ${b.length}`);
  return b;
}

function checkVec(b: Uint8Array, max: number, what: string): Uint8Array {
  if (b.length > max) throw new RangeError(`${what}: ${b.length} bytes exceeds ${max}`);
  return b;
}

export function encodeControl(m: ControlMessage): Uint8Array {
  const w = new Writer(64).u8(m.kind);
  switch (m.kind) {
    case ControlKind.ACCEPT:
      break;
    case ControlKind.JOIN:
      w.u32(m.joinId).bytes(cid(m.target, 'JOIN target'));
      w.vec32(checkVec(m.grant, MAX_GRANT_BYTES, 'JOIN grant')).vec32(checkVec(m.ch1, MAX_CH1_BYTES, 'JOIN ch1'));
      break;
    case ControlKind.OFFER:
      w.u32(m.stitchId).bytes(cid(m.initiator, 'OFFER initiator'));
      w.vec32(checkVec(m.grant, MAX_GRANT_BYTES, 'OFFER grant')).vec32(checkVec(m.ch1, MAX_CH1_BYTES, 'OFFER ch1'));
      break;
    case ControlKind.OFFER_VIA:
      w.u32(m.stitchId).bytes(cid(m.initiator, 'OFFER_VIA initiator')).bytes(cid(m.via, 'OFFER_VIA via'));
      w.vec32(checkVec(m.grant, MAX_GRANT_BYTES, 'OFFER_VIA grant')).vec32(checkVec(m.ch1, MAX_CH1_BYTES, 'OFFER_VIA ch1'));
      break;
    case ControlKind.JOINED:
      w.u32(m.joinId).u32(m.stitchId);
      break;
    case ControlKind.JOIN_REFUSED:
      w.u32(m.joinId).u16(m.code);
      break;
    case ControlKind.UNSTITCH:
      w.u32(m.stitchId).u16(m.code);
      break;
    case ControlKind.REJECT_OFFER:
      w.u32(m.stitchId);
      break;
    case ControlKind.PING:
    case ControlKind.PONG:
      w.u64(m.nonce);
      break;
    case ControlKind.ATTEST:
      w.vec32(checkVec(m.evidence, MAX_ATTEST_EVIDENCE_BYTES, 'ATTEST evidence'));
      break;
    case ControlKind.DRAIN:
      w.u32(m.deadlineMs);
      break;
    case ControlKind.ARTEFACT:
      w.vec32(checkVec(m.artefact, MAX_ARTEFACT_BYTES, 'ARTEFACT artefact'));
      break;
  }
  return w.finish();
}

export function decodeControl(b: Uint8Array): ControlMessage {
  const r = new Reader(b);
  const kind = r.u8('CONTROL kind');
  let m: ControlMessage;
  switch (kind) {
    case ControlKind.ACCEPT:
      m = { kind };
      break;
    case ControlKind.JOIN: {
      const joinId = r.u32('JOIN join_id');
      const target = r.bytes(CID_LENGTH, 'JOIN target');
      const grant = r.vec32(MAX_GRANT_BYTES, 'JOIN grant');
      const ch1 = r.vec32(MAX_CH1_BYTES, 'JOIN ch1');
      m = { kind, joinId, target, grant, ch1 };
      break;
    }
    case ControlKind.OFFER: {
      const stitchId = r.u32('OFFER stitch_id');
      const initiator = r.bytes(CID_LENGTH, 'OFFER initiator');
      const grant = r.vec32(MAX_GRANT_BYTES, 'OFFER grant');
      const ch1 = r.vec32(MAX_CH1_BYTES, 'OFFER ch1');
      m = { kind, stitchId, initiator, grant, ch1 };
      break;
    }
    case ControlKind.OFFER_VIA: {
      const stitchId = r.u32('OFFER_VIA stitch_id');
      const initiator = r.bytes(CID_LENGTH, 'OFFER_VIA initiator');
      const via = r.bytes(CID_LENGTH, 'OFFER_VIA via');
      const grant = r.vec32(MAX_GRANT_BYTES, 'OFFER_VIA grant');
      const ch1 = r.vec32(MAX_CH1_BYTES, 'OFFER_VIA ch1');
      m = { kind, stitchId, initiator, via, grant, ch1 };
      break;
    }
    case ControlKind.JOINED:
      m = { kind, joinId: r.u32('JOINED join_id'), stitchId: r.u32('JOINED stitch_id') };
      break;
    case ControlKind.JOIN_REFUSED:
      m = { kind, joinId: r.u32('JOIN_REFUSED join_id'), code: r.u16('JOIN_REFUSED code') };
      break;
    case ControlKind.UNSTITCH:
      m = { kind, stitchId: r.u32('UNSTITCH stitch_id'), code: r.u16('UNSTITCH code') };
      break;
    case ControlKind.REJECT_OFFER:
      m = { kind, stitchId: r.u32('REJECT_OFFER stitch_id') };
      break;
    case ControlKind.PING:
    case ControlKind.PONG:
      m = { kind, nonce: r.u64(kind === ControlKind.PING ? 'PING nonce' : 'PONG nonce') };
      break;
    case ControlKind.ATTEST:
      m = { kind, evidence: r.vec32(MAX_ATTEST_EVIDENCE_BYTES, 'ATTEST evidence') };
      break;
    case ControlKind.DRAIN:
      m = { kind, deadlineMs: r.u32('DRAIN deadline_ms') };
      break;
    case ControlKind.ARTEFACT:
      m = { kind, artefact: r.vec32(MAX_ARTEFACT_BYTES, 'ARTEFACT artefact') };
      break;
    default:
      throw new DecodeError(CommonCode.DECODE_TYPE, `CONTROL: unknown kind 0x${kind.toString(16).padStart(2, '0')}`);
  }
  r.end('CONTROL');
  return m;
}
