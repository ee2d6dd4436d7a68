// Classifies a Modbus request PDU (function code + data, no unit id, no CRC/MBAP) into the register
// accesses it performs, so the HIL broker can hold every request against the Grant before it
// reaches the bus. Bounds follow the Modbus Application Protocol Specification V1.1b3 §6.
// Anything the HIL does not understand is refused rather than passed through: an unknown function
// could write (draft §4.3: never generalise authority).

export type ModbusTable = 'coils' | 'discrete' | 'holding' | 'input';

export interface RegisterAccess {
  readonly access: 'read' | 'write';
  readonly table: ModbusTable;
  readonly addr: number;
  readonly count: number;
}

/** Modbus exception codes (spec §7). */
export const ModbusExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_NO_RESPONSE: 0x0b,
} as const;

export type PduClass =
  | { readonly ok: true; readonly fn: number; readonly accesses: readonly RegisterAccess[]; readonly deviceId?: true }
  | { readonly ok: false; readonly fn: number; readonly exception: number; readonly reason: string };

const READS: Record<number, { table: ModbusTable; max: number }> = {
  0x01: { table: 'coils', max: 2000 },
  0x02: { table: 'discrete', max: 2000 },
  0x03: { table: 'holding', max: 125 },
  0x04: { table: 'input', max: 125 },
};

function u16(p: Uint8Array, o: number): number {
  return (p[o]! << 8) | p[o + 1]!;
}

function refuse(fn: number, exception: number, reason: string): PduClass {
  return { ok: false, fn, exception, reason };
}

/** One range check for every function: 1..max items, not past address 0xFFFF. */
function range(fn: number, access: RegisterAccess['access'], table: ModbusTable, addr: number, count: number, max: number): PduClass | RegisterAccess {
  if (count < 1 || count > max) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `quantity ${count} not in 1..${max}`);
  if (addr + count > 0x10000) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_ADDRESS, `address ${addr}+${count} past 65535`);
  return { access, table, addr, count };
}

export function classifyPdu(pdu: Uint8Array): PduClass {
  if (pdu.length === 0) return refuse(0, ModbusExceptionCode.ILLEGAL_FUNCTION, 'empty PDU');
  const fn = pdu[0]!;
  const one = (r: PduClass | RegisterAccess, len: number): PduClass =>
    'access' in r ? (pdu.length === len ? { ok: true, fn, accesses: [r] } : refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected ${len}`)) : r;
  const read = READS[fn];
  if (read !== undefined) {
    if (pdu.length !== 5) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 5`);
    return one(range(fn, 'read', read.table, u16(pdu, 1), u16(pdu, 3), read.max), 5);
  }
  switch (fn) {
    case 0x05: {
      if (pdu.length !== 5) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 5`);
      const v = u16(pdu, 3);
      if (v !== 0xff00 && v !== 0x0000) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'coil value must be 0xFF00 or 0x0000');
      return one(range(fn, 'write', 'coils', u16(pdu, 1), 1, 1), 5);
    }
    case 0x06:
      if (pdu.length !== 5) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `PDU length ${pdu.length}, expected 5`);
      return one(range(fn, 'write', 'holding', u16(pdu, 1), 1, 1), 5);
    case 0x0f:
    case 0x10: {
      if (pdu.length < 6) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'PDU too short');
      const count = u16(pdu, 3);
      const bytes = pdu[5]!;
      const coils = fn === 0x0f;
      const expected = coils ? Math.ceil(count / 8) : count * 2;
      if (bytes !== expected) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, `byte count ${bytes}, expected ${expected}`);
      return one(range(fn, 'write', coils ? 'coils' : 'holding', u16(pdu, 1), count, coils ? 1968 : 123), 6 + bytes);
    }
    case 0x17: {
      // Read/Write Multiple Registers: a write then a read of holding registers (spec §6.17).
      if (pdu.length < 10) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'PDU too short');
      const r = range(fn, 'read', 'holding', u16(pdu, 1), u16(pdu, 3), 125);
      const wCount = u16(pdu, 7);
      const w = range(fn, 'write', 'holding', u16(pdu, 5), wCount, 121);
      if (!('access' in r)) return r;
      if (!('access' in w)) return w;
      if (pdu[9] !== wCount * 2 || pdu.length !== 10 + wCount * 2) return refuse(fn, ModbusExceptionCode.ILLEGAL_DATA_VALUE, 'byte count mismatch');
      return { ok: true, fn, accesses: [w, r] };
    }
    case 0x2b:
      // Encapsulated Interface Transport: only MEI 0x0E, Read Device Identification, a read.
      if (pdu.length === 4 && pdu[1] === 0x0e) return { ok: true, fn, accesses: [], deviceId: true };
      return refuse(fn, ModbusExceptionCode.ILLEGAL_FUNCTION, 'only MEI type 0x0E (Read Device Identification) is relayed');
    default:
      return refuse(fn, ModbusExceptionCode.ILLEGAL_FUNCTION, `function 0x${fn.toString(16).padStart(2, '0')} is not relayed`);
  }
}

/** The exception response PDU for a request function (spec §7: function | 0x80, code). */
export function exceptionPdu(fn: number, code: number): Uint8Array {
  return Uint8Array.of((fn | 0x80) & 0xff, code);
}
