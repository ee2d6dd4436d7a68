// Read Device Identification (Modbus Application Protocol V1.1b3 §6.21, function 43 / MEI 14):
// the vendor, product code and revision a slave reports, which the attestation issue records
// per slot. Stream access (codes 1..3) and individual access (code 4), split across responses
// with More Follows when the objects do not fit one PDU.

import { utf8 } from '../uzp/bytes.js';
import { MEI_READ_DEVICE_ID, type DeviceIdObject, type ModbusException, type ModbusResponse } from './modbus-pdu.js';
import { MAX_PDU } from './modbus-rtu-frame.js';
import { EXCEPTION } from './modbus-exceptions.js';
import { CommonCode, LocalError } from '../lib/errors.js';

/** §6.21 Table "Device identification objects": 0..2 basic (mandatory), 3..6 regular (optional). */
export interface DeviceIdentity {
  readonly vendorName: string;
  readonly productCode: string;
  readonly revision: string;
  readonly vendorUrl?: string;
  readonly productName?: string;
  readonly modelName?: string;
  readonly userApplicationName?: string;
  /** Extended objects 0x80..0xFF, vendor specific. */
  readonly extended?: Readonly<Record<number, string>>;
}

/** Read Device ID codes. */
export const READ_DEVICE_ID = { BASIC: 1, REGULAR: 2, EXTENDED: 3, INDIVIDUAL: 4 } as const;

/** Objects longer than this could not share a response with the 7-byte header (253 - 7 - 2). */
const MAX_OBJECT_BYTES = MAX_PDU - 9;

/** The identity as numbered objects, ascending by id. */
export function deviceIdObjects(id: DeviceIdentity): DeviceIdObject[] {
  const named: [number, string | undefined][] = [
    [0x00, id.vendorName],
    [0x01, id.productCode],
    [0x02, id.revision],
    [0x03, id.vendorUrl],
    [0x04, id.productName],
    [0x05, id.modelName],
    [0x06, id.userApplicationName],
  ];
  for (const [k, v] of Object.entries(id.extended ?? {})) {
    const n = Number(k);
    if (!Number.isInteger(n) || n < 0x80 || n > 0xff) throw new LocalError(CommonCode.USAGE, `device identity: extended object id ${k} is not in 0x80..0xFF`);
    named.push([n, v]);
  }
  const out: DeviceIdObject[] = [];
  for (const [objId, v] of named) {
    if (v === undefined) continue;
    const value = utf8.encode(v);
    if (value.length > MAX_OBJECT_BYTES) throw new LocalError(CommonCode.USAGE, `device identity: object ${objId} is ${value.length} bytes, at most ${MAX_OBJECT_BYTES}`);
    out.push({ id: objId, value });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Highest object id in each stream category: basic 0..2, regular 0..0x7F, extended 0..0xFF. */
const CATEGORY_END: Record<number, number> = { 1: 0x02, 2: 0x7f, 3: 0xff };

/** Serves one 43/14 request from `objects` (ascending by id). */
export function readDeviceId(objects: readonly DeviceIdObject[], code: number, objectId: number): ModbusResponse | ModbusException {
  const conformityLevel = 0x80 | (objects.some((o) => o.id >= 0x80) ? 3 : objects.some((o) => o.id >= 0x03) ? 2 : 1);
  const base = { fn: 43, meiType: MEI_READ_DEVICE_ID, readDeviceIdCode: code, conformityLevel } as const;
  if (code === READ_DEVICE_ID.INDIVIDUAL) {
    // §6.21: individual access to an unknown object is exception 02.
    const o = objects.find((x) => x.id === objectId);
    if (o === undefined) return { fn: 43, exception: EXCEPTION.ILLEGAL_DATA_ADDRESS };
    return { ...base, moreFollows: false, nextObjectId: 0, objects: [o] };
  }
  const end = CATEGORY_END[code];
  if (end === undefined) return { fn: 43, exception: EXCEPTION.ILLEGAL_DATA_VALUE };
  const inCategory = objects.filter((o) => o.id <= end);
  // §6.21: a stream starting at an object the device does not have restarts at object 0.
  let start = inCategory.findIndex((o) => o.id === objectId);
  if (start < 0) start = 0;
  const out: DeviceIdObject[] = [];
  let room = MAX_PDU - 7;
  let i = start;
  for (; i < inCategory.length; i++) {
    const o = inCategory[i]!;
    if (2 + o.value.length > room) break;
    room -= 2 + o.value.length;
    out.push(o);
  }
  const next = inCategory[i];
  return { ...base, moreFollows: next !== undefined, nextObjectId: next?.id ?? 0, objects: out };
}
