// A HIL broker on a fake clock with one Modbus slot whose device echoes every request, and its audit
// lines captured: for the tests of what the broker decides per operator and session (the session
// cap, the refusal budget), where time passes only when the test advances it.

import { Writable } from 'node:stream';
import { AuditLog } from '../../../src/gateway/hil/audit.js';
import { HilBroker } from '../../../src/gateway/hil/broker.js';
import type { ModbusDevice } from '../../../src/hil/device.js';
import { FakeClock } from '../../helpers/fake-clock.js';

/** rs485-1's device: answers each request with its own PDU, never polls. */
export const echoDevice: ModbusDevice = { slot: 'rs485-1', id: 'boiler-1', driver: 'modbus-poller', kind: 'modbus', onReading: () => () => {}, request: async (_u, pdu) => pdu.slice() };

export function fakeClockBroker(o: { sessionsPerOperator?: number } = {}): { b: HilBroker; audit: Record<string, unknown>[]; clock: FakeClock } {
  const audit: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      audit.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const clock = new FakeClock();
  const b = new HilBroker({ devices: new Map([['rs485-1', echoDevice]]), audit: AuditLog.create(sink), clock, ...(o.sessionsPerOperator !== undefined ? { sessionsPerOperator: o.sessionsPerOperator } : {}) });
  return { b, audit, clock };
}
