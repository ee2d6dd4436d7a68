// The status reporter over real parts — a TrustStore with real artefacts from a test domain, real
// device drivers on unopened ports, real files — with the RN link events and time driven by the
// test: written at start, on attach/detach, periodically on the injected clock (unref'd), at stop;
// expiry warnings logged at most once per artefact per day; a failed write logged once, not thrown.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../../src/config/types.js';
import { StatusReporter } from '../../src/gateway/status-reporter.js';
import { parseGatewayStatus } from '../../src/gateway/status-read.js';
import type { GatewayStatus, ReadingLogStatus } from '../../src/gateway/status-file.js';
import { createDevice, type GatewayDevice } from '../../src/hil-devices/index.js';
import type { Clock } from '../../src/lib/clock.js';
import { ModbusBus } from '../../src/ports/modbus/bus.js';
import { SerialLink } from '../../src/ports/serial.js';
import { toHex } from '../../src/uzp/bytes.js';
import { ErrorCode, ProtocolError } from '../../src/uzp/errors.js';
import { TestDomain } from '../helpers/domain.js';
import { FakeClock, turns } from '../helpers/fake-clock.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 4, 12, 0, 0);
const dir = mkdtempSync(join(tmpdir(), 'uzp-status-reporter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const serial = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 } as const;

class Links extends EventEmitter {
  failures = 0;
}

interface Logged {
  readonly level: 'warn' | 'info';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

/** A gateway's parts: PCert for 3 days, RN Set for 30, the domain's revocation list (1 day); a serial-line and a Modbus slot. */
function setup(file: string, readingLog?: () => ReadingLogStatus) {
  const d = new TestDomain(undefined, T0);
  const gw = d.member('gateway', { validSeconds: 3 * 86_400 });
  const rn = d.member('rn');
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rn.id, addresses: ['127.0.0.1:7443'] }], { validSeconds: 30 * 86_400 }));
  trust.setRevocation(d.revocation([]));
  const pcert = trust.validatePCert(gw.pcert, { role: 'gateway', cid: gw.id.cid });
  const config = {
    file: '/etc/uzp-gateway/gateway.json',
    dir: '/etc/uzp-gateway',
    name: 'gw-17',
    identity: { key: join(dir, 'identity.key'), pcert: '/var/lib/uzp-gateway/identity.pcert' },
    trust: { anchor: '/etc/uzp-gateway/trust/trust.json', rnSet: '/etc/uzp-gateway/trust/rn-set.uzp', revocations: ['/etc/uzp-gateway/trust/revoked.uzp'] },
    board: 'virtual',
    audit: { level: 'info' },
    attestation: { tpm: 'off', debug: false },
    deviceProfiles: [],
    slots: [],
  } satisfies GatewayConfig;
  const timers = new FakeClock(0);
  const unrefs: (boolean | undefined)[] = [];
  const clock: Clock = { now: () => timers.now(), setTimeout: (fn, ms, o) => (unrefs.push(o?.unref), timers.setTimeout(fn, ms)) };
  const link = new SerialLink({ path: '/nonexistent/tty-1', baudRate: 9600 });
  const rtu = new SerialLink({ path: '/nonexistent/rs485-1', baudRate: 9600 });
  const devices = new Map<string, GatewayDevice>([
    ['tty-1', createDevice('tty-1', { id: 'sensor-7', driver: 'serial-line', serial, delimiter: '\n', maxLineBytes: 128, encoding: 'latin1' }, { link })],
    [
      'rs485-1',
      createDevice(
        'rs485-1',
        {
          id: 'th-bus-1',
          driver: 'modbus-poller',
          transport: { kind: 'rtu', serial },
          timeoutMs: 100,
          pollIntervalMs: 1000,
          queueLimit: 8,
          units: [{ unit: 1, timeoutMs: 100, registers: [{ name: 'r0', table: 'holding', address: 0, count: 1, type: 'uint16', scale: 1, offset: 0, byteOrder: 'big', wordOrder: 'big', pollIntervalMs: 1000 }] }],
        },
        { bus: ModbusBus.rtu(rtu) },
        { clock: timers },
      ),
    ],
  ]);
  const links = new Links();
  const logged: Logged[] = [];
  const log = { warn: (obj: object, msg: string) => logged.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }), info: (obj: object, msg: string) => logged.push({ level: 'info', obj: obj as Record<string, unknown>, msg }) };
  const stats = { sessions: 1, channels: 3, refusals: 2, readingsDropped: 0 };
  const reporter = new StatusReporter({ file, config, cid: gw.id.cid, pcert, trust, devices, stats, links, log, clock, now: () => T0 + timers.now(), ...(readingLog !== undefined ? { readingLog } : {}) });
  return { d, gw, rn, reporter, timers, unrefs, links, logged, devices, serialLink: link, events: (e: string) => logged.filter((l) => l.obj.event === e) };
}

const read = (file: string): GatewayStatus => parseGatewayStatus(readFileSync(file, 'utf8'), file);

describe('StatusReporter', () => {
  it('writes at start what the gateway holds: identity, runtime, RN, artefacts with expiry, slots, sessions', async () => {
    const file = join(dir, 'start.json');
    const s = setup(file);
    s.reporter.start();
    await s.reporter.idle();
    const st = read(file);
    expect(st).toMatchObject({
      kind: 'uzp-gw/gateway-status',
      version: 1,
      written_at: '2026-12-04T12:00:00.000Z',
      started_at: '2026-12-04T12:00:00.000Z',
      pid: process.pid,
      state: 'running',
      interval_ms: 30_000,
      config: '/etc/uzp-gateway/gateway.json',
      identity: { cid: toHex(s.gw.id.cid), name: 'gw-17', board: 'virtual' },
      runtime: { node: process.version, exec_path: process.execPath, arch: process.arch, platform: process.platform },
      rn: { state: 'connecting', since: '2026-12-04T12:00:00.000Z', failures: 0 },
      sessions: { open: 1, channels: 3, refusals: 2 },
    });
    expect(st.artefacts).toEqual([
      expect.objectContaining({ kind: 'pcert', file: '/var/lib/uzp-gateway/identity.pcert', expires_at: '2026-12-07T12:00:00Z', expiry: 'expiring', warning: 'expires in 3 days (2026-12-07T12:00:00Z); renew it: docs/FLASH.md#renewal' }),
      expect.objectContaining({ kind: 'rn-set', file: '/etc/uzp-gateway/trust/rn-set.uzp', expires_at: '2027-01-03T12:00:00Z', expiry: 'ok', epoch: 1, sequence: 1 }),
      expect.objectContaining({ kind: 'revocation', file: '/etc/uzp-gateway/trust/revoked.uzp', expires_at: '2026-12-05T12:00:00Z', expiry: 'expiring' }),
    ]);
    expect(st.artefacts[1]).not.toHaveProperty('warning');
    expect(st.slots.map((x) => [x.slot, x.device, x.driver, x.state, x.readings])).toEqual([
      ['tty-1', 'sensor-7', 'serial-line', 'stopped', 0],
      ['rs485-1', 'th-bus-1', 'modbus-poller', 'stopped', 0],
    ]);
    expect(st.slots[0]!.detail).toMatchObject({ slot: 'tty-1', device: 'sensor-7', running: false, bytesIn: 0 });
    expect(s.events('artefact.expiring').map((l) => [l.obj.artefact, l.msg])).toEqual([
      ['pcert', 'pcert expires in 3 days (2026-12-07T12:00:00Z); renew it: docs/FLASH.md#renewal'],
      ['revocation', 'revocation expires in 1 day (2026-12-05T12:00:00Z); renew it: docs/FLASH.md#renewal'],
    ]);
    await s.reporter.stop();
  });

  it('rewrites on attach and detach, with the RN, its address and the last error', async () => {
    const file = join(dir, 'rn.json');
    const s = setup(file);
    s.reporter.start();
    s.timers.advance(5_000);
    s.links.emit('up', { rnCid: s.rn.id.cid, address: '127.0.0.1:7443' });
    await s.reporter.idle();
    expect(read(file).rn).toEqual({ state: 'attached', rn: toHex(s.rn.id.cid), address: '127.0.0.1:7443', since: '2026-12-04T12:00:05.000Z', failures: 0 });
    s.timers.advance(5_000);
    s.links.failures = 1;
    s.links.emit('down', new ProtocolError(ErrorCode.LINK_CLOSED, 'RN link 127.0.0.1:7443 closed'));
    await s.reporter.idle();
    const lost = { code: 'LINK_CLOSED', message: 'RN link 127.0.0.1:7443 closed', at: '2026-12-04T12:00:10.000Z' };
    expect(read(file).rn).toEqual({ state: 'detached', since: '2026-12-04T12:00:10.000Z', failures: 1, last_error: lost });
    // A failed retry updates the error, not the time the link was lost.
    s.timers.advance(2_000);
    s.links.failures = 2;
    s.links.emit('down', new ProtocolError(ErrorCode.LINK_CLOSED, 'attach to 127.0.0.1:7443: ECONNREFUSED'));
    await s.reporter.idle();
    expect(read(file).rn).toMatchObject({ state: 'detached', since: '2026-12-04T12:00:10.000Z', failures: 2, last_error: { message: 'attach to 127.0.0.1:7443: ECONNREFUSED', at: '2026-12-04T12:00:12.000Z' } });
    await s.reporter.stop();
  });

  it('with a warm standby (LinkPool) lists every attached RN, and keeps "attached" while one of two drops', async () => {
    const file = join(dir, 'rn-pool.json');
    const s = setup(file);
    const other = s.d.member('rn').id;
    const a = { rnCid: s.rn.id.cid, address: '127.0.0.1:7443' };
    const b = { rnCid: other.cid, address: '127.0.0.1:7444' };
    const pool = s.links as unknown as { links: (typeof a)[] };
    pool.links = [];
    s.reporter.start();
    s.timers.advance(1_000);
    pool.links = [a];
    s.links.emit('up', a);
    s.timers.advance(1_000);
    pool.links = [a, b];
    s.links.emit('up', b);
    await s.reporter.idle();
    const both = [
      { rn: toHex(s.rn.id.cid), address: a.address },
      { rn: toHex(other.cid), address: b.address },
    ];
    expect(read(file).rn).toMatchObject({ state: 'attached', since: '2026-12-04T12:00:01.000Z', links: both });
    pool.links = [b];
    s.links.emit('link-down', new ProtocolError(ErrorCode.LINK_CLOSED, 'RN link 127.0.0.1:7443 closed'));
    await s.reporter.idle();
    expect(read(file).rn).toMatchObject({ state: 'attached', links: [both[1]] });
    await s.reporter.stop();
  });

  it('rewrites every 30 s on the injected clock (unref), warns once per artefact per day, and reports expired', async () => {
    const file = join(dir, 'periodic.json');
    const s = setup(file);
    s.reporter.start();
    expect(s.unrefs).toEqual([true]);
    await s.reporter.idle();
    s.timers.advance(30_000);
    await s.reporter.idle();
    expect(read(file).written_at).toBe('2026-12-04T12:00:30.000Z');
    expect(s.events('artefact.expiring')).toHaveLength(2);
    s.timers.advance(DAY - 30_000 - 1);
    expect(s.events('artefact.expiring')).toHaveLength(2); // a day of 30 s checks, no repeat
    s.timers.advance(1);
    expect(s.events('artefact.expiring')).toHaveLength(4); // a day later both again (the revocation list in its last valid second)
    s.timers.advance(30_000);
    expect(s.events('artefact.expired').map((l) => l.obj)).toEqual([expect.objectContaining({ artefact: 'revocation', object_id: expect.any(String), expires_at: '2026-12-05T12:00:00Z' })]);
    s.timers.advance(2 * DAY);
    expect(s.events('artefact.expired').map((l) => l.obj.artefact)).toEqual(['revocation', 'revocation', 'pcert', 'revocation']);
    await s.reporter.idle();
    expect(read(file).artefacts.map((a) => a.expiry)).toEqual(['expired', 'ok', 'expired']);
    await s.reporter.stop();
  });

  it('a snapshot that throws on the 30 s tick (the reading log on a failing card) is logged, and the ticks go on', async () => {
    const file = join(dir, 'snapshot-throws.json');
    let broken = false;
    const readingLog = (): ReadingLogStatus => {
      if (broken) throw new Error('disk I/O error');
      return { file: 'readings.db', durability: 'batch', readings: 0, bytes: 0, max_bytes: 1 << 20, pending: 0, dropped: {}, receipted: 0 };
    };
    const s = setup(file, readingLog);
    s.reporter.start();
    await s.reporter.idle();
    broken = true;
    // Before: the throw left the timer callback and ended the process.
    expect(() => s.timers.advance(30_000)).not.toThrow();
    await s.reporter.idle();
    expect(s.events('status.snapshot_failed')).toHaveLength(1);
    expect(s.timers.pending).toBe(1); // the next tick
    broken = false;
    s.timers.advance(30_000);
    await s.reporter.idle();
    expect(read(file).written_at).toBe('2026-12-04T12:01:00.000Z');
    await s.reporter.stop();
  });

  it('writes "stopped" at stop, with the devices as they are then, and schedules nothing more', async () => {
    const file = join(dir, 'stop.json');
    const s = setup(file);
    s.reporter.start();
    s.links.emit('up', { rnCid: s.rn.id.cid, address: '127.0.0.1:7443' });
    s.timers.advance(60_000);
    s.links.emit('down', undefined); // the LinkManager stopping: stop() reports it
    await s.reporter.stop();
    const st = read(file);
    expect(st).toMatchObject({ state: 'stopped', written_at: '2026-12-04T12:01:00.000Z', rn: { state: 'stopped', since: '2026-12-04T12:01:00.000Z' } });
    expect(s.timers.pending).toBe(0);
    s.links.emit('up', { rnCid: s.rn.id.cid, address: '127.0.0.1:7443' });
    await s.reporter.idle();
    expect(read(file).state).toBe('stopped');
  });

  it('names a Modbus unit that stops answering as the slot problem', async () => {
    const file = join(dir, 'problem.json');
    const s = setup(file);
    await s.devices.get('rs485-1')!.start();
    s.reporter.start();
    s.timers.advance(1_000); // one poll on a bus whose port never opened
    await turns();
    s.reporter.refresh();
    await s.reporter.idle();
    const slot = read(file).slots.find((x) => x.slot === 'rs485-1')!;
    expect(slot.state).toBe('running');
    expect(slot.problem).toMatch(/^unit 1: 1 failed poll in a row \(MODBUS_\w+: .+\)$/);
    await s.devices.get('rs485-1')!.stop();
    await s.reporter.stop();
  });

  it('names a serial device that cannot be opened as the slot problem, with what to check', async () => {
    const file = join(dir, 'missing-device.json');
    const s = setup(file);
    await s.devices.get('tty-1')!.start();
    s.serialLink.start(); // what Gateway.start() does for every slot's port
    s.reporter.start();
    // The open of /nonexistent/tty-1 fails at once (ENOENT); wait for the link to have tried.
    for (let i = 0; i < 200 && (s.devices.get('tty-1')!.status() as { port?: { openError?: unknown } }).port?.openError == null; i++) await new Promise((r) => setTimeout(r, 5));
    s.reporter.refresh();
    await s.reporter.idle();
    const slot = read(file).slots.find((x) => x.slot === 'tty-1')!;
    expect(slot.problem).toMatch(/^\/nonexistent\/tty-1 cannot be opened \(\w+: .+\)$/);
    await s.devices.get('tty-1')!.stop();
    await s.serialLink.close();
    await s.reporter.stop();
  });

  it('a write that fails is logged once and never thrown; writing again is said once', async () => {
    const sub = join(dir, 'later');
    const file = join(sub, 'status.json');
    const s = setup(file);
    s.reporter.start();
    await s.reporter.idle();
    s.timers.advance(90_000);
    await s.reporter.idle();
    expect(s.events('status.write_failed')).toEqual([expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ file, error: expect.stringContaining(file) }) })]);
    mkdirSync(sub);
    s.timers.advance(30_000);
    await s.reporter.idle();
    expect(s.events('status.write_ok')).toHaveLength(1);
    expect(read(file).state).toBe('running');
    await s.reporter.stop();
  });
});
