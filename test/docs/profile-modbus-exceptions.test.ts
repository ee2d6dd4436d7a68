// docs/PROFILE.md "Exceptions with ILLEGAL_REQUEST", row by row against the code: each row's example
// PDU to its unit gets the row's exception, the way the broker decides it (gateway/hil/modes.ts):
// the PDU's classification first (hil/modbus-request.ts), then, once the Grant allowed it, the
// slot's device (`refusal()` of an RTU modbus-poller with the default "tcp_unit_0": "refuse"). The
// refusal table said "exception 0x01" for every ILLEGAL_REQUEST while malformed quantities and
// addresses came back as 0x03 and 0x02 (found by the operator review).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classifyPdu } from '../../src/hil/modbus-request.js';
import { ModbusPoller } from '../../src/hil-devices/modbus-poller.js';
import type { ModbusPollerDevice } from '../../src/hil-devices/config.js';
import type { ModbusBus } from '../../src/ports/modbus/bus.js';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/PROFILE.md', import.meta.url)), 'utf8');

interface Row {
  readonly text: string;
  readonly unit: number;
  readonly pdu: Uint8Array;
  readonly exception: number;
}

/** The rows of the `| case | unit | e.g. PDU | exception |` table after the section's heading. */
function rows(): Row[] {
  const from = DOC.indexOf('**Exceptions with `ILLEGAL_REQUEST`**');
  expect(from, 'the section in PROFILE.md').toBeGreaterThan(0);
  const lines = DOC.slice(from).split('\n');
  const head = lines.findIndex((l) => l.startsWith('| case | unit | e.g. PDU | exception |'));
  expect(head).toBeGreaterThan(0);
  const out: Row[] = [];
  for (let i = head + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split(' | ');
    const [text, unit, pdu, exception] = [cells[0]!.slice(2), cells.at(-3)!, cells.at(-2)!, cells.at(-1)!.replace(/ \|$/, '')];
    out.push({ text, unit: Number(unit), pdu: Uint8Array.from(Buffer.from(pdu.replace(/[`\s]/g, ''), 'hex')), exception: Number(exception) });
  }
  return out;
}

/** An RTU slot's poller with the default "tcp_unit_0"; refusal() reads nothing else of the bus. */
const rtu = new ModbusPoller('rs485-1', { id: 'bus-a', driver: 'modbus-poller', units: [], timeoutMs: 1000 } as unknown as ModbusPollerDevice, { transport: { broadcastUnit0: true }, unitState: () => 'unknown' } as unknown as ModbusBus);

/** The exception the gateway answers this PDU to this unit with (undefined: it goes to the bus). */
function exceptionFor(unit: number, pdu: Uint8Array): number | undefined {
  const c = classifyPdu(pdu);
  if (!c.ok) return c.exception;
  const does = { reads: c.deviceId === true || c.accesses.some((a) => a.access === 'read'), writes: c.accesses.some((a) => a.access === 'write') };
  return rtu.refusal(unit, pdu, does)?.exception;
}

describe('docs/PROFILE.md: the exception of each ILLEGAL_REQUEST case', () => {
  it('every row of the table: its example gets its exception', () => {
    const table = rows();
    expect(table.length).toBe(8);
    for (const r of table) expect(exceptionFor(r.unit, r.pdu), r.text).toBe(r.exception);
    // 0x01, 0x02, 0x03 and 0x0A all occur, as the refusal table's row says.
    expect([...new Set(table.map((r) => r.exception))].sort((a, b) => a - b)).toEqual([0x01, 0x02, 0x03, 0x0a]);
  });

  it('the cases the rows name without an example', () => {
    const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
    expect(exceptionFor(1, new Uint8Array(0))).toBe(0x01); // an empty PDU
    expect(exceptionFor(1, hex('2b 0e 01'))).toBe(0x03); // 43/14 of the wrong length
    expect(exceptionFor(1, hex('05 0000 1234'))).toBe(0x03); // a coil value other than ff00 / 0000
    expect(exceptionFor(1, hex('01 0000 07d1'))).toBe(0x03); // 2001 coils
    expect(exceptionFor(1, hex('0f 0000 07b1 f7' + '00'.repeat(0xf7)))).toBe(0x03); // 1969 coils
    expect(exceptionFor(1, hex('10 0000 007c f8' + '00'.repeat(0xf8)))).toBe(0x03); // 124 registers
    expect(exceptionFor(0, hex('17 0000 0001 0000 0001 02 0000'))).toBe(0x01); // fc 23 reads too: refused at unit 0
    expect(exceptionFor(0, hex('2b 0e 01 00'))).toBe(0x01);
    expect(exceptionFor(248, hex('06 0000 0001'))).toBe(0x0a);
    expect(exceptionFor(1, hex('03 0000 0001'))).toBeUndefined(); // to the bus
  });
});
