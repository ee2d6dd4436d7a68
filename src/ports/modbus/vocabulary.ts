// The Modbus vocabulary, defined once: function codes, exception codes, the four data tables and
// the protocol's limits (Modbus Application Protocol V1.1b3, Modbus over Serial Line V1.02, Modbus
// Messaging on TCP/IP Implementation Guide V1.0b). Every user in src/ imports it from here; only
// the simulators (src/sim/) keep their own on purpose, as the independent peer the tests check
// this code against. Implementation defaults (timeouts, queue bounds) live in ../constants.ts.

// ---- functions (§5.1, §6) ----

export const FunctionCode = {
  READ_COILS: 0x01,
  READ_DISCRETE_INPUTS: 0x02,
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_COIL: 0x05,
  WRITE_SINGLE_REGISTER: 0x06,
  WRITE_MULTIPLE_COILS: 0x0f,
  WRITE_MULTIPLE_REGISTERS: 0x10,
  READ_WRITE_MULTIPLE_REGISTERS: 0x17,
  ENCAPSULATED_INTERFACE_TRANSPORT: 0x2b,
} as const;

/** §6.21: MEI type 0x0E of function 0x2B, Read Device Identification. */
export const MEI_READ_DEVICE_ID = 0x0e;

/** §6.5: the only two values Write Single Coil may carry. */
export const COIL_ON = 0xff00;
export const COIL_OFF = 0x0000;

// ---- exceptions (§7) ----

/**
 * §7: a refusal is the reply PDU (function | 0x80, code). One name per code, the spec's own name
 * in constant case; exceptionName() (../errors.ts) spells it back in words.
 */
export const ExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  ACKNOWLEDGE: 0x05,
  SERVER_DEVICE_BUSY: 0x06,
  MEMORY_PARITY_ERROR: 0x08,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND: 0x0b,
} as const;
export type ExceptionCode = (typeof ExceptionCode)[keyof typeof ExceptionCode];

/** §7: the bit a server sets in the function code of an exception reply. */
export const EXCEPTION_FLAG = 0x80;

// ---- data tables (§4.3) ----

/** The four primary tables, in the order the config lists them (the list lives in lib/modbus-tables.ts). */
export { MODBUS_TABLES as TABLES, type ModbusTable as Table } from '../../lib/modbus-tables.js';
import type { ModbusTable as Table } from '../../lib/modbus-tables.js';
/** Coils and holding registers are read-write; discrete inputs and input registers read-only. */
export type WritableTable = 'coils' | 'holding';

/** Coils and discrete inputs hold single bits; holding and input registers 16-bit words. */
export function isBitTable(table: Table): boolean {
  return table === 'coils' || table === 'discrete';
}

/** §6.1-6.4: the read function of each table. */
export const READ_FUNCTION: Readonly<Record<Table, number>> = {
  coils: FunctionCode.READ_COILS,
  discrete: FunctionCode.READ_DISCRETE_INPUTS,
  holding: FunctionCode.READ_HOLDING_REGISTERS,
  input: FunctionCode.READ_INPUT_REGISTERS,
};

// ---- limits ----

/** §4.4: data addresses are 0..65535 in every table. */
export const MAX_ADDRESS = 0xffff;
/** §6.1-6.4: items one read may ask for. */
export const MAX_READ_BITS = 2000;
export const MAX_READ_REGISTERS = 125;
/** §6.11/§6.12: items one write may carry. */
export const MAX_WRITE_BITS = 1968;
export const MAX_WRITE_REGISTERS = 123;
/** §6.17: Read/Write Multiple Registers reads 1..125 and writes 1..121 registers. */
export const MAX_READ_WRITE_READ_REGISTERS = 125;
export const MAX_READ_WRITE_WRITE_REGISTERS = 121;

/** §6.1-6.4: most items one read of `table` may ask for. */
export function maxReadCount(table: Table): number {
  return isBitTable(table) ? MAX_READ_BITS : MAX_READ_REGISTERS;
}

/** §4.1: a PDU is at most 253 bytes (the 256-byte RTU ADU minus address and CRC). */
export const MAX_PDU = 253;
/** Largest RTU ADU (Modbus over Serial Line §2.5.1.1) and Modbus TCP ADU (TCP/IP guide §3.1.3: 7-byte MBAP + PDU). */
export const RTU_MAX_ADU = 256;
export const TCP_MAX_ADU = 260;

/** Modbus over Serial Line §2.2: unit 0 is the broadcast address, 1..247 slave addresses. */
export const RTU_BROADCAST_UNIT = 0;
export const RTU_MAX_UNIT = 247;
/** TCP/IP guide §3.1.3: the MBAP unit id is one byte, 0..255. */
export const TCP_MAX_UNIT = 255;
