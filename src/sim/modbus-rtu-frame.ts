// Modbus RTU framing (Modbus over Serial Line V1.02 §2.5.1): ADU = address (1) | PDU (1..253) |
// CRC-16 (2, low byte first). The simulators' own codec, independent of jsmodbus and of the
// gateway's port code, so a test that passes through both checks two implementations.

import { CommonCode, DecodeError } from '../lib/errors.js';
import { PortErrorCode } from '../ports/errors.js';

/** §2.5.1.1: an RTU frame is at most 256 bytes; the smallest is address + function + CRC. */
export const RTU_MAX_ADU = 256;
const RTU_MIN_ADU = 4;
/** Modbus Application Protocol V1.1b3 §4.1: the PDU is at most 253 bytes. */
export const MAX_PDU = 253;
/** §2.2: 0 is broadcast, 1..247 are slave addresses, 248..255 are reserved. */
export const BROADCAST_UNIT = 0;
export const MAX_UNIT = 247;

export interface RtuFrame {
  /** Slave address (0 = broadcast). */
  readonly unit: number;
  /** Function code and data. */
  readonly pdu: Uint8Array;
}

/**
 * CRC-16/MODBUS (§6.2.2 "CRC Generation"): reflected polynomial 0xA001, initial value 0xFFFF,
 * no final XOR. The wire carries the low byte first.
 */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export function encodeRtu(frame: RtuFrame): Uint8Array {
  const { unit, pdu } = frame;
  if (!Number.isInteger(unit) || unit < 0 || unit > MAX_UNIT) throw new DecodeError(CommonCode.DECODE_VALUE, `unit: expected 0..${MAX_UNIT}, got ${unit}`);
  if (pdu.length < 1 || pdu.length > MAX_PDU) throw new DecodeError(CommonCode.DECODE_LENGTH, `pdu: expected 1..${MAX_PDU} bytes, got ${pdu.length}`);
  const out = new Uint8Array(pdu.length + 3);
  out[0] = unit;
  out.set(pdu, 1);
  const crc = crc16(out.subarray(0, pdu.length + 1));
  out[pdu.length + 1] = crc & 0xff;
  out[pdu.length + 2] = crc >>> 8;
  return out;
}

/**
 * One whole RTU frame (the bytes between two t3.5 silences). Throws DecodeError: MODBUS_CRC on a
 * checksum mismatch (a real slave stays silent, §2.5.1.2), DECODE_LENGTH on a frame too short or too
 * long, DECODE_VALUE on a reserved address. The CRC covers every byte, so nothing can trail it.
 */
export function decodeRtu(adu: Uint8Array): RtuFrame {
  if (adu.length < RTU_MIN_ADU || adu.length > RTU_MAX_ADU) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `RTU frame: expected ${RTU_MIN_ADU}..${RTU_MAX_ADU} bytes, got ${adu.length}`);
  }
  const body = adu.subarray(0, adu.length - 2);
  const got = adu[adu.length - 2]! | (adu[adu.length - 1]! << 8);
  const want = crc16(body);
  if (got !== want) throw new DecodeError(PortErrorCode.MODBUS_CRC, `RTU frame: CRC ${hex4(got)} does not match ${hex4(want)}`);
  const unit = adu[0]!;
  if (unit > MAX_UNIT) throw new DecodeError(CommonCode.DECODE_VALUE, `RTU frame: address ${unit} is reserved (248..255)`);
  return { unit, pdu: adu.slice(1, adu.length - 2) };
}

function hex4(n: number): string {
  return '0x' + n.toString(16).padStart(4, '0');
}

/**
 * The least length the request frame starting with `head` must have, as far as its header says
 * (a tolerant framer waits out a gap inside a frame until then), or undefined when the function
 * is not one whose request length is defined here.
 */
export function expectedRequestLength(head: Uint8Array): number | undefined {
  const fn = head[1];
  if (fn === undefined) return RTU_MIN_ADU;
  if (fn >= 1 && fn <= 6) return 8; // address, function, 2 + 2 bytes, CRC
  if (fn === 15 || fn === 16) return head[6] === undefined ? 7 : 9 + head[6]; // ... byte count, data, CRC
  if (fn === 43) return 7; // address, 2B, 0E, ReadDevId code, object id, CRC
  return undefined;
}

/** Same for a response frame (read functions carry a byte count; exceptions are 5 bytes). */
export function expectedResponseLength(head: Uint8Array): number | undefined {
  const fn = head[1];
  if (fn === undefined) return RTU_MIN_ADU;
  if (fn & 0x80) return 5; // address, function | 0x80, exception code, CRC
  if (fn >= 1 && fn <= 4) return head[2] === undefined ? 3 : 5 + head[2];
  if (fn === 5 || fn === 6 || fn === 15 || fn === 16) return 8;
  if (fn === 43) return deviceIdResponseLength(head);
  return undefined;
}

/** 43/14 response: address, 2B, 0E, code, conformity, more, next, count, then (id, len, value)*, CRC. */
function deviceIdResponseLength(head: Uint8Array): number {
  const count = head[7];
  if (count === undefined) return 10;
  let off = 8;
  for (let i = 0; i < count; i++) {
    const len = head[off + 1];
    if (len === undefined) return off + 4; // this object's id and length, then the CRC, at least
    off += 2 + len;
  }
  return off + 2;
}
