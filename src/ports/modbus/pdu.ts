// Master-side Modbus PDUs (Modbus Application Protocol V1.1b3 §6): building requests for the
// four tables and checking replies strictly. A reply is accepted only if it answers *this*
// request: same function code (or its exception, fc | 0x80), the byte count the requested
// quantity implies, and for writes the exact echo of address and value/quantity (§6.5/6.6/6.11/
// 6.12). Anything else is a mismatch the transports drop, so a stale reply to an earlier,
// timed-out request on the same unit can never be taken for the current one.

import { CommonCode, DecodeError, LocalError } from '../../lib/errors.js';
import { COIL_OFF, COIL_ON, EXCEPTION_FLAG, FunctionCode, isBitTable, MAX_ADDRESS, MAX_PDU, MAX_WRITE_BITS, MAX_WRITE_REGISTERS, maxReadCount, READ_FUNCTION, type Table, type WritableTable } from './vocabulary.js';

function usage(msg: string): LocalError {
  return new LocalError(CommonCode.USAGE, msg);
}

function checkRange(addr: number, count: number, max: number, what: string): void {
  if (!Number.isInteger(addr) || addr < 0 || addr > MAX_ADDRESS) throw usage(`${what}: address must be an integer 0..${MAX_ADDRESS}, got ${addr}`);
  if (!Number.isInteger(count) || count < 1 || count > max) throw usage(`${what}: count must be an integer 1..${max}, got ${count}`);
  if (addr + count > MAX_ADDRESS + 1) throw usage(`${what}: ${addr}+${count} runs past address ${MAX_ADDRESS}`);
}

/** §6.1-6.4: fc | start (u16) | quantity (u16). */
export function readRequest(table: Table, addr: number, count: number): Uint8Array {
  checkRange(addr, count, maxReadCount(table), `read ${table}`);
  return u8(READ_FUNCTION[table], addr >> 8, addr & 0xff, count >> 8, count & 0xff);
}

/**
 * §6.5/6.6 for one value (fc 5/6), §6.11/6.12 for several (fc 15/16). Coil values are truthy/
 * falsy; register values must be integers 0..65535.
 */
export function writeRequest(table: WritableTable, addr: number, values: readonly (number | boolean)[], forceMultiple = false): Uint8Array {
  const bits = table === 'coils';
  checkRange(addr, values.length, bits ? MAX_WRITE_BITS : MAX_WRITE_REGISTERS, `write ${table}`);
  const regs = values.map((v, i) => {
    if (bits) return v ? 1 : 0;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) throw usage(`write holding: value ${i} must be an integer 0..65535, got ${String(v)}`);
    return v;
  });
  if (regs.length === 1 && !forceMultiple) {
    const v = bits ? (regs[0] ? COIL_ON : COIL_OFF) : regs[0]!;
    return u8(bits ? FunctionCode.WRITE_SINGLE_COIL : FunctionCode.WRITE_SINGLE_REGISTER, addr >> 8, addr & 0xff, v >> 8, v & 0xff);
  }
  const n = regs.length;
  const data = bits ? packBits(regs) : packRegisters(regs);
  const head = u8(bits ? FunctionCode.WRITE_MULTIPLE_COILS : FunctionCode.WRITE_MULTIPLE_REGISTERS, addr >> 8, addr & 0xff, n >> 8, n & 0xff, data.length);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

/** §7: exception reply = fc | 0x80, exception code. */
export function exceptionPdu(functionCode: number, exceptionCode: number): Uint8Array {
  return u8((functionCode | EXCEPTION_FLAG) & 0xff, exceptionCode & 0xff);
}

/** The exception a reply carries for request function `fc`, or null if it is not an exception. */
export function exceptionOf(request: Uint8Array, reply: Uint8Array): number | null {
  const fc = request[0];
  if (fc === undefined || reply.length !== 2 || reply[0] !== (fc | EXCEPTION_FLAG)) return null;
  return reply[1]!;
}

/**
 * Does `reply` answer `request`? Exceptions of the same function always do. For the eight
 * standard functions the full structure is checked; other functions (raw passthrough) need only
 * the same function code, since their layout is the requester's business.
 */
export function replyMatches(request: Uint8Array, reply: Uint8Array): boolean {
  const fc = request[0];
  if (fc === undefined || reply.length < 1 || reply.length > MAX_PDU) return false;
  if (exceptionOf(request, reply) !== null) return true;
  if (reply[0] !== fc) return false;
  switch (fc) {
    case FunctionCode.READ_COILS:
    case FunctionCode.READ_DISCRETE_INPUTS:
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS: {
      if (request.length !== 5) return reply.length >= 2 && reply[1] === reply.length - 2;
      const count = (request[3]! << 8) | request[4]!;
      const bytes = fc <= FunctionCode.READ_DISCRETE_INPUTS ? Math.ceil(count / 8) : count * 2;
      return reply.length === 2 + bytes && reply[1] === bytes;
    }
    case FunctionCode.WRITE_SINGLE_COIL:
    case FunctionCode.WRITE_SINGLE_REGISTER:
      // §6.5/6.6: the normal response is an echo of the request.
      return reply.length === 5 && equalBytes(reply, request.subarray(0, 5));
    case FunctionCode.WRITE_MULTIPLE_COILS:
    case FunctionCode.WRITE_MULTIPLE_REGISTERS:
      // §6.11/6.12: function, starting address, quantity.
      return reply.length === 5 && equalBytes(reply, request.subarray(0, 5));
    default:
      return true;
  }
}

/**
 * Values of a read reply that replyMatches() accepted: registers as u16, bits as 0/1 (§6.1: bit
 * 0 of the first data byte is the lowest address; padding bits of the last byte are ignored).
 * Throws DecodeError if the reply is not a well-formed answer to a `count`-item read of `table`.
 */
export function decodeReadReply(table: Table, count: number, reply: Uint8Array): number[] {
  const fc = READ_FUNCTION[table];
  if (reply[0] !== fc) throw new DecodeError(CommonCode.DECODE_VALUE, `read ${table}: expected function 0x${fc.toString(16)}, got 0x${(reply[0] ?? 0).toString(16)}`);
  const bytes = isBitTable(table) ? Math.ceil(count / 8) : count * 2;
  if (reply.length !== 2 + bytes || reply[1] !== bytes) throw new DecodeError(CommonCode.DECODE_LENGTH, `read ${table}: expected ${bytes} data bytes for ${count} items, got byte count ${reply[1] ?? 'none'} in ${reply.length} bytes`);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    out[i] = isBitTable(table) ? (reply[2 + (i >> 3)]! >> (i & 7)) & 1 : (reply[2 + 2 * i]! << 8) | reply[3 + 2 * i]!;
  }
  return out;
}

/** Bits into bytes, lowest address in bit 0 of the first byte (§6.11). */
export function packBits(bits: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

function packRegisters(regs: readonly number[]): Uint8Array {
  const out = new Uint8Array(regs.length * 2);
  regs.forEach((r, i) => {
    out[2 * i] = r >> 8;
    out[2 * i + 1] = r & 0xff;
  });
  return out;
}

function u8(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
