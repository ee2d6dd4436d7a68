// The one Modbus vocabulary against the spec's own tables (Modbus Application Protocol V1.1b3 §5.1,
// §6, §7; Modbus over Serial Line V1.02 §2.2), and exceptionName() spelling every code with the
// spec's one name.

import { describe, expect, it } from 'vitest';
import { exceptionName, ModbusException } from '../../../src/ports/errors.js';
import {
  ExceptionCode,
  FunctionCode,
  isBitTable,
  MAX_PDU,
  MAX_READ_BITS,
  MAX_READ_REGISTERS,
  MAX_READ_WRITE_READ_REGISTERS,
  MAX_READ_WRITE_WRITE_REGISTERS,
  MAX_WRITE_BITS,
  MAX_WRITE_REGISTERS,
  maxReadCount,
  READ_FUNCTION,
  RTU_MAX_ADU,
  RTU_MAX_UNIT,
  TABLES,
  TCP_MAX_ADU,
} from '../../../src/ports/modbus/vocabulary.js';

describe('Modbus vocabulary', () => {
  it('exception codes carry the §7 names, one name per code', () => {
    // §7 table, transcribed by hand.
    const spec: [number, string][] = [
      [0x01, 'illegal function'],
      [0x02, 'illegal data address'],
      [0x03, 'illegal data value'],
      [0x04, 'server device failure'],
      [0x05, 'acknowledge'],
      [0x06, 'server device busy'],
      [0x08, 'memory parity error'],
      [0x0a, 'gateway path unavailable'],
      [0x0b, 'gateway target device failed to respond'],
    ];
    expect(Object.values(ExceptionCode).sort((a, b) => a - b)).toEqual(spec.map(([c]) => c));
    for (const [code, name] of spec) expect(exceptionName(code)).toBe(name);
    expect(exceptionName(0x07)).toBe('unknown exception');
    expect(new ModbusException(3, 0x03, 0x0b).message).toBe('unit 3: function 0x03 refused with exception 0x0b (gateway target device failed to respond)');
  });

  it('function codes and limits are the spec’s numbers', () => {
    expect(FunctionCode).toEqual({
      READ_COILS: 1,
      READ_DISCRETE_INPUTS: 2,
      READ_HOLDING_REGISTERS: 3,
      READ_INPUT_REGISTERS: 4,
      WRITE_SINGLE_COIL: 5,
      WRITE_SINGLE_REGISTER: 6,
      WRITE_MULTIPLE_COILS: 15,
      WRITE_MULTIPLE_REGISTERS: 16,
      READ_WRITE_MULTIPLE_REGISTERS: 23,
      ENCAPSULATED_INTERFACE_TRANSPORT: 43,
    });
    // §6.1-6.4 (0x7D0, 0x7D), §6.11/6.12 (0x7B0, 0x7B), §6.17 (0x7D, 0x79), §4.1, Serial Line §2.2.
    expect([MAX_READ_BITS, MAX_READ_REGISTERS, MAX_WRITE_BITS, MAX_WRITE_REGISTERS]).toEqual([0x7d0, 0x7d, 0x7b0, 0x7b]);
    expect([MAX_READ_WRITE_READ_REGISTERS, MAX_READ_WRITE_WRITE_REGISTERS]).toEqual([0x7d, 0x79]);
    expect([MAX_PDU, RTU_MAX_ADU, TCP_MAX_ADU, RTU_MAX_UNIT]).toEqual([253, 256, 260, 247]);
  });

  it('tables: read function, bit or word, read limit', () => {
    expect(TABLES.map((t) => [t, READ_FUNCTION[t], isBitTable(t), maxReadCount(t)])).toEqual([
      ['holding', 3, false, 125],
      ['input', 4, false, 125],
      ['coils', 1, true, 2000],
      ['discrete', 2, true, 2000],
    ]);
  });
});
