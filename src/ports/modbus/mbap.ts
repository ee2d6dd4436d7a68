// Modbus TCP framing (Modbus Messaging on TCP/IP Implementation Guide V1.0b §3.1.3):
// ADU = MBAP header | PDU, header = transaction id (u16be) | protocol id (u16be, 0 = Modbus) |
// length (u16be, bytes that follow: unit id + PDU) | unit id (u8).
//
// TCP has no CRC and no silence, so the length field is the only framing: a length outside
// 2..254 (unit + a 1..253-byte PDU) means the stream is out of step and cannot be resynced; the
// parser then reports `desync` and the transport drops the connection and reconnects.

import { CommonCode, DecodeError } from '../../lib/errors.js';
import { MAX_PDU, TCP_MAX_ADU } from './vocabulary.js';

const MBAP_HEADER = 7;

export interface MbapFrame {
  readonly transactionId: number;
  readonly protocolId: number;
  readonly unit: number;
  readonly pdu: Uint8Array;
}

export function encodeMbap(f: MbapFrame): Uint8Array {
  const { transactionId: tid, protocolId: pid, unit, pdu } = f;
  if (!Number.isInteger(tid) || tid < 0 || tid > 0xffff) throw new DecodeError(CommonCode.DECODE_VALUE, `mbap: transaction id must be 0..65535, got ${tid}`);
  if (!Number.isInteger(pid) || pid < 0 || pid > 0xffff) throw new DecodeError(CommonCode.DECODE_VALUE, `mbap: protocol id must be 0..65535, got ${pid}`);
  if (!Number.isInteger(unit) || unit < 0 || unit > 0xff) throw new DecodeError(CommonCode.DECODE_VALUE, `mbap: unit must be 0..255, got ${unit}`);
  if (pdu.length < 1 || pdu.length > MAX_PDU) throw new DecodeError(CommonCode.DECODE_LENGTH, `mbap: pdu must be 1..${MAX_PDU} bytes, got ${pdu.length}`);
  const out = new Uint8Array(MBAP_HEADER + pdu.length);
  const len = pdu.length + 1;
  out.set([tid >> 8, tid & 0xff, pid >> 8, pid & 0xff, len >> 8, len & 0xff, unit]);
  out.set(pdu, MBAP_HEADER);
  return out;
}

/** Length of the ADU starting at buf[0]: a number, 'more', or 'bad' for an impossible length field. */
function mbapAduLength(buf: Uint8Array): number | 'more' | 'bad' {
  if (buf.length < 6) return 'more';
  const len = (buf[4]! << 8) | buf[5]!;
  if (len < 2 || len > MAX_PDU + 1) return 'bad';
  return 6 + len;
}

/** Exactly one ADU; rejects trailing bytes. Throws only DecodeError. */
export function decodeMbap(adu: Uint8Array): MbapFrame {
  const n = mbapAduLength(adu);
  if (n === 'more') throw new DecodeError(CommonCode.DECODE_TRUNCATED, `mbap: need at least ${MBAP_HEADER} bytes, got ${adu.length}`);
  if (n === 'bad') throw new DecodeError(CommonCode.DECODE_LENGTH, `mbap: length field must be 2..${MAX_PDU + 1}, got ${(adu[4]! << 8) | adu[5]!}`);
  if (adu.length < n) throw new DecodeError(CommonCode.DECODE_TRUNCATED, `mbap: length field says ${n} bytes, got ${adu.length}`);
  if (adu.length > n) throw new DecodeError(CommonCode.DECODE_TRAILING, `mbap: ${adu.length - n} trailing bytes after the frame`);
  return {
    transactionId: (adu[0]! << 8) | adu[1]!,
    protocolId: (adu[2]! << 8) | adu[3]!,
    unit: adu[6]!,
    pdu: adu.slice(MBAP_HEADER, n),
  };
}

/**
 * Streaming parser over a TCP byte stream. Never throws; holds at most one ADU (260 bytes).
 * A `frame` handler that returns false stops the parse right after that frame: push() returns how
 * many bytes of `chunk` it took, so a server that cannot answer more yet (its replies are not being
 * read) pushes the rest later instead of answering every frame already buffered.
 */
export class MbapParser {
  private readonly buf = new Uint8Array(TCP_MAX_ADU);
  private len = 0;
  private broken = false;

  constructor(private readonly on: { frame(f: MbapFrame): unknown; desync(): void }) {}

  push(chunk: Uint8Array): number {
    let off = 0;
    while (off < chunk.length && !this.broken) {
      const need = mbapAduLength(this.buf.subarray(0, this.len));
      if (need === 'bad') return (this.fail(), chunk.length);
      const want = need === 'more' ? 6 - this.len : need - this.len;
      const n = Math.min(want, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.len);
      this.len += n;
      off += n;
      const now = mbapAduLength(this.buf.subarray(0, this.len));
      if (now === 'bad') return (this.fail(), chunk.length);
      if (typeof now === 'number' && this.len === now) {
        const frame = decodeMbap(this.buf.subarray(0, now));
        this.len = 0;
        if (this.on.frame(frame) === false) return off;
      }
    }
    return chunk.length;
  }

  private fail(): void {
    this.broken = true;
    this.len = 0;
    this.on.desync();
  }
}
