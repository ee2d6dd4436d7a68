// Per-slave diagnostics (issue #13) with the real serialport binding over a baud-paced PTY line to
// simulated slaves: a dead slave, slow slaves, a noisy slave and one that answers with exceptions,
// each counted right per unit (state, requests, timeouts, CRC errors, exceptions by code, response
// times), then per slot (modbus-poller status(), `uzpgw status` text and --json). Response times are
// asserted against the slaves' configured delays (a reply cannot come sooner), never against
// wall-clock thresholds of the gateway. The state-change log and the state rule for failures that
// are not the unit's are checked on a fake clock and a scripted transport.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/dispatch.js';
import { modbusUnitLines } from '../../../src/cli/status-modbus.js';
import type { ModbusPollerDevice, ModbusUnit, RegisterDef } from '../../../src/config/types.js';
import { ModbusPoller, type ModbusPollerStatus } from '../../../src/hil-devices/modbus-poller.js';
import { ModbusOfflineError, PortErrorCode, PortIoError } from '../../../src/ports/errors.js';
import type { PortLog } from '../../../src/ports/log.js';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import { UnitStateLog } from '../../../src/ports/modbus/state-log.js';
import { BusStats, type RequestState } from '../../../src/ports/modbus/stats.js';
import type { Exchange, ModbusTransport } from '../../../src/ports/modbus/transport.js';
import { SerialLink } from '../../../src/ports/serial.js';
import { errorOf } from '../../helpers/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { sampleStatus } from '../../gateway/status-sample.js';
import { cleanupVirtualSerial, virtualBus, waitFor } from '../../virtual-serial/harness.js';

const BAUD = 115_200;
/** For slaves that answer: generous, so a loaded machine never turns a reply into a timeout. */
const TIMEOUT_MS = 2_000;
/** For a dead slave, which never answers however loaded the machine is. */
const SHORT_MS = 150;
const regs = (unit: number, n: number): number[] => Array.from({ length: n }, (_, i) => unit * 1000 + i);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

interface Line {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

function recordingLog(): PortLog & { lines: Line[]; stateLines: (unit: number) => Line[]; states: (unit: number) => string[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const stateLines = (unit: number): Line[] => lines.filter((l) => l.obj.unit === unit && typeof l.obj.previous === 'string');
  return {
    stateLines,
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    /** The state-change lines of `unit`, as `previous>state`. */
    states: (unit) => stateLines(unit).map((l) => `${String(l.obj.previous)}>${String(l.obj.state)}`),
  };
}

/** A started link and bus (every state change logged at once: quiet time 0), closed after the test. */
async function master(path: string, log: PortLog): Promise<ModbusBus> {
  const link = new SerialLink({ path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs: TIMEOUT_MS, log, stateLogQuietMs: 0 });
  closers.push(async () => (await bus.close(), await link.close()));
  return bus;
}

describe('per-unit diagnostics over a paced PTY bus', () => {
  it('a dead slave: every request a timeout, state timeout, no response times, one log line', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 10) }, { unit: 2, holdingRegisters: regs(2, 10), faults: { dead: true } }] });
    const log = recordingLog();
    const bus = await master(vb.path, log);
    expect(bus.unitStats(2).state).toBe('unknown');
    for (let i = 0; i < 4; i++) expect((await errorOf(bus.read(2, 'holding', 0, 10, { timeoutMs: SHORT_MS }))).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    expect(await bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));

    const dead = bus.unitStats(2);
    expect(vb.bus.stats.silent).toBe(4); // the slave side saw four requests and kept quiet
    expect(dead).toMatchObject({ state: 'timeout', requests: 4, replies: 0, timeouts: 4, crcErrors: 0, exceptions: 0, exceptionsByCode: {} });
    expect(dead.responseMs).toEqual({ n: 0, min: null, avg: null, p99: null, max: null });
    expect(bus.unitStats(1)).toMatchObject({ state: 'ok', requests: 1, timeouts: 0 });
    // One line when the state changed, none for the three timeouts after it.
    expect(log.states(2)).toEqual(['unknown>timeout']);
    expect(log.stateLines(2)[0]).toMatchObject({ level: 'warn', obj: { state: 'timeout', code: PortErrorCode.MODBUS_TIMEOUT } });
    expect(log.states(1)).toEqual(['unknown>ok']);
  });

  it('slow slaves: min, avg and p99 at least the configured delay, per unit; p99 follows a slow tail', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs(1, 10), faults: { delayMs: 30 } }, { unit: 2, holdingRegisters: regs(2, 10), faults: { delayMs: 60 } }] });
    const bus = await master(vb.path, recordingLog());
    for (let i = 0; i < 20; i++) {
      expect(await bus.read(1, 'holding', 0, 10)).toEqual(regs(1, 10));
      expect(await bus.read(2, 'holding', 0, 10)).toEqual(regs(2, 10));
    }
    const checkSane = (r: ReturnType<ModbusBus['unitStats']>['responseMs']): void => {
      expect(r.avg!).toBeGreaterThanOrEqual(r.min!);
      expect(r.avg!).toBeLessThanOrEqual(r.max!);
      expect(r.p99!).toBeGreaterThanOrEqual(r.min!);
      expect(r.p99!).toBeLessThanOrEqual(r.max!);
    };
    const [one, two] = [bus.unitStats(1).responseMs, bus.unitStats(2).responseMs];
    expect(one.n).toBe(20);
    expect(two.n).toBe(20);
    // A reply can come no sooner than the slave's delay after the request: each unit's own samples.
    expect(one.min!).toBeGreaterThanOrEqual(30);
    expect(two.min!).toBeGreaterThanOrEqual(60);
    expect(two.p99!).toBeGreaterThanOrEqual(60);
    checkSane(one);
    checkSane(two);

    // One reply of unit 2 takes 150 ms: with 21 samples, the nearest-rank p99 is that one (within its 5% bucket).
    vb.bus.slave(2).faults = { delayMs: 150 };
    await bus.read(2, 'holding', 0, 10);
    const tail = bus.unitStats(2);
    expect(tail.responseMs.n).toBe(21);
    expect(tail.responseMs.max!).toBeGreaterThanOrEqual(150);
    expect(tail.responseMs.p99!).toBeGreaterThanOrEqual(150 / 1.05);
    expect(tail.responseMs.min!).toBeGreaterThanOrEqual(60);
    checkSane(tail.responseMs);
    expect(tail.lastLatencyMs!).toBeGreaterThanOrEqual(150);
    expect(bus.unitStats(1).responseMs).toEqual(one); // unit 1 untouched
  });

  it('a noisy slave (every other reply with a corrupt CRC): CRC errors counted, state error then ok, a line per change', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 3, holdingRegisters: regs(3, 10) }] });
    const log = recordingLog();
    const bus = await master(vb.path, log);
    const states: RequestState[] = [];
    for (let i = 0; i < 6; i++) {
      vb.bus.slave(3).faults = i % 2 === 0 ? { badCrc: true } : {};
      // A corrupted reply keeps the request waiting for a good one until its timeout (then MODBUS_CRC).
      const r = await bus.read(3, 'holding', 0, 10, { timeoutMs: 500 }).then(
        (v) => v,
        (e: { code: string }) => e.code,
      );
      expect(r).toEqual(i % 2 === 0 ? PortErrorCode.MODBUS_CRC : regs(3, 10));
      states.push(bus.unitStats(3).state);
    }
    expect(states).toEqual(['error', 'ok', 'error', 'ok', 'error', 'ok']);
    expect(vb.bus.stats.faultedReplies).toBe(3);
    const s = bus.unitStats(3);
    expect(s).toMatchObject({ requests: 6, replies: 3, crcErrors: 3, timeouts: 0, exceptions: 0 });
    expect(s.responseMs.n).toBe(3); // only the good replies are response times
    expect(log.states(3)).toEqual(['unknown>error', 'error>ok', 'ok>error', 'error>ok', 'ok>error', 'error>ok']);
    expect(log.stateLines(3)[0]).toMatchObject({ level: 'warn', obj: { code: PortErrorCode.MODBUS_CRC } });
  });

  it('exception replies: counted by code, state error, a normal reply makes it ok again', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 4, holdingRegisters: regs(4, 50) }] });
    const log = recordingLog();
    const bus = await master(vb.path, log);
    for (let i = 0; i < 2; i++) expect((await errorOf(bus.read(4, 'holding', 45, 10))).code).toBe(PortErrorCode.MODBUS_EXCEPTION); // past the 50 registers: 0x02
    expect([...(await bus.request(4, Uint8Array.of(0x2b, 0x0e, 0x01, 0x00)))]).toEqual([0xab, 0x01]); // no identity: illegal function
    let s = bus.unitStats(4);
    expect(s).toMatchObject({ state: 'error', requests: 3, replies: 3, exceptions: 3, exceptionsByCode: { 1: 1, 2: 2 }, timeouts: 0, crcErrors: 0 });
    expect(s.responseMs.n).toBe(3); // an exception reply is an answer: its round trip counts
    expect(await bus.read(4, 'holding', 0, 2)).toEqual(regs(4, 2));
    s = bus.unitStats(4);
    expect(s.state).toBe('ok');
    expect(s.exceptionsByCode).toEqual({ 1: 1, 2: 2 });
    expect(log.states(4)).toEqual(['unknown>error', 'error>ok']);
    expect(log.stateLines(4)[0]).toMatchObject({ obj: { code: PortErrorCode.MODBUS_EXCEPTION } });
  });
});

function reg(name: string, address: number, pollIntervalMs: number): RegisterDef {
  return { name, table: 'holding', address, count: 1, type: 'uint16', scale: 1, offset: 0, byteOrder: 'big', wordOrder: 'big', pollIntervalMs };
}

describe('per-slot diagnostics: modbus-poller status() and `uzpgw status`', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-diagnostics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a dead, a slow and a noisy unit on one slot: per-unit lines and a slot summary that adds up', async () => {
    const vb = await virtualBus({
      baud: BAUD,
      seed: 13,
      slaves: [
        { unit: 1, holdingRegisters: regs(1, 4), faults: { dead: true } },
        { unit: 2, holdingRegisters: regs(2, 4), faults: { delayMs: 30 } },
        { unit: 3, holdingRegisters: regs(3, 4), faults: { badCrc: true, rate: 0.5 } },
      ],
    });
    const link = new SerialLink({ path: vb.path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
    await link.whenOpen();
    const bus = ModbusBus.rtu(link, { timeoutMs: 1_000 });
    closers.push(async () => (await bus.close(), await link.close()));
    const units: ModbusUnit[] = [
      { unit: 1, name: 'dead-meter', timeoutMs: SHORT_MS, registers: [reg('a', 0, 50)] },
      { unit: 2, name: 'slow-meter', timeoutMs: TIMEOUT_MS, registers: [reg('b', 0, 50)] },
      { unit: 3, name: 'noisy-meter', timeoutMs: 500, registers: [reg('c', 0, 50)] },
    ];
    const cfg: ModbusPollerDevice = { id: 'meters', driver: 'modbus-poller', transport: { kind: 'rtu', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 } }, timeoutMs: 1_000, pollIntervalMs: 50, queueLimit: 16, units };
    const p = new ModbusPoller('rs485-1', cfg, bus, { link });
    closers.push(() => p.stop());
    p.start();
    const unit = (s: ModbusPollerStatus, u: number) => s.units.find((x) => x.unit === u)!.diagnostics;
    await waitFor(
      () => {
        const s = p.status();
        return unit(s, 1).timeouts >= 2 && unit(s, 2).responseMs.n >= 5 && unit(s, 3).crcErrors >= 2 && unit(s, 3).responseMs.n >= 2;
      },
      30_000,
      'timeouts, slow replies, CRC errors and good replies',
    );
    await p.stop(); // waits for the polls in flight, so the counts are final
    // An operator request to a unit the poll config does not name is listed too.
    expect((await errorOf(bus.request(9, Uint8Array.of(0x03, 0, 0, 0, 1), { timeoutMs: SHORT_MS }))).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    const s = p.status();

    const [dead, slow, noisy, extra] = [unit(s, 1), unit(s, 2), unit(s, 3), unit(s, 9)];
    expect(dead).toMatchObject({ state: 'timeout', replies: 0, crcErrors: 0 });
    expect(dead.timeouts).toBe(dead.requests);
    expect(slow).toMatchObject({ state: 'ok', timeouts: 0, crcErrors: 0 });
    expect(slow.responseMs.min!).toBeGreaterThanOrEqual(30);
    expect(noisy.crcErrors).toBe(vb.bus.stats.faultedReplies); // every corrupted reply counted, against its unit
    expect(noisy.replies + noisy.crcErrors).toBe(noisy.requests);
    expect(extra).toMatchObject({ state: 'timeout', requests: 1, timeouts: 1 });
    expect(s.units.map((u) => [u.unit, u.polled])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [9, false],
    ]);

    const all = [dead, slow, noisy, extra];
    const sum = (f: (d: (typeof all)[number]) => number): number => all.reduce((n, d) => n + f(d), 0);
    expect(s.diagnostics).toMatchObject({ units: 4, state: 'timeout', requests: sum((d) => d.requests), replies: sum((d) => d.replies), timeouts: sum((d) => d.timeouts), crcErrors: sum((d) => d.crcErrors), exceptions: 0 });
    expect(s.diagnostics.responseMs.n).toBe(slow.responseMs.n + noisy.responseMs.n);
    expect(s.diagnostics.responseMs.min).toBe(Math.min(slow.responseMs.min!, noisy.responseMs.min!));
    expect(s.diagnostics.responseMs.max).toBe(Math.max(slow.responseMs.max!, noisy.responseMs.max!));

    // `uzpgw status`: the status file holds status() as the slot's detail; text and --json read it.
    const file = join(dir, 'status.json');
    const detail = JSON.parse(JSON.stringify(s)) as object;
    writeFileSync(file, JSON.stringify(sampleStatus({ written_at: new Date().toISOString(), pid: process.pid, slots: [{ slot: 'rs485-1', device: 'meters', driver: 'modbus-poller', state: 'stopped', readings: s.readings, detail }] })));
    const text = await cli(['status', '--state', file]);
    const lines = text.split('\n');
    const at = lines.findIndex((l) => /^ {2}rs485-1 +meters +modbus-poller/.test(l));
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 6).map((l) => l.trim().replace(/:.*/, ''))).toEqual(['all units', 'unit 1 (dead-meter)', 'unit 2 (slow-meter)', 'unit 3 (noisy-meter)', 'unit 9 [not polled]']);
    const line1 = lines[at + 2]!;
    expect(line1).toContain(`TIMEOUT, ${dead.requests} requests, ${dead.timeouts} timeouts, 0 crc errors, no exceptions, no replies`);
    expect(lines[at + 3]).toMatch(/: ok, \d+ requests, 0 timeouts, 0 crc errors, no exceptions, response avg [\d.]+ p99 [\d.]+ max [\d.]+ ms$/);
    expect(lines[at + 4]).toContain(`, ${noisy.crcErrors} crc error`);
    const json = JSON.parse(await cli(['status', '--state', file, '--json'])) as { slots: { detail: ModbusPollerStatus }[] };
    expect(json.slots[0]!.detail.units[1]!.diagnostics).toEqual(slow);
    expect(json.slots[0]!.detail.diagnostics).toEqual(s.diagnostics);
  });

  it('status lines: exceptions by code in hex; a detail from an older gateway (no diagnostics) gives no lines', () => {
    const d = { state: 'error', requests: 7, timeouts: 0, crcErrors: 0, exceptionsByCode: { 2: 3, 11: 1 }, responseMs: { n: 4, min: 1.234, avg: 2.5, p99: 12.25, max: 130.4 } };
    expect(modbusUnitLines({ units: [{ unit: 5, name: 'pump', polled: true, diagnostics: d }] }, '  ')).toEqual(['  unit 5 (pump): ERROR, 7 requests, 0 timeouts, 0 crc errors, exceptions 0x02×3 0x0b×1, response avg 2.50 p99 12.3 max 130 ms']);
    expect(modbusUnitLines({ running: true, readings: 12 }, '  ')).toEqual([]);
    expect(modbusUnitLines({ units: [{ unit: 5, state: 'alive', polls: 3 }, null, 'x'] }, '  ')).toEqual([]);
  });
});

async function cli(argv: string[]): Promise<string> {
  let out = '';
  const sink = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  await main(argv, { stdout: sink, stderr: sink });
  return out;
}

describe('state-change log lines', () => {
  it('one line per change; a unit that flaps is held to one line per quiet time, which ends on the current state', () => {
    const clock = new FakeClock(0);
    const log = recordingLog();
    const l = new UnitStateLog(log, 'rtu /dev/x', clock, 10_000);
    l.changed(5, 'unknown', 'ok', { reason: 'normal reply' });
    clock.advance(100);
    l.changed(5, 'ok', 'error', { reason: 'crc', code: PortErrorCode.MODBUS_CRC });
    l.changed(5, 'error', 'ok', { reason: 'normal reply' });
    l.changed(5, 'ok', 'error', { reason: 'crc', code: PortErrorCode.MODBUS_CRC });
    l.changed(6, 'unknown', 'timeout', { reason: 'no reply' }); // another unit is not held back
    expect(log.states(5)).toEqual(['unknown>ok']);
    expect(log.states(6)).toEqual(['unknown>timeout']);
    clock.advance(9_899);
    expect(log.states(5)).toHaveLength(1);
    clock.advance(1);
    expect(log.states(5)).toEqual(['unknown>ok', 'ok>error']);
    expect(log.lines.at(-1)).toMatchObject({ level: 'warn', obj: { unit: 5, state: 'error', folded: 3, code: PortErrorCode.MODBUS_CRC } });
    // A flap that comes back to where it was still shows; a change after a quiet time is logged at once.
    l.changed(5, 'error', 'ok', { reason: 'normal reply' });
    l.changed(5, 'ok', 'error', { reason: 'crc' });
    clock.advance(10_000);
    expect(log.lines.at(-1)).toMatchObject({ level: 'warn', obj: { unit: 5, previous: 'error', state: 'error', folded: 2 } });
    clock.advance(20_000);
    l.changed(5, 'error', 'ok', { reason: 'normal reply' });
    expect(log.lines.at(-1)).toMatchObject({ level: 'info', obj: { unit: 5, previous: 'error', state: 'ok' } });
    expect(log.lines.at(-1)!.obj.folded).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});

/** A wire whose next exchange fails with the error given (or answers when null). */
class FailingTransport implements ModbusTransport {
  readonly name = 'scripted';
  readonly maxUnit = 247;
  readonly broadcastUnit0 = true;
  online = true;
  next: Error | null = null;

  exchange(x: Exchange): Promise<Uint8Array> {
    x.stats.requests++;
    return this.next ? Promise.reject(this.next) : Promise.resolve(Uint8Array.of(3, 2, 0, 7));
  }

  async close(): Promise<void> {}
}

describe('the state rule for failures that are not the unit’s', () => {
  it('an I/O error is error; a bus that went offline under the request leaves the state as it was', async () => {
    const t = new FailingTransport();
    const bus = new ModbusBus(t, new BusStats(), { timeoutMs: 100 });
    expect(await bus.read(1, 'holding', 0, 1)).toEqual([7]);
    t.next = new ModbusOfflineError('scripted (unplugged)');
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.MODBUS_OFFLINE);
    expect(bus.unitStats(1).state).toBe('ok');
    t.next = new PortIoError('scripted: write failed');
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.PORT_IO);
    expect(bus.unitStats(1)).toMatchObject({ state: 'error', requests: 3, replies: 1, offline: 1 });
    await bus.close();
  });
});
