// Asks a Modbus slave who it is: Read Device Identification (Modbus Application Protocol V1.1b3
// §6.21, function 0x2B / MEI 0x0E, read code 01 "basic": objects 0x00 VendorName, 0x01 ProductCode,
// 0x02 MajorMinorRevision). The answer becomes the slot's device identity claim (RFC 9711 submods).
//
// Request PDU:  2B 0E 01 <object id>
// Response PDU: 2B 0E 01 <conformity> <more follows 00|FF> <next object id> <n> (<id> <len> <bytes>){n}

import type { DeviceIdentity } from './types.js';
import { CommonCode, DecodeError } from '../lib/errors.js';
import { PortErrorCode } from '../ports/errors.js';
import { EXCEPTION_FLAG, FunctionCode, MEI_READ_DEVICE_ID } from '../ports/modbus/vocabulary.js';

const FC = FunctionCode.ENCAPSULATED_INTERFACE_TRANSPORT;
const MEI = MEI_READ_DEVICE_ID;
const BASIC = 0x01;
/** A slave that keeps saying "more follows" is cut off after this many requests. */
const MAX_ROUNDS = 4;

function deviceIdRequest(objectId: number): Uint8Array {
  return Uint8Array.of(FC, MEI, BASIC, objectId & 0xff);
}

interface DeviceIdPage {
  readonly objects: ReadonlyMap<number, Uint8Array>;
  /** Set when the slave has more objects: the id to ask for next. */
  readonly next?: number;
}

/** Parses one response PDU; throws DecodeError for anything not a well-formed 43/14 answer. */
export function parseDeviceIdResponse(pdu: Uint8Array): DeviceIdPage {
  if (pdu.length < 7) throw new DecodeError(CommonCode.DECODE_TRUNCATED, `43/14 response: ${pdu.length} bytes, at least 7 expected`);
  if (pdu[0] === (FC | EXCEPTION_FLAG)) throw new DecodeError(CommonCode.DECODE_VALUE, `43/14: exception 0x${pdu[1]?.toString(16).padStart(2, '0') ?? '??'}`);
  if (pdu[0] !== FC || pdu[1] !== MEI) throw new DecodeError(CommonCode.DECODE_TYPE, '43/14 response: not function 0x2B / MEI 0x0E');
  if (pdu[2] !== BASIC) throw new DecodeError(CommonCode.DECODE_VALUE, `43/14 response: read code ${pdu[2]}, asked for 1`);
  const more = pdu[4]!;
  if (more !== 0x00 && more !== 0xff) throw new DecodeError(CommonCode.DECODE_VALUE, `43/14 response: more-follows 0x${more.toString(16)}`);
  const n = pdu[6]!;
  const objects = new Map<number, Uint8Array>();
  let off = 7;
  for (let i = 0; i < n; i++) {
    if (off + 2 > pdu.length) throw new DecodeError(CommonCode.DECODE_TRUNCATED, `43/14 response: object ${i} header truncated`);
    const id = pdu[off]!;
    const len = pdu[off + 1]!;
    off += 2;
    if (off + len > pdu.length) throw new DecodeError(CommonCode.DECODE_TRUNCATED, `43/14 response: object 0x${id.toString(16)} truncated`);
    if (objects.has(id)) throw new DecodeError(CommonCode.DECODE_VALUE, `43/14 response: object 0x${id.toString(16)} twice`);
    objects.set(id, pdu.subarray(off, off + len));
    off += len;
  }
  if (off !== pdu.length) throw new DecodeError(CommonCode.DECODE_TRAILING, `43/14 response: ${pdu.length - off} trailing bytes`);
  return { objects, ...(more === 0xff ? { next: pdu[5]! } : {}) };
}

/** Printable rendering of an object's bytes (the standard says ASCII; anything else is shown escaped). */
function text(b: Uint8Array | undefined): string | undefined {
  if (b === undefined) return undefined;
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}

/**
 * Reads the basic identity of `unit`. Resolves undefined when the slave does not implement 43/14
 * (exception reply), gives an ill-formed answer or lacks one of the three mandatory objects; rejects
 * only when the request itself fails (timeout, bus down) so the caller can tell "cannot say" from "gone".
 */
export async function readDeviceIdentity(request: (unit: number, pdu: Uint8Array) => Promise<Uint8Array>, unit: number): Promise<DeviceIdentity | undefined> {
  const objects = new Map<number, Uint8Array>();
  let next = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let page: DeviceIdPage;
    try {
      page = parseDeviceIdResponse(await request(unit, deviceIdRequest(next)));
    } catch (e) {
      if (e instanceof DecodeError || (e as { code?: string }).code === PortErrorCode.MODBUS_EXCEPTION) return undefined;
      throw e;
    }
    for (const [k, v] of page.objects) objects.set(k, v);
    if (page.next === undefined || page.next <= next) break;
    next = page.next;
  }
  const vendor = text(objects.get(0x00));
  const product = text(objects.get(0x01));
  const revision = text(objects.get(0x02));
  if (vendor === undefined || product === undefined || revision === undefined) return undefined;
  return { vendor, product, revision };
}
