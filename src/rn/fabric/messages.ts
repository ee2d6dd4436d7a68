// The rendezvous fabric's own messages (issue #16; docs/PROFILE.md §Fabric), carried by NATS between
// the RNs of one trust domain. UZPIF multi-hop: RNs relay, never decrypt; these messages carry
// only what the RNs already see (CIDs, the Grant, CH1, RELAY frames of end-to-end ciphertext).
//
// - JOIN request (ingress RN -> whichever RN holds the target): the JOIN an EP sent, the ingress
//   stitch id, a timestamp, signed by the ingress RN's key. The egress RN checks the signer is in
//   its current RN Set Statement and the timestamp is fresh (a captured request replayed later
//   is refused), then offers the stitch to its EP.
// - JOIN reply: the egress stitch id, or a JOIN_REFUSED code.
// - HOP messages to one RN's hop subject: DATA (a RELAY frame, its stitch id already the
//   receiver's, with the sender's byte offset for credit), CREDIT (bytes consumed so far, by
//   offset), UNSTITCH. Unsigned: they carry ciphertext the EPs authenticate, and anything a NATS
//   node could do with them is drop or delay.

import { Reader, Writer } from '../../uzp/bytes.js';
import { CID_LENGTH, FrameType, MAX_CH1_BYTES, MAX_GRANT_BYTES } from '../../uzp/link/constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import type { CryptoProvider, Signer } from '../../uzp/crypto/provider.js';

export const FABRIC_VERSION = 1;
const JOIN_LABEL = new TextEncoder().encode('uzp fabric join v1');
const SIGNATURE_LENGTH = 64;
/** RELAY frame header: length u32, type u8, stitch id u32. */
const RELAY_HEADER = 9;

export const HopType = { DATA: 1, CREDIT: 2, UNSTITCH: 3 } as const;

export interface FabricJoin {
  readonly ingress: Uint8Array;
  readonly ingressStitch: number;
  /** Unix ms at the ingress RN. */
  readonly atMs: number;
  readonly initiator: Uint8Array;
  readonly target: Uint8Array;
  readonly grant: Uint8Array;
  readonly ch1: Uint8Array;
}

export type FabricJoinReply = { readonly ok: true; readonly egress: Uint8Array; readonly egressStitch: number } | { readonly ok: false; readonly code: number };

export type HopMessage =
  | { readonly type: typeof HopType.DATA; readonly offset: number; readonly frame: Uint8Array; readonly stitch: number }
  | { readonly type: typeof HopType.CREDIT; readonly stitch: number; readonly consumed: number }
  | { readonly type: typeof HopType.UNSTITCH; readonly stitch: number; readonly code: number };

function joinBody(j: FabricJoin): Uint8Array {
  return new Writer(128 + j.grant.length + j.ch1.length)
    .u8(FABRIC_VERSION)
    .bytes(j.ingress)
    .u32(j.ingressStitch)
    .u64(j.atMs)
    .bytes(j.initiator)
    .bytes(j.target)
    .vec32(j.grant)
    .vec32(j.ch1)
    .finish();
}

function signed(body: Uint8Array): Uint8Array {
  const m = new Uint8Array(JOIN_LABEL.length + body.length);
  m.set(JOIN_LABEL);
  m.set(body, JOIN_LABEL.length);
  return m;
}

export function encodeFabricJoin(j: FabricJoin, signer: Signer): Uint8Array {
  for (const [b, what] of [[j.ingress, 'ingress'], [j.initiator, 'initiator'], [j.target, 'target']] as const) {
    if (b.length !== CID_LENGTH) throw new RangeError(`fabric JOIN ${what}: expected ${CID_LENGTH} bytes`);
  }
  const body = joinBody(j);
  return new Writer(body.length + SIGNATURE_LENGTH).bytes(body).bytes(signer.sign(signed(body))).finish();
}

/**
 * Decodes a JOIN request and checks its signature with the key `keyOf` gives for the ingress RN
 * (undefined: not an RN of the current set). Throws DecodeError on malformed bytes; returns the
 * join and whether the signature holds, so the caller refuses with the right code.
 */
export function decodeFabricJoin(p: CryptoProvider, bytes: Uint8Array, keyOf: (rn: Uint8Array) => Uint8Array | undefined): { join: FabricJoin; signer: 'valid' | 'unknown' | 'bad' } {
  const r = new Reader(bytes);
  const version = r.u8('fabric JOIN version');
  if (version !== FABRIC_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `fabric JOIN: version ${version}, expected ${FABRIC_VERSION}`);
  const join: FabricJoin = {
    ingress: r.bytes(CID_LENGTH, 'fabric JOIN ingress'),
    ingressStitch: r.u32('fabric JOIN ingress stitch'),
    atMs: r.u64('fabric JOIN at_ms'),
    initiator: r.bytes(CID_LENGTH, 'fabric JOIN initiator'),
    target: r.bytes(CID_LENGTH, 'fabric JOIN target'),
    grant: r.vec32(MAX_GRANT_BYTES, 'fabric JOIN grant'),
    ch1: r.vec32(MAX_CH1_BYTES, 'fabric JOIN ch1'),
  };
  const bodyLength = r.offset;
  const signature = r.bytes(SIGNATURE_LENGTH, 'fabric JOIN signature');
  r.end('fabric JOIN');
  if (join.ingressStitch === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'fabric JOIN: stitch id 0');
  const key = keyOf(join.ingress);
  if (key === undefined) return { join, signer: 'unknown' };
  return { join, signer: p.ed25519Verify(key, signed(bytes.subarray(0, bodyLength)), signature) ? 'valid' : 'bad' };
}

export function encodeFabricJoinReply(m: FabricJoinReply): Uint8Array {
  return m.ok ? new Writer(1 + CID_LENGTH + 4).u8(0).bytes(m.egress).u32(m.egressStitch).finish() : Uint8Array.of(1, m.code & 0xff);
}

export function decodeFabricJoinReply(bytes: Uint8Array): FabricJoinReply {
  const r = new Reader(bytes);
  const status = r.u8('fabric JOIN reply status');
  if (status === 1) {
    const code = r.u8('fabric JOIN reply code');
    r.end('fabric JOIN reply');
    return { ok: false, code };
  }
  if (status !== 0) throw new DecodeError(CommonCode.DECODE_VALUE, `fabric JOIN reply: status ${status}`);
  const egress = r.bytes(CID_LENGTH, 'fabric JOIN reply egress');
  const egressStitch = r.u32('fabric JOIN reply stitch');
  r.end('fabric JOIN reply');
  if (egressStitch === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'fabric JOIN reply: stitch id 0');
  return { ok: true, egress, egressStitch };
}

/**
 * A DATA hop message for `frame` (a RELAY frame as an EP link carries it), its stitch id replaced by
 * `stitch`, the receiver's id: the receiving RN forwards the frame to its EP byte for byte. One copy.
 */
export function encodeHopData(stitch: number, offset: number, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + frame.length);
  out[0] = HopType.DATA;
  const v = new DataView(out.buffer);
  v.setUint32(1, Math.floor(offset / 0x1_0000_0000));
  v.setUint32(5, offset >>> 0);
  out.set(frame, 9);
  v.setUint32(9 + 5, stitch);
  return out;
}

export function encodeHopCredit(stitch: number, consumed: number): Uint8Array {
  return new Writer(13).u8(HopType.CREDIT).u32(stitch).u64(consumed).finish();
}

export function encodeHopUnstitch(stitch: number, code: number): Uint8Array {
  return new Writer(6).u8(HopType.UNSTITCH).u32(stitch).u8(code).finish();
}

/** Reads one hop message at the reader's position; DATA's frame is a view into the input. */
function readHop(r: Reader): HopMessage {
  const type = r.u8('hop type');
  switch (type) {
    case HopType.DATA: {
      const offset = r.u64('hop DATA offset');
      if (r.remaining < RELAY_HEADER) throw new DecodeError(CommonCode.DECODE_TRUNCATED, 'hop DATA: frame shorter than a RELAY header');
      const head = new Reader(r.bytes(RELAY_HEADER, 'hop DATA frame header'));
      const length = head.u32();
      const ftype = head.u8();
      const stitch = head.u32();
      if (ftype !== FrameType.RELAY || length < 5) throw new DecodeError(CommonCode.DECODE_VALUE, 'hop DATA: not a RELAY frame');
      r.bytes(length - 5, 'hop DATA frame payload');
      // The whole frame, header included, as one view: forwarded to the EP byte for byte.
      const end = r.offset;
      return { type, offset, frame: r.view(end - 4 - length, end), stitch };
    }
    case HopType.CREDIT:
      return { type, stitch: r.u32('hop CREDIT stitch'), consumed: r.u64('hop CREDIT consumed') };
    case HopType.UNSTITCH:
      return { type, stitch: r.u32('hop UNSTITCH stitch'), code: r.u8('hop UNSTITCH code') };
    default:
      throw new DecodeError(CommonCode.DECODE_TYPE, `hop: unknown type ${type}`);
  }
}

/** Decodes one hop message, nothing after it. Throws DecodeError. */
export function decodeHop(bytes: Uint8Array): HopMessage {
  const r = new Reader(bytes);
  const h = readHop(r);
  r.end('hop message');
  return h;
}

/**
 * Decodes a NATS message of the hop subject: one or more hop messages back to back (§Fabric
 * "Batching"). All or nothing: a malformed batch is dropped whole (its sender is broken).
 */
export function decodeHops(bytes: Uint8Array): HopMessage[] {
  const r = new Reader(bytes);
  const out: HopMessage[] = [];
  do out.push(readHop(r));
  while (r.remaining > 0);
  return out;
}
