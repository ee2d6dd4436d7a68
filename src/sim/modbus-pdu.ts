// Own codec, independent of src/ports/modbus/ on purpose: the simulators are its test peer.
// Modbus PDUs (Modbus Application Protocol V1.1b3 §6): requests and responses of the functions the
// simulated slaves serve — 1, 2, 3, 4, 5, 6, 15, 16 and 43/14 (Read Device Identification). The
// decoders check structure only (lengths, byte counts, trailing bytes) and throw only DecodeError;
// range rules that the spec answers with an exception (quantity 1..125 ...) are the slave's job.

import { Reader, Writer } from '../uzp/bytes.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

/** §6.21: MEI type 14 = Read Device Identification. */
export const MEI_READ_DEVICE_ID = 0x0e;
/** §6.5: the only two legal values of Write Single Coil. */
export const COIL_ON = 0xff00;
export const COIL_OFF = 0x0000;

type ReadFn = 1 | 2 | 3 | 4;

export type ModbusRequest =
  | { readonly fn: ReadFn; readonly address: number; readonly quantity: number }
  | { readonly fn: 5 | 6; readonly address: number; readonly value: number }
  | { readonly fn: 15; readonly address: number; readonly values: readonly boolean[] }
  | { readonly fn: 16; readonly address: number; readonly values: readonly number[] }
  | { readonly fn: 43; readonly meiType: 14; readonly readDeviceIdCode: number; readonly objectId: number };

export interface DeviceIdObject {
  readonly id: number;
  readonly value: Uint8Array;
}

export type ModbusResponse =
  | { readonly fn: 1 | 2; readonly data: Uint8Array }
  | { readonly fn: 3 | 4; readonly registers: readonly number[] }
  | { readonly fn: 5 | 6; readonly address: number; readonly value: number }
  | { readonly fn: 15 | 16; readonly address: number; readonly quantity: number }
  | {
      readonly fn: 43;
      readonly meiType: 14;
      readonly readDeviceIdCode: number;
      readonly conformityLevel: number;
      readonly moreFollows: boolean;
      readonly nextObjectId: number;
      readonly objects: readonly DeviceIdObject[];
    };

/** §7: an exception response carries the function code with the high bit set and one code byte. */
export interface ModbusException {
  readonly fn: number;
  readonly exception: number;
}

export function isException(r: ModbusResponse | ModbusException): r is ModbusException {
  return 'exception' in r;
}

/** §6.1: coils are packed LSB first, the last byte zero-padded. */
export function packBits(bits: readonly boolean[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

export function unpackBits(data: Uint8Array, quantity: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < quantity && i >> 3 < data.length; i++) out.push(((data[i >> 3]! >> (i & 7)) & 1) === 1);
  return out;
}

export function encodeRequest(r: ModbusRequest): Uint8Array {
  const w = new Writer(16).u8(r.fn);
  switch (r.fn) {
    case 1:
    case 2:
    case 3:
    case 4:
      return w.u16(r.address).u16(r.quantity).finish();
    case 5:
    case 6:
      return w.u16(r.address).u16(r.value).finish();
    case 15: {
      const data = packBits(r.values);
      return w.u16(r.address).u16(r.values.length).u8(data.length).bytes(data).finish();
    }
    case 16:
      w.u16(r.address).u16(r.values.length).u8(r.values.length * 2);
      for (const v of r.values) w.u16(v);
      return w.finish();
    case 43:
      return w.u8(r.meiType).u8(r.readDeviceIdCode).u8(r.objectId).finish();
  }
}

export function decodeRequest(pdu: Uint8Array): ModbusRequest {
  const r = new Reader(pdu);
  const fn = r.u8('function code');
  let req: ModbusRequest;
  switch (fn) {
    case 1:
    case 2:
    case 3:
    case 4:
      req = { fn, address: r.u16('starting address'), quantity: r.u16('quantity') };
      break;
    case 5:
    case 6:
      req = { fn, address: r.u16('output address'), value: r.u16('output value') };
      break;
    case 15: {
      const address = r.u16('starting address');
      const quantity = r.u16('quantity of outputs');
      const count = r.u8('byte count');
      if (quantity === 0 || count !== Math.ceil(quantity / 8)) {
        throw new DecodeError(CommonCode.DECODE_LENGTH, `write multiple coils: byte count ${count} does not fit quantity ${quantity}`);
      }
      req = { fn, address, values: unpackBits(r.bytes(count, 'outputs value'), quantity) };
      break;
    }
    case 16: {
      const address = r.u16('starting address');
      const quantity = r.u16('quantity of registers');
      const count = r.u8('byte count');
      if (quantity === 0 || count !== quantity * 2) {
        throw new DecodeError(CommonCode.DECODE_LENGTH, `write multiple registers: byte count ${count} does not fit quantity ${quantity}`);
      }
      const values: number[] = [];
      for (let i = 0; i < quantity; i++) values.push(r.u16('registers value'));
      req = { fn, address, values };
      break;
    }
    case 43: {
      const mei = r.u8('MEI type');
      if (mei !== MEI_READ_DEVICE_ID) throw new DecodeError(CommonCode.DECODE_VALUE, `MEI type ${mei} is not Read Device Identification (14)`);
      req = { fn, meiType: MEI_READ_DEVICE_ID, readDeviceIdCode: r.u8('read device id code'), objectId: r.u8('object id') };
      break;
    }
    default:
      throw new DecodeError(CommonCode.DECODE_VALUE, `function code ${fn} is not served by the simulator`);
  }
  r.end('request PDU');
  return req;
}

export function encodeResponse(r: ModbusResponse | ModbusException): Uint8Array {
  if (isException(r)) return new Uint8Array([(r.fn | 0x80) & 0xff, r.exception]);
  const w = new Writer(32).u8(r.fn);
  switch (r.fn) {
    case 1:
    case 2:
      return w.u8(r.data.length).bytes(r.data).finish();
    case 3:
    case 4:
      w.u8(r.registers.length * 2);
      for (const v of r.registers) w.u16(v);
      return w.finish();
    case 5:
    case 6:
      return w.u16(r.address).u16(r.value).finish();
    case 15:
    case 16:
      return w.u16(r.address).u16(r.quantity).finish();
    case 43:
      w.u8(r.meiType).u8(r.readDeviceIdCode).u8(r.conformityLevel).u8(r.moreFollows ? 0xff : 0x00).u8(r.nextObjectId).u8(r.objects.length);
      for (const o of r.objects) w.u8(o.id).u8(o.value.length).bytes(o.value);
      return w.finish();
  }
}

export function decodeResponse(pdu: Uint8Array): ModbusResponse | ModbusException {
  const r = new Reader(pdu);
  const fn = r.u8('function code');
  let res: ModbusResponse | ModbusException;
  if (fn & 0x80) {
    res = { fn: fn & 0x7f, exception: r.u8('exception code') };
  } else {
    switch (fn) {
      case 1:
      case 2:
        res = { fn, data: r.bytes(r.u8('byte count'), 'status').slice() };
        break;
      case 3:
      case 4: {
        const count = r.u8('byte count');
        if (count % 2 !== 0) throw new DecodeError(CommonCode.DECODE_LENGTH, `register response: odd byte count ${count}`);
        const registers: number[] = [];
        for (let i = 0; i < count / 2; i++) registers.push(r.u16('register value'));
        res = { fn, registers };
        break;
      }
      case 5:
      case 6:
        res = { fn, address: r.u16('output address'), value: r.u16('output value') };
        break;
      case 15:
      case 16:
        res = { fn, address: r.u16('starting address'), quantity: r.u16('quantity') };
        break;
      case 43:
        res = decodeDeviceIdResponse(r);
        break;
      default:
        throw new DecodeError(CommonCode.DECODE_VALUE, `function code ${fn} is not served by the simulator`);
    }
  }
  r.end('response PDU');
  return res;
}

function decodeDeviceIdResponse(r: Reader): ModbusResponse {
  const mei = r.u8('MEI type');
  if (mei !== MEI_READ_DEVICE_ID) throw new DecodeError(CommonCode.DECODE_VALUE, `MEI type ${mei} is not Read Device Identification (14)`);
  const readDeviceIdCode = r.u8('read device id code');
  const conformityLevel = r.u8('conformity level');
  const more = r.u8('more follows');
  if (more !== 0x00 && more !== 0xff) throw new DecodeError(CommonCode.DECODE_VALUE, `more follows: expected 0x00 or 0xFF, got ${more}`);
  const nextObjectId = r.u8('next object id');
  const n = r.u8('number of objects');
  const objects: DeviceIdObject[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u8('object id');
    objects.push({ id, value: r.bytes(r.u8('object length'), 'object value').slice() });
  }
  return { fn: 43, meiType: MEI_READ_DEVICE_ID, readDeviceIdCode, conformityLevel, moreFollows: more === 0xff, nextObjectId, objects };
}
