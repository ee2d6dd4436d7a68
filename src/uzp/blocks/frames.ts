// Frames inside a data block's plaintext (draft §7: "each block contains one or more frames").
// One walker validates a whole plaintext and, given a visitor, reports each frame; the engine walks
// once on receipt with no visitor (validate before accepting) and once on in-order delivery with
// itself as the visitor, so there is one parser and no per-block closures or frame objects.
// The walker throws only DecodeError.

import { readU32, utf8, writeU32 } from '../bytes.js';
import {
  CLOSE_HEADER_LENGTH,
  CLOSE_REASON_MAX,
  FRAME_CLOSE,
  FRAME_MSG,
  FRAME_PADDING,
  FRAME_PING,
  MSG_FLAG_CHANNEL_CLOSE,
  MSG_FLAG_FIN,
  MSG_FLAGS_KNOWN,
  MSG_HEADER_LENGTH,
} from './constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export type Frame =
  | { readonly type: 'padding'; readonly length: number } // bytes including the 0x00 type byte; always last
  | { readonly type: 'msg'; readonly channel: number; readonly fin: boolean; readonly channelClose: boolean; readonly data: Uint8Array }
  | { readonly type: 'close'; readonly code: number; readonly reason: string }
  | { readonly type: 'ping' };

/** Receives frames from walkFrames; `data` is a view into the block plaintext (no copy). */
export interface FrameVisitor {
  frameMsg(channel: number, flags: number, data: Uint8Array): void;
  frameClose(code: number, reason: string): void;
  framePing(): void;
  /** `length` counts the 0x00 type byte; padding is always the last frame. */
  framePadding(length: number): void;
}

/** walkFrames result bits. */
export const WALK_HAS_CLOSE = 1;

/**
 * Validates `pt` as a data block plaintext and reports its frames to `v` (if given).
 * Rules: at least one frame; PADDING runs to the end and is all zero; MSG flags use only known bits
 * and CHANNEL_CLOSE only with FIN; CLOSE is the last frame (only PADDING may follow); reason is
 * UTF-8 of at most 256 bytes; any other frame type is an error.
 */
export function walkFrames(pt: Uint8Array, v: FrameVisitor | null): number {
  const n = pt.length;
  if (n === 0) throw new DecodeError(CommonCode.DECODE_LENGTH, 'data block: empty plaintext (at least one frame required)');
  let off = 0;
  let result = 0;
  // Read once per block: the `buffer` getter is a call into the runtime (~5% of a receiver of
  // 64-byte messages in perf when it was read per message).
  const buffer = pt.buffer;
  const base = pt.byteOffset;
  while (off < n) {
    const t = pt[off]!;
    if (result & WALK_HAS_CLOSE && t !== FRAME_PADDING) {
      throw new DecodeError(CommonCode.DECODE_VALUE, `data block: frame type ${t} after CLOSE`);
    }
    switch (t) {
      case FRAME_PADDING:
        for (let i = off + 1; i < n; i++) {
          if (pt[i] !== 0) throw new DecodeError(CommonCode.DECODE_VALUE, `PADDING frame: non-zero byte at offset ${i}`);
        }
        if (v !== null) v.framePadding(n - off);
        return result;
      case FRAME_MSG: {
        if (n - off < MSG_HEADER_LENGTH) throw truncated('MSG frame header', MSG_HEADER_LENGTH, n - off);
        const channel = readU32(pt, off + 1);
        const flags = pt[off + 5]!;
        const len = readU32(pt, off + 6);
        if (flags & ~MSG_FLAGS_KNOWN) throw new DecodeError(CommonCode.DECODE_VALUE, `MSG frame: reserved flag bits set (0x${flags.toString(16)})`);
        if (flags & MSG_FLAG_CHANNEL_CLOSE && !(flags & MSG_FLAG_FIN)) {
          throw new DecodeError(CommonCode.DECODE_VALUE, 'MSG frame: CHANNEL_CLOSE without FIN');
        }
        off += MSG_HEADER_LENGTH;
        if (len > n - off) throw truncated('MSG frame data', len, n - off);
        // A view made by the constructor, not subarray(): subarray looks up the species constructor
        // first, and at 64-byte messages the two were a tenth of the receiver (perf).
        if (v !== null) v.frameMsg(channel, flags, new Uint8Array(buffer, base + off, len));
        off += len;
        break;
      }
      case FRAME_CLOSE: {
        if (n - off < CLOSE_HEADER_LENGTH) throw truncated('CLOSE frame header', CLOSE_HEADER_LENGTH, n - off);
        const code = (pt[off + 1]! << 8) | pt[off + 2]!;
        const len = (pt[off + 3]! << 8) | pt[off + 4]!;
        if (len > CLOSE_REASON_MAX) throw new DecodeError(CommonCode.DECODE_LENGTH, `CLOSE frame: reason length ${len} exceeds ${CLOSE_REASON_MAX}`);
        off += CLOSE_HEADER_LENGTH;
        if (len > n - off) throw truncated('CLOSE frame reason', len, n - off);
        const reason = decodeReason(pt.subarray(off, off + len));
        if (v !== null) v.frameClose(code, reason);
        off += len;
        result |= WALK_HAS_CLOSE;
        break;
      }
      case FRAME_PING:
        if (v !== null) v.framePing();
        off += 1;
        break;
      default:
        throw new DecodeError(CommonCode.DECODE_TYPE, `data block: unknown frame type 0x${t.toString(16).padStart(2, '0')}`);
    }
  }
  return result;
}

function truncated(what: string, want: number, got: number): DecodeError {
  return new DecodeError(CommonCode.DECODE_TRUNCATED, `${what}: expected ${want} bytes, got ${got}`);
}

// ignoreBOM: a leading U+FEFF is part of the reason, so decode(encode(x)) keeps every byte.
const reasonDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeReason(b: Uint8Array): string {
  if (b.length === 0) return '';
  try {
    return reasonDecoder.decode(b);
  } catch (e) {
    throw new DecodeError(CommonCode.DECODE_VALUE, 'CLOSE frame: reason is not valid UTF-8', { cause: e });
  }
}

/** Writes a MSG frame header at `off`; returns the offset of the data. */
export function writeMsgHeader(buf: Uint8Array, off: number, channel: number, flags: number, len: number): number {
  buf[off] = FRAME_MSG;
  writeU32(buf, off + 1, channel);
  buf[off + 5] = flags;
  writeU32(buf, off + 6, len);
  return off + MSG_HEADER_LENGTH;
}

/** Writes a CLOSE frame at `off` (reason already UTF-8, <= 256 bytes); returns the end offset. */
export function writeClose(buf: Uint8Array, off: number, code: number, reason: Uint8Array): number {
  buf[off] = FRAME_CLOSE;
  buf[off + 1] = code >>> 8;
  buf[off + 2] = code & 0xff;
  buf[off + 3] = reason.length >>> 8;
  buf[off + 4] = reason.length & 0xff;
  buf.set(reason, off + CLOSE_HEADER_LENGTH);
  return off + CLOSE_HEADER_LENGTH + reason.length;
}

/** UTF-8 reason cut to at most `maxBytes` (<= 256) bytes on a character boundary. */
export function encodeReason(reason: string, maxBytes = CLOSE_REASON_MAX): Uint8Array {
  const b = utf8.encode(reason);
  const max = Math.min(maxBytes, CLOSE_REASON_MAX);
  if (b.length <= max) return b;
  let end = max;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--; // do not split a multi-byte sequence
  return b.slice(0, end);
}

/** Frames -> plaintext. Throws RangeError on values that cannot be encoded (local misuse). */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  let size = 0;
  const reasons: Uint8Array[] = [];
  for (const f of frames) {
    if (f.type === 'msg') size += MSG_HEADER_LENGTH + f.data.length;
    else if (f.type === 'close') {
      const r = utf8.encode(f.reason);
      if (r.length > CLOSE_REASON_MAX) throw new RangeError(`CLOSE reason: ${r.length} bytes exceeds ${CLOSE_REASON_MAX}`);
      reasons.push(r);
      size += CLOSE_HEADER_LENGTH + r.length;
    } else if (f.type === 'ping') size += 1;
    else {
      if (!Number.isSafeInteger(f.length) || f.length < 1) throw new RangeError(`PADDING length must be >= 1, got ${f.length}`);
      size += f.length;
    }
  }
  const out = new Uint8Array(size);
  let off = 0;
  let r = 0;
  for (const f of frames) {
    if (f.type === 'msg') {
      checkU32(f.channel, 'channel');
      const flags = (f.fin ? MSG_FLAG_FIN : 0) | (f.channelClose ? MSG_FLAG_CHANNEL_CLOSE : 0);
      off = writeMsgHeader(out, off, f.channel, flags, f.data.length);
      out.set(f.data, off);
      off += f.data.length;
    } else if (f.type === 'close') {
      if (!Number.isInteger(f.code) || f.code < 0 || f.code > 0xffff) throw new RangeError(`CLOSE code out of range: ${f.code}`);
      off = writeClose(out, off, f.code, reasons[r++]!);
    } else if (f.type === 'ping') {
      out[off++] = FRAME_PING;
    } else {
      off += f.length; // FRAME_PADDING is 0x00 and so are the padding bytes
    }
  }
  return out;
}

/** Plaintext -> frames (copies nothing: `data` views `pt`). Throws DecodeError only. */
export function decodeFrames(pt: Uint8Array): Frame[] {
  const c = new FrameCollector();
  walkFrames(pt, c);
  return c.frames;
}

class FrameCollector implements FrameVisitor {
  readonly frames: Frame[] = [];
  frameMsg(channel: number, flags: number, data: Uint8Array): void {
    this.frames.push({ type: 'msg', channel, fin: (flags & MSG_FLAG_FIN) !== 0, channelClose: (flags & MSG_FLAG_CHANNEL_CLOSE) !== 0, data });
  }
  frameClose(code: number, reason: string): void {
    this.frames.push({ type: 'close', code, reason });
  }
  framePing(): void {
    this.frames.push({ type: 'ping' });
  }
  framePadding(length: number): void {
    this.frames.push({ type: 'padding', length });
  }
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`${what} out of range: ${v}`);
}
