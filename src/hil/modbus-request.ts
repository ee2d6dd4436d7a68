// Classifies a Modbus request PDU (function code + data, no unit id, no CRC/MBAP) into the register
// accesses it performs, so the HIL broker can hold every request against the Grant before it
// reaches the bus. Bounds follow the Modbus Application Protocol Specification V1.1b3 §6; the
// numbers and names come from the one Modbus vocabulary (ports/modbus/vocabulary.ts).
// Anything the HIL does not understand is refused rather than passed through: an unknown function
// could write (draft §4.3: never generalise authority).

import {
  COIL_OFF,
  COIL_ON,
  ExceptionCode,
  FunctionCode,
  MAX_ADDRESS,
  MAX_READ_WRITE_READ_REGISTERS,
  MAX_READ_WRITE_WRITE_REGISTERS,
  MAX_WRITE_BITS,
  MAX_WRITE_REGISTERS,
  maxReadCount,
  MEI_READ_DEVICE_ID,
  READ_FUNCTION,
  type Table,
} from '../ports/modbus/vocabulary.js';

export interface RegisterAccess {
  readonly access: 'read' | 'write';
  readonly table: Table;
  readonly addr: number;
  readonly count: number;
}

type PduClass =
  | { readonly ok: true; readonly fn: number; readonly accesses: readonly RegisterAccess[]; readonly deviceId?: true }
  | { readonly ok: false; readonly fn: number; readonly exception: number; readonly reason: string };

/** §6.1-6.4: the table each read function reads, and the most items one read may ask for. */
const READS: ReadonlyMap<number, { table: Table; max: number }> = new Map(
  (Object.entries(READ_FUNCTION) as [Table, number][]).map(([table, fn]) => [fn, { table, max: maxReadCount(table) }]),
);

function u16(p: Uint8Array, o: number): number {
  return (p[o]! << 8) | p[o + 1]!;
}

function refuse(fn: number, exception: number, reason: string): PduClass {
  return { ok: false, fn, exception, reason };
}

/** One range check for every function: 1..max items, not past address 0xFFFF. */
function range(fn: number, access: RegisterAccess['access'], table: Table, addr: number, count: number, max: number): PduClass | RegisterAccess {
  if (count < 1 || count > max) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `quantity ${count} not in 1..${max}`);
  if (addr + count > MAX_ADDRESS + 1) return refuse(fn, ExceptionCode.ILLEGAL_DATA_ADDRESS, `address ${addr}+${count} past ${MAX_ADDRESS}`);
  return { access, table, addr, count };
}

export function classifyPdu(pdu: Uint8Array): PduClass {
  if (pdu.length === 0) return refuse(0, ExceptionCode.ILLEGAL_FUNCTION, 'empty PDU');
  const fn = pdu[0]!;
  const one = (r: PduClass | RegisterAccess, len: number): PduClass =>
    'access' in r ? (pdu.length === len ? { ok: true, fn, accesses: [r] } : refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected ${len}`)) : r;
  const read = READS.get(fn);
  if (read !== undefined) {
    if (pdu.length !== 5) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 5`);
    return one(range(fn, 'read', read.table, u16(pdu, 1), u16(pdu, 3), read.max), 5);
  }
  switch (fn) {
    case FunctionCode.WRITE_SINGLE_COIL: {
      if (pdu.length !== 5) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 5`);
      const v = u16(pdu, 3);
      if (v !== COIL_ON && v !== COIL_OFF) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'coil value must be 0xFF00 or 0x0000');
      return one(range(fn, 'write', 'coils', u16(pdu, 1), 1, 1), 5);
    }
    case FunctionCode.WRITE_SINGLE_REGISTER:
      if (pdu.length !== 5) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 5`);
      return one(range(fn, 'write', 'holding', u16(pdu, 1), 1, 1), 5);
    case FunctionCode.WRITE_MULTIPLE_COILS:
    case FunctionCode.WRITE_MULTIPLE_REGISTERS: {
      if (pdu.length < 6) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'PDU too short');
      const count = u16(pdu, 3);
      const bytes = pdu[5]!;
      const coils = fn === FunctionCode.WRITE_MULTIPLE_COILS;
      const expected = coils ? Math.ceil(count / 8) : count * 2;
      if (bytes !== expected) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `byte count ${bytes}, expected ${expected}`);
      return one(range(fn, 'write', coils ? 'coils' : 'holding', u16(pdu, 1), count, coils ? MAX_WRITE_BITS : MAX_WRITE_REGISTERS), 6 + bytes);
    }
    case FunctionCode.READ_WRITE_MULTIPLE_REGISTERS: {
      // Read/Write Multiple Registers: a write then a read of holding registers (spec §6.17).
      if (pdu.length < 10) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'PDU too short');
      const r = range(fn, 'read', 'holding', u16(pdu, 1), u16(pdu, 3), MAX_READ_WRITE_READ_REGISTERS);
      const wCount = u16(pdu, 7);
      const w = range(fn, 'write', 'holding', u16(pdu, 5), wCount, MAX_READ_WRITE_WRITE_REGISTERS);
      if (!('access' in r)) return r;
      if (!('access' in w)) return w;
      if (pdu[9] !== wCount * 2 || pdu.length !== 10 + wCount * 2) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'byte count mismatch');
      return { ok: true, fn, accesses: [w, r] };
    }
    case FunctionCode.ENCAPSULATED_INTERFACE_TRANSPORT:
      // Encapsulated Interface Transport: only MEI 0x0E, Read Device Identification, a read.
      if (pdu.length === 4 && pdu[1] === MEI_READ_DEVICE_ID) return { ok: true, fn, accesses: [], deviceId: true };
      return refuse(fn, ExceptionCode.ILLEGAL_FUNCTION, 'only MEI type 0x0E (Read Device Identification) is relayed');
    default:
      return refuse(fn, ExceptionCode.ILLEGAL_FUNCTION, `function 0x${fn.toString(16).padStart(2, '0')} is not relayed`);
  }
}
