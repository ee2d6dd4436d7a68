// fast-check generators for Modbus requests and responses, shared by the codec and slave tests.

import fc from 'fast-check';
import type { ModbusException, ModbusRequest, ModbusResponse } from '../../src/sim/modbus-pdu.js';

const u16 = fc.integer({ min: 0, max: 0xffff });

export const requestArb: fc.Arbitrary<ModbusRequest> = fc.oneof(
  fc.record({ fn: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const), address: u16, quantity: u16 }),
  fc.record({ fn: fc.constantFrom(5 as const, 6 as const), address: u16, value: u16 }),
  fc.record({ fn: fc.constant(15 as const), address: u16, values: fc.array(fc.boolean(), { minLength: 1, maxLength: 1968 }) }),
  fc.record({ fn: fc.constant(16 as const), address: u16, values: fc.array(u16, { minLength: 1, maxLength: 123 }) }),
  fc.record({ fn: fc.constant(43 as const), meiType: fc.constant(14 as const), readDeviceIdCode: fc.integer({ min: 0, max: 255 }), objectId: fc.integer({ min: 0, max: 255 }) }),
);

const objectArb = fc.record({ id: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 30 }) });

export const responseArb: fc.Arbitrary<ModbusResponse | ModbusException> = fc.oneof(
  fc.record({ fn: fc.constantFrom(1 as const, 2 as const), data: fc.uint8Array({ maxLength: 250 }) }),
  fc.record({ fn: fc.constantFrom(3 as const, 4 as const), registers: fc.array(u16, { maxLength: 125 }) }),
  fc.record({ fn: fc.constantFrom(5 as const, 6 as const), address: u16, value: u16 }),
  fc.record({ fn: fc.constantFrom(15 as const, 16 as const), address: u16, quantity: u16 }),
  fc.record({
    fn: fc.constant(43 as const),
    meiType: fc.constant(14 as const),
    readDeviceIdCode: fc.integer({ min: 0, max: 255 }),
    conformityLevel: fc.integer({ min: 0, max: 255 }),
    moreFollows: fc.boolean(),
    nextObjectId: fc.integer({ min: 0, max: 255 }),
    objects: fc.array(objectArb, { maxLength: 6 }),
  }),
  fc.record({ fn: fc.integer({ min: 1, max: 127 }), exception: fc.integer({ min: 0, max: 255 }) }),
);
