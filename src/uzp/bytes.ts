// Byte helpers shared by every codec: bounds-checked reader, growable writer, hex.
// Decoders built on Reader throw only DecodeError, never RangeError, so junk input
// from the wire always ends in a typed, droppable error.

import { CommonCode, DecodeError } from '../lib/errors.js';

/** Bytes in `parts` together (a sealed block's or a spanning frame's pieces, concat's output). */
export function totalLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(totalLength(parts));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Views smaller than this are left to the garbage collector by freeNow(): small typed arrays live in
 * V8's heap, where asking for their buffer would move them out of it.
 */
export const FREE_NOW_MIN_BYTES = 4096;

/**
 * Gives the memory under `view` back to the allocator now instead of at V8's next full collection,
 * when `view` spans an ArrayBuffer of its own (as node:crypto's cipher output does) of at least
 * FREE_NOW_MIN_BYTES; otherwise does nothing. Every view of that buffer reads as empty afterwards,
 * so only its sole owner may call this, once nothing will read those bytes again.
 *
 * Why: V8 counts ArrayBuffer memory towards its heap limits, and memory that dies between full
 * collections piles up to them. A sender that sealed a 64 KiB block per 64 KiB sent (one cipher output
 * each) ran a full collection every 50-70 ms under load (43 in 1.1 GB) and re-faulted the pages the
 * allocator had given back; freeing each block's ciphertext once acknowledged left 1 (docs/BENCH.md,
 * fifteenth stop). A runtime without ArrayBuffer.prototype.transfer (Node 20) keeps the old behaviour.
 */
export function freeNow(view: Uint8Array): void {
  if (view.byteLength < FREE_NOW_MIN_BYTES || view.byteOffset !== 0) return;
  const ab = view.buffer as ArrayBuffer & { transfer?: (length?: number) => ArrayBuffer };
  if (view.byteLength !== ab.byteLength || typeof ab.transfer !== 'function' || !(ab instanceof ArrayBuffer)) return;
  ab.transfer(0);
}

/** `b` itself when it is a Uint8Array of exactly `n` bytes; a RangeError naming `what` otherwise (encoders' input checks). */
export function fixedLength(b: Uint8Array, n: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new RangeError(`${what}: expected ${n} bytes, got ${(b as Uint8Array | undefined)?.length}`);
  return b;
}

/** Constant-time equality for equal-length inputs (length itself is not secret). */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Strict hex: even length, [0-9a-f] only (case-insensitive); throws DecodeError otherwise. */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new DecodeError(CommonCode.DECODE_VALUE, `expected an even-length hex string, got ${JSON.stringify(s.slice(0, 16))}${s.length > 16 ? '…' : ''}`);
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}

// One encoder and one decoder for the process: a TextDecoder is costly to construct (the key
// schedule and every signature input encode a label; docs/BENCH.md "eleventh stop"), and neither
// keeps state between whole-buffer calls.
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export const utf8 = {
  encode: (s: string): Uint8Array => encoder.encode(s),
  decode: (b: Uint8Array): string => strictDecoder.decode(b),
};

/** Sequential reader over a byte array; every read is bounds-checked. */
export class Reader {
  private off = 0;
  constructor(private readonly buf: Uint8Array) {}

  get offset(): number {
    return this.off;
  }
  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.off) {
      throw new DecodeError(CommonCode.DECODE_TRUNCATED, `${what}: expected ${n} bytes, got ${this.buf.length - this.off}`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.off++]!;
  }
  u16(what = 'u16'): number {
    this.need(2, what);
    const v = (this.buf[this.off]! << 8) | this.buf[this.off + 1]!;
    this.off += 2;
    return v;
  }
  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const o = this.off;
    const v = ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
    this.off += 4;
    return v;
  }
  /** u64 big-endian; values above 2^53 - 1 are refused (they never occur in a valid profile message). */
  u64(what = 'u64'): number {
    const hi = this.u32(what);
    const lo = this.u32(what);
    if (hi > 0x1fffff) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: value exceeds 2^53-1`);
    return hi * 0x1_0000_0000 + lo;
  }
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  /** u16-length-prefixed bytes, refusing lengths above `max`. */
  vec16(max: number, what = 'vec16'): Uint8Array {
    const n = this.u16(what);
    if (n > max) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: length ${n} exceeds ${max}`);
    return this.bytes(n, what);
  }
  /** u32-length-prefixed bytes, refusing lengths above `max`. */
  vec32(max: number, what = 'vec32'): Uint8Array {
    const n = this.u32(what);
    if (n > max) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: length ${n} exceeds ${max}`);
    return this.bytes(n, what);
  }
  /** The input between two offsets already read (a view, no copy). */
  view(from: number, to: number): Uint8Array {
    if (from < 0 || to > this.off || from > to) throw new RangeError('view: outside what was read');
    return this.buf.subarray(from, to);
  }
  rest(): Uint8Array {
    const v = this.buf.subarray(this.off);
    this.off = this.buf.length;
    return v;
  }
  /** Every decoder ends with this: trailing bytes are an error, never ignored. */
  end(what = 'message'): void {
    if (this.off !== this.buf.length) {
      throw new DecodeError(CommonCode.DECODE_TRAILING, `${what}: ${this.buf.length - this.off} trailing bytes`);
    }
  }
}

/** Growable big-endian writer. */
export class Writer {
  private buf: Uint8Array;
  private off = 0;
  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
  }
  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.off++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`u16 out of range: ${v}`);
    this.ensure(2);
    this.buf[this.off++] = v >>> 8;
    this.buf[this.off++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new RangeError(`u32 out of range: ${v}`);
    this.ensure(4);
    writeU32(this.buf, this.off, v);
    this.off += 4;
    return this;
  }
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 out of range: ${v}`);
    this.ensure(8);
    writeU32(this.buf, this.off, Math.floor(v / 0x1_0000_0000));
    writeU32(this.buf, this.off + 4, v >>> 0);
    this.off += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
    return this;
  }
  vec16(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }
  vec32(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.off);
  }
}

export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) >>> 0) + (buf[off + 1]! << 16) + (buf[off + 2]! << 8) + buf[off + 3]!;
}
