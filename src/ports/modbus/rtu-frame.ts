// Modbus RTU framing on the master side (Modbus over Serial Line V1.02 §2.5.1):
// ADU = address (1) | PDU (1..253) | CRC-16/MODBUS (2, low byte first).
//
// Frame boundaries. The spec delimits frames by t3.5 of silence, but on Linux a USB adapter
// delivers bytes in latency-timer bursts and a PTY delivers them in arbitrary chunks, so gaps
// inside a frame are common and silence alone splits frames. The parser therefore recognises a
// reply by its length first (known for every standard function and for exceptions, from the
// function code and the byte-count field) and uses silence only to end a frame whose length it
// cannot know (other functions) and to throw away a partial one. When a length-delimited
// candidate fails its CRC, the parser slides forward one byte and looks again, so line noise
// before a good reply costs the noise, not the reply. Each run of discarded bytes is reported
// once as a CRC/framing error.

import { crc16modbus } from './crc.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import { PortErrorCode } from '../errors.js';
import { EXCEPTION_FLAG, FunctionCode, MAX_PDU, RTU_MAX_ADU, RTU_MAX_UNIT } from './vocabulary.js';

export function encodeRtuAdu(unit: number, pdu: Uint8Array): Uint8Array {
  if (!Number.isInteger(unit) || unit < 0 || unit > RTU_MAX_UNIT) throw new DecodeError(CommonCode.DECODE_VALUE, `rtu: unit must be 0..${RTU_MAX_UNIT}, got ${unit}`);
  if (pdu.length < 1 || pdu.length > MAX_PDU) throw new DecodeError(CommonCode.DECODE_LENGTH, `rtu: pdu must be 1..${MAX_PDU} bytes, got ${pdu.length}`);
  const out = new Uint8Array(pdu.length + 3);
  out[0] = unit;
  out.set(pdu, 1);
  const crc = crc16modbus(out, 0, pdu.length + 1);
  out[pdu.length + 1] = crc & 0xff;
  out[pdu.length + 2] = crc >>> 8;
  return out;
}

/** One whole ADU (e.g. a frame cut by silence). Throws only DecodeError; rejects trailing bytes by construction. */
export function decodeRtuAdu(adu: Uint8Array): { unit: number; pdu: Uint8Array } {
  if (adu.length < 4 || adu.length > RTU_MAX_ADU) throw new DecodeError(CommonCode.DECODE_LENGTH, `rtu: frame must be 4..${RTU_MAX_ADU} bytes, got ${adu.length}`);
  const n = adu.length - 2;
  const crc = adu[n]! | (adu[n + 1]! << 8);
  if (crc16modbus(adu, 0, n) !== crc) throw new DecodeError(PortErrorCode.MODBUS_CRC, 'rtu: CRC mismatch');
  return { unit: adu[0]!, pdu: adu.slice(1, n) };
}

/**
 * Length of the reply ADU that starts at buf[0], from its function code (buf[1]) and, for reads,
 * its byte count (buf[2]): a number, 'more' if more bytes are needed to tell, or 'unknown' for a
 * function whose reply layout this master does not know (framed by silence instead).
 */
export function replyAduLength(buf: Uint8Array, start = 0): number | 'more' | 'unknown' {
  const fc = buf[start + 1];
  if (fc === undefined) return 'more';
  if (fc & EXCEPTION_FLAG) return 5; // §7: address, fc|0x80, exception code, CRC
  switch (fc) {
    case FunctionCode.READ_COILS:
    case FunctionCode.READ_DISCRETE_INPUTS:
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS: {
      const n = buf[start + 2];
      return n === undefined ? 'more' : 5 + n;
    }
    case FunctionCode.WRITE_SINGLE_COIL:
    case FunctionCode.WRITE_SINGLE_REGISTER:
    case FunctionCode.WRITE_MULTIPLE_COILS:
    case FunctionCode.WRITE_MULTIPLE_REGISTERS:
      return 8;
    default:
      return 'unknown';
  }
}

interface RtuParserEvents {
  frame(unit: number, pdu: Uint8Array): void;
  /** A run of bytes was discarded: bad CRC, truncated frame or noise. Once per run. */
  error(reason: 'crc' | 'truncated' | 'overflow', bytes: number): void;
}

type RunReason = 'crc' | 'truncated' | 'overflow';

/**
 * Streaming reply parser. push() bytes as they arrive; call silence() when the line has been
 * quiet for the inter-frame time (the transport owns the timer). Never throws; holds at most
 * RTU_MAX_ADU bytes.
 */
export class RtuReplyParser {
  private readonly buf = new Uint8Array(RTU_MAX_ADU);
  private len = 0;
  /** Bytes discarded in the current noise run, and why the run started. */
  private discarded = 0;
  private runReason: RunReason | null = null;
  /**
   * Whether a frame whose function this parser cannot size may be a reply (framed by silence).
   * Off while a standard request is in flight: such a head is then noise and is skipped at once
   * instead of blocking the scan until the line goes quiet. The transport sets it per request.
   */
  acceptUnknownFunctions = false;
  /**
   * The reply being waited for (unit and request function). A partial frame that starts like a
   * reply to it — from that unit, or from another one answering the same function (to be dropped
   * as the wrong unit once whole, not miscounted as a CRC error) — is kept across a silence instead
   * of being discarded: under load the silence timer can fire before bytes already in flight are
   * read (or a USB adapter pauses mid-frame). The request's timeout still bounds it.
   */
  awaiting: { readonly unit: number; readonly fc: number } | null = null;

  constructor(private readonly on: RtuParserEvents) {}

  get buffered(): number {
    return this.len;
  }

  push(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length; ) {
      const room = RTU_MAX_ADU - this.len;
      if (room === 0) {
        // No reply is longer than 256 bytes, so the head of a full buffer cannot start a frame.
        this.drop(1, 'overflow');
        continue;
      }
      const n = Math.min(room, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.len);
      this.len += n;
      off += n;
      this.scan();
    }
  }

  /**
   * The line went quiet: end an unknown-length frame (if its CRC holds), otherwise slide through
   * what is left looking for a frame behind the noise, then discard the rest.
   */
  silence(): void {
    if (this.isAwaitedPrefix()) return;
    while (this.len > 0) {
      const need = replyAduLength(this.buf.subarray(0, this.len));
      if (need === 'unknown' && this.acceptUnknownFunctions && this.crcOk(this.len)) {
        this.endRun();
        this.emitFrame(this.len);
        continue;
      }
      this.drop(1, typeof need === 'number' && need <= RTU_MAX_ADU && this.len < need ? 'truncated' : 'crc');
      this.scan();
      // Noise in front of the awaited reply's first bytes: the noise is a run of its own, the
      // reply's start is kept for the bytes still on their way (a silence can fall mid-reply).
      if (this.isAwaitedPrefix()) break;
    }
    this.endRun();
  }

  private isAwaitedPrefix(): boolean {
    const a = this.awaiting;
    const unit = this.buf[0];
    if (a === null || unit === undefined || this.len === 0 || unit < 1 || unit > RTU_MAX_UNIT) return false;
    if (this.len === 1) return unit === a.unit;
    if (this.buf[1] !== a.fc && this.buf[1] !== (a.fc | EXCEPTION_FLAG)) return false;
    const need = replyAduLength(this.buf.subarray(0, this.len));
    // A reply whose length the function does not say (e.g. 43/14 device identification) ends at a
    // silence when its CRC holds; one that does not hold yet is kept for the bytes still coming.
    if (need === 'unknown') return unit === a.unit && !this.crcOk(this.len);
    return need === 'more' || (typeof need === 'number' && need <= RTU_MAX_ADU && this.len < need);
  }

  /** Forget everything buffered (before a new request). */
  reset(): void {
    this.len = 0;
    this.discarded = 0;
    this.runReason = null;
    this.awaiting = null;
  }

  private scan(): void {
    while (this.len >= 2) {
      const need = replyAduLength(this.buf.subarray(0, this.len));
      if (need === 'unknown' && !this.acceptUnknownFunctions) {
        this.drop(1, 'crc');
        continue;
      }
      if (need === 'more' || need === 'unknown') return;
      if (need > RTU_MAX_ADU) {
        this.drop(1, 'crc'); // a byte count no reply can have: not a frame start
        continue;
      }
      if (this.len < need) return;
      if (this.crcOk(need)) {
        this.endRun();
        this.emitFrame(need);
      } else {
        this.drop(1, 'crc'); // resync: a frame may start at the next byte
      }
    }
  }

  private crcOk(n: number): boolean {
    if (n < 4) return false;
    return crc16modbus(this.buf, 0, n - 2) === (this.buf[n - 2]! | (this.buf[n - 1]! << 8));
  }

  private emitFrame(n: number): void {
    const unit = this.buf[0]!;
    const pdu = this.buf.slice(1, n - 2);
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
    this.on.frame(unit, pdu);
  }

  private drop(n: number, reason: RunReason): void {
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
    this.discarded += n;
    this.runReason ??= reason;
  }

  private endRun(): void {
    if (this.discarded === 0) return;
    const n = this.discarded;
    const reason = this.runReason ?? 'crc';
    this.discarded = 0;
    this.runReason = null;
    this.on.error(reason, n);
  }
}
