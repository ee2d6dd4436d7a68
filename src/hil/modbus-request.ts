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

/** An access as the PDU states it, with the most items its function may ask for. */
interface Asked extends RegisterAccess {
  readonly max: number;
}

/**
 * The checks every function shares, in the order of the spec's state diagrams (§6.1-6.17): the
 * quantities of all accesses first (1..max, else 0x03), then their address ranges (not past
 * 0xFFFF, else 0x02). The PDU's length and byte count were checked before (0x03).
 */
function accessesOf(fn: number, asked: readonly Asked[]): PduClass {
  for (const a of asked) if (a.count < 1 || a.count > a.max) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `quantity ${a.count} not in 1..${a.max}`);
  for (const a of asked) if (a.addr + a.count > MAX_ADDRESS + 1) return refuse(fn, ExceptionCode.ILLEGAL_DATA_ADDRESS, `address ${a.addr}+${a.count} past ${MAX_ADDRESS}`);
  return { ok: true, fn, accesses: asked.map(({ access, table, addr, count }) => ({ access, table, addr, count })) };
}

/**
 * Classification order, the same for every function: the function (0x01), the PDU's length and
 * byte count (0x03: §7, "the implied length is incorrect"), the quantities (0x03), the address
 * ranges (0x02). docs/PROFILE.md "Exceptions with ILLEGAL_REQUEST" lists the cases.
 */
export function classifyPdu(pdu: Uint8Array): PduClass {
  if (pdu.length === 0) return refuse(0, ExceptionCode.ILLEGAL_FUNCTION, 'empty PDU');
  const fn = pdu[0]!;
  const badLength = (len: number): PduClass => refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected ${len}`);
  const read = READS.get(fn);
  if (read !== undefined) {
    if (pdu.length !== 5) return badLength(5);
    return accessesOf(fn, [{ access: 'read', table: read.table, addr: u16(pdu, 1), count: u16(pdu, 3), max: read.max }]);
  }
  switch (fn) {
    case FunctionCode.WRITE_SINGLE_COIL: {
      if (pdu.length !== 5) return badLength(5);
      const v = u16(pdu, 3);
      if (v !== COIL_ON && v !== COIL_OFF) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'coil value must be 0xFF00 or 0x0000');
      return accessesOf(fn, [{ access: 'write', table: 'coils', addr: u16(pdu, 1), count: 1, max: 1 }]);
    }
    case FunctionCode.WRITE_SINGLE_REGISTER:
      if (pdu.length !== 5) return badLength(5);
      return accessesOf(fn, [{ access: 'write', table: 'holding', addr: u16(pdu, 1), count: 1, max: 1 }]);
    case FunctionCode.WRITE_MULTIPLE_COILS:
    case FunctionCode.WRITE_MULTIPLE_REGISTERS: {
      if (pdu.length < 6) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'PDU too short');
      const count = u16(pdu, 3);
      const bytes = pdu[5]!;
      const coils = fn === FunctionCode.WRITE_MULTIPLE_COILS;
      const expected = coils ? Math.ceil(count / 8) : count * 2;
      if (bytes !== expected) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `byte count ${bytes}, expected ${expected}`);
      if (pdu.length !== 6 + bytes) return badLength(6 + bytes);
      return accessesOf(fn, [{ access: 'write', table: coils ? 'coils' : 'holding', addr: u16(pdu, 1), count, max: coils ? MAX_WRITE_BITS : MAX_WRITE_REGISTERS }]);
    }
    case FunctionCode.READ_WRITE_MULTIPLE_REGISTERS: {
      // Read/Write Multiple Registers: a write then a read of holding registers (spec §6.17).
      if (pdu.length < 10) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'PDU too short');
      const wCount = u16(pdu, 7);
      if (pdu[9] !== wCount * 2 || pdu.length !== 10 + wCount * 2) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, 'byte count mismatch');
      return accessesOf(fn, [
        { access: 'write', table: 'holding', addr: u16(pdu, 5), count: wCount, max: MAX_READ_WRITE_WRITE_REGISTERS },
        { access: 'read', table: 'holding', addr: u16(pdu, 1), count: u16(pdu, 3), max: MAX_READ_WRITE_READ_REGISTERS },
      ]);
    }
    case FunctionCode.ENCAPSULATED_INTERFACE_TRANSPORT:
      // Encapsulated Interface Transport: only MEI 0x0E, Read Device Identification, a read. Another
      // MEI type is a function not relayed (0x01); 0x0E with the wrong length is a request whose
      // implied length is wrong, which §7 makes 0x03, as for every other function here.
      if (pdu[1] !== MEI_READ_DEVICE_ID) return refuse(fn, ExceptionCode.ILLEGAL_FUNCTION, 'only MEI type 0x0E (Read Device Identification) is relayed');
      if (pdu.length !== 4) return refuse(fn, ExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 4`);
      return { ok: true, fn, accesses: [], deviceId: true };
    default:
      return refuse(fn, ExceptionCode.ILLEGAL_FUNCTION, `function 0x${fn.toString(16).padStart(2, '0')} is not relayed`);
  }
}
