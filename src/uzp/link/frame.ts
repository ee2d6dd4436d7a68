// RN link framing over TCP, both directions: u32be length || u8 type || payload, where length
// counts type + payload (docs/PROFILE.md §Framing). The decoder is streaming: push
// whatever chunks TCP delivers, get whole frames. It never buffers more than one frame of at most
// `maxFrame` bytes (in pieces mode, views of at most MAX_PIECES reads), and it allocates a frame's
// buffer only once its header passed the size check, so a peer dribbling bytes costs O(n) copying,
// never O(n^2).

import { concat, readU32, totalLength, writeU32 } from '../bytes.js';
import { ErrorCode } from '../errors.js';
import { FRAME_HEADER_LENGTH, FrameType } from './constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export interface Frame {
  readonly type: number;
  readonly payload: Uint8Array;
  /** The whole frame as received (length || type || payload), so a relay can forward it unchanged. */
  readonly raw: Uint8Array;
  /**
   * Pieces mode, a frame that spanned reads: `raw` as a copy of its header and the views of the
   * reads it spanned, in order. `raw` and `payload` are then joined only when read.
   */
  readonly pieces?: readonly Uint8Array[];
}

/** A frame handed out as pieces (FrameDecoderOptions.pieces). */
class SpanningFrame implements Frame {
  private joined: Uint8Array | null = null;
  constructor(
    readonly type: number,
    readonly pieces: readonly Uint8Array[],
  ) {}
  get raw(): Uint8Array {
    return (this.joined ??= concat(...this.pieces));
  }
  get payload(): Uint8Array {
    return this.raw.subarray(FRAME_HEADER_LENGTH);
  }
}

/** Bytes of a frame on the wire. */
export function frameBytes(f: Frame): number {
  return f.pieces === undefined ? f.raw.length : totalLength(f.pieces);
}

/** The u32be at byte `off` of a frame (across its pieces); undefined when the frame is shorter. */
export function frameU32(f: Frame, off: number): number | undefined {
  if (f.pieces === undefined) return f.raw.length >= off + 4 ? readU32(f.raw, off) : undefined;
  let v = 0;
  let need = 4;
  let skip = off;
  for (const p of f.pieces) {
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    for (let i = skip; i < p.length && need > 0; i++, need--) v = v * 256 + p[i]!;
    skip = 0;
    if (need === 0) return v;
  }
  return undefined;
}

/** Encodes one frame. `payload` length + 1 must fit in u32 (our caps are far below). */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LENGTH + payload.length);
  writeU32(out, 0, payload.length + 1);
  out[4] = type;
  out.set(payload, FRAME_HEADER_LENGTH);
  return out;
}

/** The 9-byte RELAY header (length || type || stitch_id); the E2E payload follows it on the wire. */
export function relayFrameHeader(stitchId: number, payloadLength: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LENGTH + 4);
  writeU32(out, 0, payloadLength + 5);
  out[4] = FrameType.RELAY;
  writeU32(out, 5, stitchId);
  return out;
}

/** RELAY frame in one buffer: header || opaque E2E payload (the relay path writes the two apart). */
export function encodeRelayFrame(stitchId: number, payload: Uint8Array): Uint8Array {
  return concat(relayFrameHeader(stitchId, payload.length), payload);
}

/** Bytes a RELAY frame with `payloadLength` E2E bytes counts against a max_frame limit. */
export function relayFrameLength(payloadLength: number): number {
  return 1 + 4 + payloadLength;
}

/** The u32 length field at the start of every frame header. */
const LENGTH_FIELD = 4;

/**
 * `reuse`: frames that span reads are assembled in one buffer the decoder keeps and reuses, so a
 * frame handed to feed()'s visitor is valid only until the visitor returns (as are frames inside a
 * chunk whose buffer the caller reuses: RnLink reads into one buffer). For a receiver that consumes
 * each frame synchronously (an EP: it decrypts a RELAY payload into a fresh plaintext, and copies
 * what it must keep); an RN forwards frames to other sockets, which keep them until written.
 */
export interface FrameDecoderOptions {
  readonly reuse?: boolean;
  /**
   * For a caller that gets a fresh buffer per read and forwards frames (the RN): a frame that spans
   * reads is handed out as views of them (Frame.pieces) rather than copied into one buffer, unless
   * it spans more than MAX_PIECES reads (a peer dribbling bytes: then it is assembled as usual).
   */
  readonly pieces?: boolean;
}

/**
 * Reads a frame may span and still be handed out as pieces. Each piece keeps its whole read alive
 * (node reads at most 64 KiB), so a frame in pieces holds at most 4 × 64 KiB: no more than the
 * default max_frame a copy would hold.
 */
export const MAX_PIECES = 4;

export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_LENGTH);
  private headerFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private bodyType = 0;
  private failed: DecodeError | null = null;
  private readonly reuse: boolean;
  private readonly piecesMode: boolean;
  /** Pieces mode: the frame being received, as a header copy and views of the reads so far. */
  private parts: Uint8Array[] | null = null;
  private partsTotal = 0;
  /** reuse mode: the assembly buffer, grown to the largest spanning frame seen (at most 4 + maxFrame). */
  private assembly: Uint8Array | null = null;

  /** `maxFrame` bounds the length field (type + payload). */
  constructor(
    private maxFrame: number,
    opts: FrameDecoderOptions = {},
  ) {
    this.reuse = opts.reuse === true;
    this.piecesMode = opts.pieces === true && !this.reuse;
  }

  get limit(): number {
    return this.maxFrame;
  }

  /** Raise or lower the cap, e.g. from 16 KiB pre-auth to the attached limit. */
  setMaxFrame(n: number): void {
    this.maxFrame = n;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** Pieces mode: one more view of the frame being received; assembled once it spans too many reads. */
  private addPart(part: Uint8Array): void {
    const parts = this.parts!;
    if (parts.length <= MAX_PIECES) {
      parts.push(part);
      return;
    }
    const body = this.bodyBuffer(this.partsTotal);
    let off = 0;
    for (const p of parts) {
      body.set(p, off);
      off += p.length;
    }
    body.set(part, off);
    this.parts = null;
    this.body = body;
  }

  /**
   * Feeds bytes; returns the frames completed by them (each in its own memory: not in reuse mode).
   * Throws DecodeError on a zero length or a frame over the cap (LINK_FRAME_TOO_LARGE) as soon as
   * the 4 length bytes are in; after that the decoder stays failed and the link must be closed,
   * since framing cannot be recovered on a byte stream.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.reuse) throw new TypeError('FrameDecoder: push() would return frames of a reused buffer; use feed()');
    const frames: Frame[] = [];
    this.feed(chunk, (f) => void frames.push(f));
    return frames;
  }

  /**
   * Feeds bytes and hands each completed frame to `visit` as soon as it is complete, in order.
   * Same errors as push(); an error thrown by `visit` stops the feed and propagates.
   */
  feed(chunk: Uint8Array, visit: (f: Frame) => void): void {
    if (this.failed !== null) throw this.failed;
    let off = 0;
    while (off < chunk.length) {
      if (this.body === null && this.parts === null) {
        // Fast path: a whole header and payload inside this chunk needs no copy at all.
        if (this.headerFill === 0 && chunk.length - off >= FRAME_HEADER_LENGTH) {
          const len = this.checkLength(readU32(chunk, off));
          if (chunk.length - off >= 4 + len) {
            const end = off + 4 + len;
            visit({ type: chunk[off + 4]!, payload: chunk.subarray(off + FRAME_HEADER_LENGTH, end), raw: chunk.subarray(off, end) });
            off = end;
            continue;
          }
        }
        const n = Math.min(FRAME_HEADER_LENGTH - this.headerFill, chunk.length - off);
        this.header.set(chunk.subarray(off, off + n), this.headerFill);
        this.headerFill += n;
        off += n;
        // The length alone condemns a frame: a zero-length frame has no type byte to wait for.
        if (this.headerFill >= LENGTH_FIELD) this.checkLength(readU32(this.header, 0));
        if (this.headerFill < FRAME_HEADER_LENGTH) break;
        const len = readU32(this.header, 0);
        this.headerFill = 0;
        if (len === 1) {
          visit({ type: this.header[4]!, payload: new Uint8Array(0), raw: this.header.slice() });
          continue;
        }
        // The header is kept in front of the body so that `raw` needs no second copy.
        this.bodyType = this.header[4]!;
        if (this.piecesMode) {
          this.parts = [this.header.slice()];
          this.partsTotal = 4 + len;
        } else {
          this.body = this.bodyBuffer(4 + len);
          this.body.set(this.header);
        }
        this.bodyFill = FRAME_HEADER_LENGTH;
      }
      const total = this.parts !== null ? this.partsTotal : this.body!.length;
      const n = Math.min(total - this.bodyFill, chunk.length - off);
      if (this.parts !== null) this.addPart(chunk.subarray(off, off + n));
      else this.body!.set(chunk.subarray(off, off + n), this.bodyFill);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill === total) {
        const body = this.body;
        const parts = this.parts;
        this.body = null;
        this.parts = null;
        this.bodyFill = 0;
        if (parts !== null) visit(new SpanningFrame(this.bodyType, parts));
        else visit({ type: this.bodyType, payload: body!.subarray(FRAME_HEADER_LENGTH), raw: body! });
      }
    }
  }

  /**
   * A fresh buffer per frame, or in reuse mode a view of the assembly buffer (grown by doubling).
   * Fresh ones are not zero-filled (every byte is written before the frame is handed out) and not
   * from Buffer's pool (a frame's buffer is exactly the frame: the RN queues it without a copy).
   */
  private bodyBuffer(n: number): Uint8Array {
    if (!this.reuse) return new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
    if (this.assembly === null || this.assembly.length < n) {
      this.assembly = new Uint8Array(Math.min(Math.max(n, 2 * (this.assembly?.length ?? 0)), 4 + this.maxFrame));
    }
    return this.assembly.subarray(0, n);
  }

  private checkLength(len: number): number {
    if (len === 0) {
      this.failed = new DecodeError(CommonCode.DECODE_LENGTH, 'link frame: length 0 (a frame has at least a type byte)');
      throw this.failed;
    }
    if (len > this.maxFrame) {
      this.failed = new DecodeError(ErrorCode.LINK_FRAME_TOO_LARGE, `link frame: length ${len} exceeds ${this.maxFrame}`);
      throw this.failed;
    }
    return len;
  }
}
