// ACK frame: the whole plaintext of an ack block (draft §7: "acknowledgement signalling references
// blocks rather than individual bytes"; selective, by ranges, as QUIC does, RFC 9000 §19.3).
//   largest u64 || ack_delay_us u32 || count u16 || count × (first u64 || last u64)
// Ranges are inclusive, listed from the highest down, disjoint and non-adjacent; count is 1..64 and
// ranges[0].last == largest. decodeAck throws only DecodeError.

import { Reader, writeU32 } from '../bytes.js';
import { ACK_HEADER_LENGTH, ACK_MAX_RANGES, ACK_RANGE_LENGTH } from './constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export interface AckRange {
  readonly first: number;
  readonly last: number;
}

export interface AckFrame {
  readonly largest: number;
  /** How long the receiver held the ack after receiving `largest`, in microseconds (saturates at 2^32 - 1). */
  readonly ackDelayUs: number;
  readonly ranges: readonly AckRange[];
}

export function writeU64(buf: Uint8Array, off: number, v: number): void {
  writeU32(buf, off, Math.floor(v / 0x1_0000_0000));
  writeU32(buf, off + 4, v >>> 0);
}

/** Writes the fixed part; the caller then writes `count` ranges with writeAckRange. Returns the offset after it. */
export function writeAckHeader(buf: Uint8Array, largest: number, ackDelayUs: number, count: number): number {
  writeU64(buf, 0, largest);
  writeU32(buf, 8, Math.min(Math.max(0, Math.floor(ackDelayUs)), 0xffff_ffff));
  buf[12] = count >>> 8;
  buf[13] = count & 0xff;
  return ACK_HEADER_LENGTH;
}

export function writeAckRange(buf: Uint8Array, off: number, first: number, last: number): number {
  writeU64(buf, off, first);
  writeU64(buf, off + 8, last);
  return off + ACK_RANGE_LENGTH;
}

/** Throws RangeError when `a` breaks the rules above (local misuse). */
export function encodeAck(a: AckFrame): Uint8Array {
  checkRanges(a, (m) => new RangeError(`ACK: ${m}`));
  if (!Number.isInteger(a.ackDelayUs) || a.ackDelayUs < 0 || a.ackDelayUs > 0xffff_ffff) throw new RangeError(`ACK: ack_delay_us out of range: ${a.ackDelayUs}`);
  const out = new Uint8Array(ACK_HEADER_LENGTH + a.ranges.length * ACK_RANGE_LENGTH);
  let off = writeAckHeader(out, a.largest, a.ackDelayUs, a.ranges.length);
  for (const r of a.ranges) off = writeAckRange(out, off, r.first, r.last);
  return out;
}

export function decodeAck(b: Uint8Array): AckFrame {
  const r = new Reader(b);
  const largest = r.u64('ACK largest');
  const ackDelayUs = r.u32('ACK ack_delay_us');
  const count = r.u16('ACK count');
  if (count > ACK_MAX_RANGES) throw new DecodeError(CommonCode.DECODE_LENGTH, `ACK: ${count} ranges exceeds ${ACK_MAX_RANGES}`);
  if (r.remaining !== count * ACK_RANGE_LENGTH) {
    throw new DecodeError(r.remaining < count * ACK_RANGE_LENGTH ? CommonCode.DECODE_TRUNCATED : CommonCode.DECODE_TRAILING,
      `ACK: expected ${count * ACK_RANGE_LENGTH} bytes of ranges, got ${r.remaining}`);
  }
  const ranges: AckRange[] = new Array(count);
  for (let i = 0; i < count; i++) ranges[i] = { first: r.u64('ACK range first'), last: r.u64('ACK range last') };
  r.end('ACK');
  const a = { largest, ackDelayUs, ranges };
  checkRanges(a, (m) => new DecodeError(CommonCode.DECODE_VALUE, `ACK: ${m}`));
  return a;
}

function checkRanges(a: AckFrame, err: (m: string) => Error): void {
  const n = a.ranges.length;
  if (n < 1 || n > ACK_MAX_RANGES) throw err(`range count must be 1..${ACK_MAX_RANGES}, got ${n}`);
  if (!Number.isSafeInteger(a.largest) || a.largest < 0) throw err(`largest out of range: ${a.largest}`);
  if (a.ranges[0]!.last !== a.largest) throw err(`first range ends at ${a.ranges[0]!.last}, not at largest ${a.largest}`);
  let floor = Infinity; // the next range must end below floor - 1 (disjoint and non-adjacent)
  for (const { first, last } of a.ranges) {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || first > last) throw err(`bad range [${first}, ${last}]`);
    if (last + 1 >= floor) throw err(`range [${first}, ${last}] is not below the previous one with a gap`);
    floor = first;
  }
}
