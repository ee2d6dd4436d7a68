// RN link framing over TCP, both directions: u32be length || u8 type || payload, where length
// counts type + payload (docs/PROFILE.md §Framing). The decoder is streaming: push
// whatever chunks TCP delivers, get whole frames. It never buffers more than one frame of at most
// `maxFrame` bytes, and it allocates a frame's buffer only once its header passed the size check,
// so a peer dribbling bytes costs O(n) copying, never O(n^2).

import { concat, readU32, writeU32 } from '../bytes.js';
import { ErrorCode } from '../errors.js';
import { FRAME_HEADER_LENGTH, FrameType } from './constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export interface Frame {
  readonly type: number;
  readonly payload: Uint8Array;
  /** The whole frame as received (length || type || payload), so a relay can forward it unchanged. */
  readonly raw: Uint8Array;
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

export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_LENGTH);
  private headerFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private bodyType = 0;
  private failed: DecodeError | null = null;

  /** `maxFrame` bounds the length field (type + payload). */
  constructor(private maxFrame: number) {}

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

  /**
   * Feeds bytes; returns the frames completed by them. Throws DecodeError on a zero length or a
   * frame over the cap (LINK_FRAME_TOO_LARGE) as soon as the 4 length bytes are in; after that the
   * decoder stays failed and the link must be closed, since framing cannot be recovered on a byte
   * stream.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.failed !== null) throw this.failed;
    const frames: Frame[] = [];
    let off = 0;
    while (off < chunk.length) {
      if (this.body === null) {
        // Fast path: a whole header and payload inside this chunk needs no copy at all.
        if (this.headerFill === 0 && chunk.length - off >= FRAME_HEADER_LENGTH) {
          const len = this.checkLength(readU32(chunk, off));
          if (chunk.length - off >= 4 + len) {
            frames.push({ type: chunk[off + 4]!, payload: chunk.subarray(off + FRAME_HEADER_LENGTH, off + 4 + len), raw: chunk.subarray(off, off + 4 + len) });
            off += 4 + len;
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
          frames.push({ type: this.header[4]!, payload: new Uint8Array(0), raw: this.header.slice() });
          continue;
        }
        // The header is kept in front of the body so that `raw` needs no second copy.
        this.bodyType = this.header[4]!;
        this.body = new Uint8Array(4 + len);
        this.body.set(this.header);
        this.bodyFill = FRAME_HEADER_LENGTH;
      }
      const n = Math.min(this.body.length - this.bodyFill, chunk.length - off);
      this.body.set(chunk.subarray(off, off + n), this.bodyFill);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill === this.body.length) {
        frames.push({ type: this.bodyType, payload: this.body.subarray(FRAME_HEADER_LENGTH), raw: this.body });
        this.body = null;
        this.bodyFill = 0;
      }
    }
    return frames;
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
