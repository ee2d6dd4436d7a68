import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyPdu } from '../../src/hil/modbus-request.js';
import { exceptionPdu } from '../../src/ports/modbus/pdu.js';
import { ExceptionCode } from '../../src/ports/modbus/vocabulary.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('Modbus PDU classification (Modbus Application Protocol V1.1b3 §6)', () => {
  it('classifies the spec examples', () => {
    // §6.3 Read Holding Registers: registers 108-110 (address 0x006B, quantity 3)
    expect(classifyPdu(hex('03 006B 0003'))).toEqual({ ok: true, fn: 3, accesses: [{ access: 'read', table: 'holding', addr: 0x6b, count: 3 }] });
    // §6.1 Read Coils 20-38
    expect(classifyPdu(hex('01 0013 0013'))).toMatchObject({ ok: true, accesses: [{ table: 'coils', addr: 19, count: 19 }] });
    // §6.5 Write Single Coil 173 ON
    expect(classifyPdu(hex('05 00AC FF00'))).toMatchObject({ ok: true, accesses: [{ access: 'write', table: 'coils', addr: 0xac, count: 1 }] });
    // §6.6 Write Single Register 2
    expect(classifyPdu(hex('06 0001 0003'))).toMatchObject({ ok: true, accesses: [{ access: 'write', table: 'holding', addr: 1, count: 1 }] });
    // §6.11 Write Multiple Coils 20-29
    expect(classifyPdu(hex('0F 0013 000A 02 CD01'))).toMatchObject({ ok: true, accesses: [{ access: 'write', table: 'coils', addr: 19, count: 10 }] });
    // §6.12 Write Multiple Registers 2-3
    expect(classifyPdu(hex('10 0001 0002 04 000A 0102'))).toMatchObject({ ok: true, accesses: [{ access: 'write', table: 'holding', addr: 1, count: 2 }] });
    // §6.17 Read/Write Multiple Registers
    expect(classifyPdu(hex('17 0003 0006 000E 0003 06 00FF 00FF 00FF'))).toMatchObject({
      ok: true,
      accesses: [
        { access: 'write', table: 'holding', addr: 14, count: 3 },
        { access: 'read', table: 'holding', addr: 3, count: 6 },
      ],
    });
    expect(classifyPdu(hex('2B 0E 01 00'))).toMatchObject({ ok: true, deviceId: true, accesses: [] });
  });

  it('refuses unknown functions, bad quantities, bad lengths and address overflow with the right exception', () => {
    expect(classifyPdu(hex('08 0000 A537'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_FUNCTION });
    expect(classifyPdu(hex('03 0000 007E'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
    expect(classifyPdu(hex('03 0000 0000'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
    expect(classifyPdu(hex('03 FFFF 0002'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_ADDRESS });
    expect(classifyPdu(hex('03 0000 0001 00'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
    expect(classifyPdu(hex('05 0000 1234'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
    expect(classifyPdu(hex('10 0001 0002 03 000A 01'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
    expect(classifyPdu(hex('2B 0D 00'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_FUNCTION });
    expect(classifyPdu(hex('2B'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_FUNCTION });
    expect(classifyPdu(hex(''))).toMatchObject({ ok: false, fn: 0, exception: ExceptionCode.ILLEGAL_FUNCTION });
    expect(exceptionPdu(3, 2)).toEqual(hex('83 02'));
  });

  it('Read Device Identification (43/14) of the wrong length is exception 0x03, as a wrong length is for every other function (§7: "the implied length is incorrect")', () => {
    // It was 0x01, as if MEI 0x0E were not relayed at all.
    expect(classifyPdu(hex('2B 0E 01'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE, reason: 'PDU length 3, expected 4' });
    expect(classifyPdu(hex('2B 0E 01 00 00'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
    expect(classifyPdu(hex('03 0000'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE });
  });

  it('a PDU with several faults gets the first in the order of the spec\'s state diagrams: length and byte count, then every quantity, then the address ranges', () => {
    // fc 16: an address range past 65535 in a PDU one byte short. It was 0x02 (the range was checked before the length).
    expect(classifyPdu(hex('10 FFFF 0002 04 0000 00'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE, reason: 'PDU length 9, expected 10' });
    expect(classifyPdu(hex('10 FFFF 0002 04 0000 0000'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_ADDRESS });
    // fc 23 (§6.17): the write quantity (0) is a fault before the read's address range. It was 0x02.
    expect(classifyPdu(hex('17 FFFF 0002 0000 0000 00'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_VALUE, reason: 'quantity 0 not in 1..121' });
    expect(classifyPdu(hex('17 FFFF 0002 0000 0001 02 0000'))).toMatchObject({ ok: false, exception: ExceptionCode.ILLEGAL_DATA_ADDRESS });
  });

  it('a valid classification never touches an address beyond 65535 (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (pdu) => {
        const c = classifyPdu(pdu);
        if (c.ok) for (const a of c.accesses) expect(a.addr + a.count).toBeLessThanOrEqual(0x10000);
      }),
      { numRuns: 10_000 },
    );
  });

  it('10,000 mutated real PDUs never throw', () => {
    const valid = fc.constantFrom(hex('03 006B 0003'), hex('0F 0013 000A 02 CD01'), hex('10 0001 0002 04 000A 0102'), hex('17 0003 0006 000E 0003 06 00FF 00FF 00FF'));
    fc.assert(
      fc.property(valid, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat({ max: 3 }), (v, i, x, cut) => {
        const c = v.slice(0, v.length - cut);
        if (c.length > 0) c[i % c.length]! ^= x;
        expect(() => classifyPdu(c)).not.toThrow();
      }),
      { numRuns: 10_000 },
    );
  });
});
