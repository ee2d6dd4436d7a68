// A configured serial device that is missing when a real gateway process starts (issue #10: nothing
// at info level, the operator saw "connected" and no data, and writes were audited "allowed" and
// went nowhere). At the default log level: an error line naming the path and what to check. An
// operator's serial write and Modbus request to the dead slots are refused (DEVICE_UNAVAILABLE,
// exception 0x0A) and audited as refused. When the device appears, an info line says it opened,
// and writes go through again.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineSensor } from '../../src/sim/line-sensor.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { stopAll } from '../helpers/processes.js';
import { waitFor } from '../virtual-serial/harness.js';
import { connectModbusTcp, connectSerial, RawModbusTcp, startEquipmentGateway, type EquipmentGateway } from './equipment-gateway.js';

let gw: EquipmentGateway;
let line: VirtualLine | undefined;
let sensor: LineSensor | undefined;

beforeAll(async () => {
  gw = await startEquipmentGateway({
    slots: {
      'tty-1': { device: { id: 'sensor-7', driver: 'serial-line', serial: { baud: 9600 } } },
      'rs485-2': { device: { id: 'bus-b', driver: 'modbus-poller', serial: { baud: 19_200 }, units: [{ unit: 1, registers: [{ name: 'r0', table: 'holding', address: 0, type: 'uint16' }] }] } },
    },
  });
}, 60_000);

afterAll(async () => {
  sensor?.close();
  await line?.close();
  await stopAll();
  await gw?.close();
});

const errorsAbout = (path: string) => gw.logLines().filter((l) => l.level === 50 && l.path === path);

describe('a serial device missing when the gateway starts', () => {
  it('is an error line at the default level, once, with the path and what to check', async () => {
    const tty = gw.f('pty/tty-1');
    await waitFor(() => errorsAbout(tty).length > 0, 20_000, 'the error line');
    const [e] = errorsAbout(tty);
    expect(e).toMatchObject({ code: 'ENOENT', component: 'ports' });
    expect(String(e!.msg)).toContain(`cannot open ${tty}`);
    expect(String(e!.msg)).toMatch(/does not exist/);
    expect(errorsAbout(gw.f('pty/rs485-2'))).toHaveLength(1);
    // The gateway keeps retrying; each outage is logged once (reminders come a minute apart).
    expect(errorsAbout(tty)).toHaveLength(1);
  });

  it('a serial write is refused with DEVICE_UNAVAILABLE and audited as refused, never as allowed', async () => {
    const c = connectSerial(gw.connectArgs('tty-1', [{ purpose: 'serial.read' }, { purpose: 'serial.write' }]));
    try {
      await c.waitStderr('connected', 30_000);
      c.write('READ?\n');
      await c.waitStderr('DEVICE_UNAVAILABLE', 20_000);
      await waitFor(() => gw.audit().some((l) => l.action === 'serial.write'), 10_000, 'the audit line');
      const writes = gw.audit().filter((l) => l.action === 'serial.write');
      expect(writes.map((l) => [l.decision, l.code])).toEqual([['refused', 'DEVICE_UNAVAILABLE']]);
    } finally {
      c.stop();
    }
  });

  it('a Modbus request is answered with exception 0x0A (gateway path unavailable) and audited as refused', async () => {
    const client = await RawModbusTcp.open((await connectModbusTcp(gw.connectArgs('rs485-2', [{ purpose: 'modbus.read' }]))).port);
    try {
      const r = await client.request(1, [0x03, 0, 0, 0, 1]);
      expect(r.subarray(6).toString('hex')).toBe('01' + '83' + '0a');
      await waitFor(() => gw.audit().some((l) => l.slot === 'rs485-2' && l.action === 'modbus.read'), 10_000, 'the audit line');
      const reads = gw.audit().filter((l) => l.slot === 'rs485-2' && l.action === 'modbus.read');
      expect(reads.map((l) => [l.decision, l.code])).toEqual([['refused', 'DEVICE_UNAVAILABLE']]);
    } finally {
      client.close();
    }
  });

  it('when the device appears: an info line says it opened, and writes go through', async () => {
    line = await VirtualLine.open({ baud: 9600, dir: gw.f('pty'), name: 'tty-1' });
    sensor = new LineSensor(line.device!, { id: 'TH-1', intervalMs: 0 });
    const tty = gw.f('pty/tty-1');
    // The link retries with its backoff (capped at 10 s): wait for its next attempt.
    await waitFor(() => gw.logLines().some((l) => l.level === 30 && l.path === tty && String(l.msg).includes('opened after')), 30_000, 'the opened line');
    const c = connectSerial(gw.connectArgs('tty-1', [{ purpose: 'serial.read' }, { purpose: 'serial.write' }]));
    try {
      await c.waitStderr('connected', 30_000);
      c.write('ID?\n');
      await waitFor(() => gw.audit().some((l) => l.action === 'serial.write' && l.decision === 'allowed'), 20_000, 'an allowed write');
      expect(errorsAbout(tty)).toHaveLength(1);
    } finally {
      c.stop();
    }
  }, 60_000);
});
