// Per-slave diagnostics over the HIL (issue #13: "over the HIL to operators holding a diag.read
// purpose"): a real RN and `uzpgw gateway` process, a baud-paced RTU line with a live slave (unit 1,
// which also answers one register read with exception 0x02) and a configured unit no slave answers
// (unit 2), and `uzpgw connect … diag` as an operator runs it. The report must count what the bus
// saw (the dead unit's timeouts, the live unit's replies and exception), be refused without
// diag.read (by `connect` before the network, and by the gateway for a Grant that names diag.read
// on a slot whose device keeps no diagnostics), and each request is one audit line.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiagReport } from '../../src/hil/diag-report.js';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { signalProcess, spawnCli, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';
import { waitFor } from '../virtual-serial/harness.js';
import { startEquipmentGateway, type EquipmentGateway } from './equipment-gateway.js';

const BAUD = 19_200;
let gw: EquipmentGateway;
let line: VirtualLine;
let sim: ModbusRtuBus;

beforeAll(async () => {
  gw = await startEquipmentGateway({
    slots: {
      'rs485-1': {
        device: {
          id: 'bus-1',
          driver: 'modbus-poller',
          serial: { baud: BAUD },
          // The live unit gets a generous timeout (a loaded CI box must not make it time out); the
          // dead one a short one, so it times out several times while the test waits.
          timeout_ms: 2000,
          units: [
            // Register 50 is outside the slave's map: every poll of it is exception 0x02.
            { unit: 1, name: 'boiler', registers: [{ name: 't', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 100 }, { name: 'gone', table: 'holding', address: 50, type: 'uint16', poll_interval_ms: 500 }] },
            { unit: 2, name: 'pump', timeout_ms: 150, registers: [{ name: 'p', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 200 }] },
          ],
        },
      },
      'tty-1': { device: { id: 'sensor-7', driver: 'serial-line', serial: { baud: 9600 } } },
    },
    before: async (f) => {
      line = await VirtualLine.open({ baud: BAUD, dir: f('pty'), name: 'rs485-1' });
      sim = new ModbusRtuBus(line.device!, { baud: BAUD, slaves: [{ unit: 1, holdingRegisters: Array.from({ length: 10 }, (_, i) => 100 + i) }] });
    },
  });
}, 60_000);

afterAll(async () => {
  sim?.close();
  await line?.close();
  await stopAll();
  await gw?.close();
});

/** Runs `connect … diag` to its exit; resolves with its exit code and output. */
async function diag(args: string[]): Promise<{ code: number | null; child: Child }> {
  const child = spawnCli(['connect', ...args, 'diag']);
  const { code } = await child.exited;
  return { code, child };
}

describe('diag mode', () => {
  it('reports each unit as the bus saw it: the dead unit timing out, the live one answering with its exception counted', async () => {
    // Let the dead unit time out a few times first (poll every 200 ms, 150 ms timeout).
    await new Promise((r) => setTimeout(r, 1500));
    const args = gw.connectArgs('rs485-1', [{ purpose: 'diag.read' }]);
    const { code, child } = await diag([...args, '--json', '--count', '2', '--watch', '1']);
    expect(code, child.stderr()).toBe(0);
    const reports = child
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DiagReport & { event: string; slot: string; device: string });
    expect(reports).toHaveLength(2);
    const [first, second] = reports as [(typeof reports)[0], (typeof reports)[0]];
    expect(first).toMatchObject({ event: 'diag', slot: 'rs485-1', device: 'bus-1', port: 'open' });
    const [boiler, pump] = [first.units.find((u) => u.unit === 1)!, first.units.find((u) => u.unit === 2)!];
    expect(boiler).toMatchObject({ name: 'boiler', polled: true, state: expect.stringMatching(/^(ok|error)$/), timeouts: 0 });
    expect(boiler.replies).toBeGreaterThan(3);
    // 0x02 from the register outside the map; the gateway's own device-identification probe (43/14)
    // may add a 0x01 from this simulator.
    expect(boiler.by_code.find(([c]) => c === 2)?.[1]).toBeGreaterThan(0);
    expect(boiler.by_code.reduce((n, [, k]) => n + k, 0)).toBe(boiler.exceptions);
    // A reply cannot come sooner than its bytes on the line: a request of 8 characters and the
    // shortest reply (the 5 of an exception), 10 bits each at 19200 baud.
    expect(boiler.rt!.min).toBeGreaterThanOrEqual(((8 + 5) * 10 * 1000) / BAUD);
    expect(pump).toMatchObject({ name: 'pump', polled: true, state: 'timeout', replies: 0, last_error: 'MODBUS_TIMEOUT' });
    expect(pump.timeouts).toBeGreaterThan(2);
    expect(pump.rt).toBeUndefined();
    expect(first.all).toMatchObject({ state: 'timeout', timeouts: pump.timeouts, by_code: boiler.by_code });
    expect(first.all.requests).toBe(boiler.requests + pump.requests);
    // A second report a second later: the counters moved on.
    expect(second.units.find((u) => u.unit === 1)!.requests).toBeGreaterThan(boiler.requests);
    expect(second.units.find((u) => u.unit === 2)!.timeouts).toBeGreaterThan(pump.timeouts);
    // Each report is one audit line, allowed, after the channel's open.
    await waitFor(() => gw.audit().filter((l) => l.action === 'diag.read').length >= 2, 10_000, 'two diag.read audit lines');
    const audit = gw.audit().filter((l) => l.slot === 'rs485-1' && (l.action === 'open.diag' || l.action === 'diag.read'));
    expect(audit.map((l) => [l.action, l.decision])).toEqual([
      ['open.diag', 'allowed'],
      ['diag.read', 'allowed'],
      ['diag.read', 'allowed'],
    ]);
  }, 60_000);

  it('as text: a line per unit as `uzpgw status` prints them', async () => {
    const { code, child } = await diag(gw.connectArgs('rs485-1', [{ purpose: 'diag.read' }]));
    expect(code, child.stderr()).toBe(0);
    const out = child.stdout();
    expect(out).toMatch(/^slot rs485-1, device bus-1: port open\n/);
    expect(out).toMatch(/\n {2}all units: TIMEOUT, \d+ requests, \d+ timeouts, /);
    expect(out).toMatch(/\n {2}unit 1 \(boiler\): (ok|ERROR), \d+ requests, 0 timeouts, \d+ crc errors, exceptions (0x0\d×\d+ )*0x02×\d+( 0x0\d×\d+)*, response avg [\d.]+ p99 [\d.]+ max [\d.]+ ms(; (\d+ refused while offline|last error MODBUS_EXCEPTION)(, (\d+ refused while offline|last error MODBUS_EXCEPTION))*)?\n/);
    expect(out).toMatch(/\n {2}unit 2 \(pump\): TIMEOUT, \d+ requests, \d+ timeouts, 0 crc errors, no exceptions, no replies; (\d+ refused while offline, )?last error MODBUS_TIMEOUT\n/);
  }, 60_000);

  // Before: the wait between reports was a plain timer nothing cancelled, so the process lived on
  // until the next report was due (here 30 s) after SIGINT. Now it exits before that report.
  it('--watch: SIGINT after the first report ends it before the next one is due, with 0', async () => {
    const WATCH_S = 30;
    const child = spawnCli(['connect', ...gw.connectArgs('rs485-1', [{ purpose: 'diag.read' }]), '--json', '--watch', String(WATCH_S), 'diag']);
    await waitForJsonLine(child, (v) => v.event === 'diag');
    signalProcess(child, 'SIGINT');
    // Still running when the next report would be due (minus a margin for a loaded box) is the bug.
    let timer: NodeJS.Timeout | undefined;
    const due = new Promise<'still running'>((r) => (timer = setTimeout(() => r('still running'), (WATCH_S - 10) * 1000)));
    const ended = await Promise.race([child.exited, due]);
    clearTimeout(timer);
    expect(ended, child.stderr()).toEqual({ code: 0, signal: null });
    expect(child.stdout().trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('needs diag.read: a Grant with modbus.read only is refused before the network, saying what it opens', async () => {
    const { code, child } = await diag(gw.connectArgs('rs485-1', [{ purpose: 'modbus.read' }]));
    expect(code).toBe(1);
    expect(child.stderr()).toMatch(/diag needs diag\.read/);
    expect(child.stdout()).toBe('');
  }, 30_000);

  it('a slot whose device keeps no diagnostics: the gateway refuses the open (MODE_NOT_SUPPORTED) and audits it', async () => {
    const { code, child } = await diag(gw.connectArgs('tty-1', [{ purpose: 'diag.read' }]));
    expect(code).toBe(1);
    expect(child.stderr()).toContain('MODE_NOT_SUPPORTED');
    await waitFor(() => gw.audit().some((l) => l.slot === 'tty-1' && l.action === 'open.diag'), 10_000, 'the refusal audit line');
    expect(gw.audit().find((l) => l.slot === 'tty-1' && l.action === 'open.diag')).toMatchObject({ decision: 'refused', code: 'MODE_NOT_SUPPORTED' });
  }, 30_000);
});
