// The rendezvous fabric's own messages (issue #16; docs/PROFILE.md §Fabric), carried by NATS between
// the RNs of one trust domain. UZPIF multi-hop: RNs relay, never decrypt; these messages carry
// only what the RNs already see (CIDs, the Grant, CH1, RELAY frames of end-to-end ciphertext).
//
// - JOIN request (ingress RN -> whichever RN holds the target): the JOIN an EP sent, the ingress
//   stitch id, a timestamp, signed by the ingress RN's key. The egress RN checks the signer is an
//   eligible RN (peers.ts) and the timestamp is fresh (a captured request replayed later is
//   refused), then offers the stitch to its EP.
// - JOIN reply: the egress stitch id, or a JOIN_REFUSED code, signed by the egress RN's key over
//   the request it answers (ingress, ingress stitch, at_ms) and its own CID: the ingress takes a
//   reply only from an eligible RN and only for the request it sent, so nobody else on NATS can
//   wire a JOIN into a stitch, or refuse one (the review did both with unsigned replies).
// - HOP messages to one RN's hop subject: DATA (a RELAY frame, its stitch id already the
//   receiver's, with the sender's byte offset for credit), CREDIT (bytes consumed so far, by
//   offset), UNSTITCH; sent in batches that name their sender and carry a tag under the key the
//   two RNs share (hop-keys.ts), so only the RN a stitch was made with can act on it.
// - UNKNOWN, only in the answer to a probe (a hop batch sent with a NATS reply subject), on that
//   reply subject: the answering RN has no stitch with the prober of the id a CREDIT of the probe
//   named (probe-answers.ts). Never on a hop subject.

import { Reader, Writer } from '../../uzp/bytes.js';
import { CID_LENGTH, FrameType, MAX_CH1_BYTES, MAX_GRANT_BYTES } from '../../uzp/link/constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import type { CryptoProvider, Signer } from '../../uzp/crypto/provider.js';

export const FABRIC_VERSION = 2;
const JOIN_LABEL = new TextEncoder().encode('uzp fabric join v1');
const REPLY_LABEL = new TextEncoder().encode('uzp fabric reply v1');
const SIGNATURE_LENGTH = 64;
/** JOIN reply before its signature: version, status, ingress, ingress_stitch, at_ms, egress, egress_stitch, code. */
const REPLY_BODY = 1 + 1 + CID_LENGTH + 4 + 8 + CID_LENGTH + 4 + 1;
/** RELAY frame header: length u32, type u8, stitch id u32. */
const RELAY_HEADER = 9;

export const HopType = { DATA: 1, CREDIT: 2, UNSTITCH: 3, UNKNOWN: 4 } as const;

/** A hop batch before its messages: version u8, the sending RN's CID. */
export const HOP_BATCH_HEADER = 1 + CID_LENGTH;

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

/** A JOIN reply: the request it answers (`ingress`, `ingressStitch`, `atMs`), who answers, and the answer. */
export type FabricJoinReply = {
  readonly ingress: Uint8Array;
  readonly ingressStitch: number;
  readonly atMs: number;
  /** The answering (egress) RN, whose key signs the reply. */
  readonly egress: Uint8Array;
} & ({ readonly ok: true; readonly egressStitch: number } | { readonly ok: false; readonly code: number });

/** How a signature checked against the key of the RN that claims it. */
export type SignerVerdict = 'valid' | 'unknown' | 'bad';

export type HopMessage =
  | { readonly type: typeof HopType.DATA; readonly offset: number; readonly frame: Uint8Array; readonly stitch: number }
  | { readonly type: typeof HopType.CREDIT; readonly stitch: number; readonly consumed: number }
  | { readonly type: typeof HopType.UNSTITCH; readonly stitch: number; readonly code: number }
  /** `stitch`: the id the probe's CREDIT named, the answering RN's own (probe-answers.ts). */
  | { readonly type: typeof HopType.UNKNOWN; readonly stitch: number };

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

function signed(label: Uint8Array, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(label.length + body.length);
  m.set(label);
  m.set(body, label.length);
  return m;
}

function verdict(p: CryptoProvider, key: Uint8Array | undefined, label: Uint8Array, body: Uint8Array, signature: Uint8Array): SignerVerdict {
  if (key === undefined) return 'unknown';
  return p.ed25519Verify(key, signed(label, body), signature) ? 'valid' : 'bad';
}

export function encodeFabricJoin(j: FabricJoin, signer: Signer): Uint8Array {
  for (const [b, what] of [[j.ingress, 'ingress'], [j.initiator, 'initiator'], [j.target, 'target']] as const) {
    if (b.length !== CID_LENGTH) throw new RangeError(`fabric JOIN ${what}: expected ${CID_LENGTH} bytes`);
  }
  const body = joinBody(j);
  return new Writer(body.length + SIGNATURE_LENGTH).bytes(body).bytes(signer.sign(signed(JOIN_LABEL, body))).finish();
}

/**
 * Decodes a JOIN request and checks its signature with the key `keyOf` gives for the ingress RN
 * (undefined: not an eligible RN now, peers.ts). Throws DecodeError on malformed bytes; returns the
 * join and whether the signature holds, so the caller refuses with the right code.
 */
export function decodeFabricJoin(p: CryptoProvider, bytes: Uint8Array, keyOf: (rn: Uint8Array) => Uint8Array | undefined): { join: FabricJoin; signer: SignerVerdict } {
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
  return { join, signer: verdict(p, keyOf(join.ingress), JOIN_LABEL, bytes.subarray(0, bodyLength), signature) };
}

/** A JOIN reply, signed by the egress RN (`signer`, whose CID is `m.egress`). */
export function encodeFabricJoinReply(m: FabricJoinReply, signer: Signer): Uint8Array {
  for (const [b, what] of [[m.ingress, 'ingress'], [m.egress, 'egress']] as const) {
    if (b.length !== CID_LENGTH) throw new RangeError(`fabric JOIN reply ${what}: expected ${CID_LENGTH} bytes`);
  }
  const body = new Writer(REPLY_BODY)
    .u8(FABRIC_VERSION)
    .u8(m.ok ? 0 : 1)
    .bytes(m.ingress)
    .u32(m.ingressStitch)
    .u64(m.atMs)
    .bytes(m.egress)
    .u32(m.ok ? m.egressStitch : 0)
    .u8(m.ok ? 0 : m.code & 0xff)
    .finish();
  return new Writer(REPLY_BODY + SIGNATURE_LENGTH).bytes(body).bytes(signer.sign(signed(REPLY_LABEL, body))).finish();
}

/**
 * Decodes a JOIN reply and checks its signature with the key `keyOf` gives for the egress RN it
 * names (undefined: not an eligible RN). Throws DecodeError on malformed bytes.
 */
export function decodeFabricJoinReply(p: CryptoProvider, bytes: Uint8Array, keyOf: (rn: Uint8Array) => Uint8Array | undefined): { reply: FabricJoinReply; signer: SignerVerdict } {
  const r = new Reader(bytes);
  const version = r.u8('fabric JOIN reply version');
  if (version !== FABRIC_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `fabric JOIN reply: version ${version}, expected ${FABRIC_VERSION}`);
  const status = r.u8('fabric JOIN reply status');
  if (status > 1) throw new DecodeError(CommonCode.DECODE_VALUE, `fabric JOIN reply: status ${status}`);
  const ingress = r.bytes(CID_LENGTH, 'fabric JOIN reply ingress');
  const ingressStitch = r.u32('fabric JOIN reply ingress stitch');
  const atMs = r.u64('fabric JOIN reply at_ms');
  const egress = r.bytes(CID_LENGTH, 'fabric JOIN reply egress');
  const egressStitch = r.u32('fabric JOIN reply egress stitch');
  const code = r.u8('fabric JOIN reply code');
  const signature = r.bytes(SIGNATURE_LENGTH, 'fabric JOIN reply signature');
  r.end('fabric JOIN reply');
  // One encoding per answer: joined carries a stitch and code 0, refused no stitch.
  if (status === 0 && (egressStitch === 0 || code !== 0)) throw new DecodeError(CommonCode.DECODE_VALUE, 'fabric JOIN reply: joined needs a stitch id and code 0');
  if (status === 1 && egressStitch !== 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'fabric JOIN reply: refused carries stitch id 0');
  const head = { ingress, ingressStitch, atMs, egress };
  const reply: FabricJoinReply = status === 0 ? { ...head, ok: true, egressStitch } : { ...head, ok: false, code };
  return { reply, signer: verdict(p, keyOf(egress), REPLY_LABEL, bytes.subarray(0, REPLY_BODY), signature) };
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

export function encodeHopUnknown(stitch: number): Uint8Array {
  return new Writer(5).u8(HopType.UNKNOWN).u32(stitch).finish();
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
    case HopType.UNKNOWN:
      return { type, stitch: r.u32('hop UNKNOWN stitch') };
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

/** The first bytes of every hop batch `sender` sends. */
export function hopBatchHeader(sender: Uint8Array): Uint8Array {
  if (sender.length !== CID_LENGTH) throw new RangeError(`hop batch sender: expected ${CID_LENGTH} bytes`);
  return new Writer(HOP_BATCH_HEADER).u8(FABRIC_VERSION).bytes(sender).finish();
}

export interface HopBatch {
  readonly sender: Uint8Array;
  /** Every byte before the tag: what the tag authenticates. */
  readonly authenticated: Uint8Array;
  /** The hop messages (decodeHops), views into the input. */
  readonly messages: Uint8Array;
  readonly tag: Uint8Array;
}

/** Splits a NATS message of the hop subject into its parts (§Fabric "Hop batches"); checks nothing but the layout. Throws DecodeError. */
export function splitHopBatch(bytes: Uint8Array, tagLength: number): HopBatch {
  const r = new Reader(bytes);
  const version = r.u8('hop batch version');
  if (version !== FABRIC_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `hop batch: version ${version}, expected ${FABRIC_VERSION}`);
  const sender = r.bytes(CID_LENGTH, 'hop batch sender');
  if (r.remaining <= tagLength) throw new DecodeError(CommonCode.DECODE_TRUNCATED, 'hop batch: no hop message before the tag');
  const end = bytes.length - tagLength;
  return { sender, authenticated: bytes.subarray(0, end), messages: bytes.subarray(HOP_BATCH_HEADER, end), tag: bytes.subarray(end) };
}

/**
 * Decodes the hop messages of a batch: one or more back to back (§Fabric "Batching"). All or
 * nothing: a malformed batch is dropped whole (its sender is broken).
 */
export function decodeHops(bytes: Uint8Array): HopMessage[] {
  const r = new Reader(bytes);
  const out: HopMessage[] = [];
  do out.push(readHop(r));
  while (r.remaining > 0);
  return out;
}
