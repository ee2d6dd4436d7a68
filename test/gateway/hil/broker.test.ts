// HIL broker over a real session pair: Grant enforcement on every frame, audit of every action
// and refusal. Devices here are small in-memory stand-ins; the real drivers are tested with the
// virtual-serial harness and mosquitto.

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/gateway/hil/audit.js';
import { HilBroker } from '../../../src/gateway/hil/broker.js';
import { decodeHil, encodeHil, type HilMessage } from '../../../src/hil/messages.js';
import type { AnyDevice, ModbusDevice, MqttDevice, Reading, SerialDevice } from '../../../src/hil/device.js';
import type { Purpose } from '../../../src/uzp/artefacts/types.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { sessionPair } from '../../helpers/session-pair.js';
import { FakeClock, turns } from '../../helpers/fake-clock.js';
import type { Clock } from '../../../src/lib/clock.js';
import { REFUSALS_PER_S } from '../../../src/gateway/hil/refusal-budget.js';
import { REFUSAL_SUMMARY_MS } from '../../../src/gateway/hil/refusal-gate.js';
import { DEFAULT_MAX_PENDING_REQUESTS } from '../../../src/gateway/hil/channel-router.js';
import { CommonCode, StateError } from '../../../src/lib/errors.js';
import { ModbusUnitSilentError } from '../../../src/ports/errors.js';
import { encodeCanonical } from '../../../src/uzp/cbor.js';

class Listeners<T extends unknown[]> {
  private cbs = new Set<(...a: T) => void>();
  on(cb: (...a: T) => void): () => void {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }
  emit(...a: T): void {
    for (const cb of this.cbs) cb(...a);
  }
}

function modbusDevice(slot: string, id: string) {
  const readings = new Listeners<[Reading]>();
  const seen: { unit: number; pdu: number[] }[] = [];
  const dev: ModbusDevice = {
    slot,
    id,
    driver: 'modbus-poller',
    kind: 'modbus',
    onReading: (cb) => readings.on(cb),
    request: async (unit, pdu) => {
      seen.push({ unit, pdu: [...pdu] });
      return pdu[0] === 3 ? Uint8Array.of(3, 2, 0, 42) : pdu.slice();
    },
  };
  return { dev, readings, seen };
}

function serialDevice(slot: string, id: string) {
  const data = new Listeners<[Uint8Array]>();
  const written: string[] = [];
  const dev: SerialDevice = { slot, id, driver: 'serial-line', kind: 'serial', onReading: () => () => {}, onData: (cb) => data.on(cb), write: async (d) => void written.push(Buffer.from(d).toString()) };
  return { dev, data, written };
}

function mqttDevice(slot: string, id: string) {
  const msgs = new Listeners<[string, Uint8Array]>();
  const published: string[] = [];
  const dev: MqttDevice = {
    slot,
    id,
    driver: 'mqtt-bridge',
    kind: 'mqtt',
    onReading: () => () => {},
    onMessage: (cb) => msgs.on(cb),
    subscribe: async () => {},
    publish: async (t) => void published.push(t),
  };
  return { dev, msgs, published };
}

interface Env {
  operator: Session;
  gateway: Session;
  audit: Record<string, unknown>[];
  broker: HilBroker;
  grant: ReturnType<typeof sessionPair>['grant'];
}

let closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers) c();
  closers = [];
});

function setup(
  purposes: Purpose[],
  devices: AnyDevice[],
  scope: { slot?: string; device?: string } = { slot: 'rs485-1' },
  timing?: { clock: Clock; now: (grant: Env['grant']) => () => number },
): Env {
  const p = sessionPair({ purposes, ...scope });
  const audit: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      audit.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const broker = new HilBroker({ devices: new Map(devices.map((d) => [d.slot, d])), audit: AuditLog.create(sink), ...(timing ? { clock: timing.clock } : {}) });
  // Grants are dated by the test domain's clock; the broker ends sessions when they expire.
  broker.serve(p.gateway, p.grant, timing ? timing.now(p.grant) : p.d.clock);
  closers.push(() => p.operator.close());
  return { operator: p.operator, gateway: p.gateway, audit, broker, grant: p.grant };
}

/** The decoded messages arriving on `ch`, one per next() call, in order. */
function reader(ch: Channel): () => Promise<HilMessage> {
  const queue: HilMessage[] = [];
  const waiters: ((m: HilMessage) => void)[] = [];
  ch.on('message', (b: Uint8Array) => {
    const m = decodeHil(b);
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r)));
}

/** Opens a channel and returns a reader of decoded replies. */
function open(env: Env, slot: string, mode: string): { ch: Channel; next: () => Promise<HilMessage>; send: (m: HilMessage) => void } {
  const ch = env.operator.openChannel();
  const next = reader(ch);
  const send = (m: HilMessage) => void ch.trySend(encodeHil(m));
  send({ t: 'open', slot, mode } as HilMessage);
  return { ch, send, next };
}

// Lets the in-memory stitch and the session pumps run (they hop by setImmediate), without waiting on wall time.
const settle = () => turns();

describe('HIL broker: Grant enforcement on every frame (draft §4.3)', () => {
  it('serves an allowed Modbus read and audits it', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read', units: [1], registers: [[0, 99]] }], [m.dev]);
    const c = open(env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened', device: 'boiler-1', driver: 'modbus-poller', purposes: ['modbus.read'] });
    c.send({ t: 'req', id: 1, unit: 1, pdu: Uint8Array.of(3, 0, 10, 0, 1) });
    expect(await c.next()).toEqual({ t: 'res', id: 1, pdu: Uint8Array.of(3, 2, 0, 42) });
    expect(m.seen).toEqual([{ unit: 1, pdu: [3, 0, 10, 0, 1] }]);
    await settle();
    expect(env.audit.find((l) => l.action === 'modbus.read')).toMatchObject({ decision: 'allowed', slot: 'rs485-1', device: 'boiler-1', unit: 1 });
  });

  it('no modbus.write: a write is refused with exception 0x01, never reaches the bus, and is audited', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read' }], [m.dev]);
    const c = open(env, 'rs485-1', 'modbus');
    await c.next();
    c.send({ t: 'req', id: 2, unit: 1, pdu: Uint8Array.of(6, 0, 1, 0, 3) });
    expect(await c.next()).toEqual({ t: 'res', id: 2, pdu: Uint8Array.of(0x86, 0x01), refused: 'PURPOSE_NOT_GRANTED' });
    expect(m.seen).toEqual([]);
    await settle();
    expect(env.audit.find((l) => l.decision === 'refused')).toMatchObject({ action: 'modbus.write', code: 'PURPOSE_NOT_GRANTED', unit: 1, fn: 6, addr: 1 });
  });

  it('a register outside the granted range is refused with exception 0x02 and audited', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.write', units: [1], registers: [[0, 9]] }, { purpose: 'modbus.read' }], [m.dev]);
    const c = open(env, 'rs485-1', 'modbus');
    await c.next();
    c.send({ t: 'req', id: 3, unit: 1, pdu: Uint8Array.of(0x10, 0, 8, 0, 3, 6, 0, 1, 0, 2, 0, 3) });
    expect(await c.next()).toEqual({ t: 'res', id: 3, pdu: Uint8Array.of(0x90, 0x02), refused: 'REGISTER_OUT_OF_RANGE' });
    c.send({ t: 'req', id: 4, unit: 1, pdu: Uint8Array.of(0x10, 0, 7, 0, 3, 6, 0, 1, 0, 2, 0, 3) });
    expect(await c.next()).toMatchObject({ t: 'res', id: 4 });
    expect(m.seen.map((s) => s.pdu[2])).toEqual([7]);
    await settle();
    expect(env.audit.filter((l) => l.code === 'REGISTER_OUT_OF_RANGE')).toHaveLength(1);
  });

  it('a slot not in the Grant is refused at open without revealing whether it exists, and audited', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const s = modbusDevice('rs485-2', 'boiler-2');
    const env = setup([{ purpose: 'modbus.read' }], [m.dev, s.dev]);
    expect(await open(env, 'rs485-2', 'modbus').next()).toEqual({ t: 'refused', code: 'SLOT_NOT_GRANTED' });
    expect(await open(env, 'no-such-slot', 'modbus').next()).toEqual({ t: 'refused', code: 'SLOT_NOT_GRANTED' });
    await settle();
    expect(env.audit.filter((l) => l.code === 'SLOT_NOT_GRANTED')).toHaveLength(2);
  });

  it('MQTT: a topic outside the granted filters is refused for subscribe and publish, and audited', async () => {
    const q = mqttDevice('net-0', 'press-3');
    const env = setup([{ purpose: 'mqtt.subscribe', topics: ['plant/press3/#'] }, { purpose: 'mqtt.publish', topics: ['plant/press3/cmd'] }], [q.dev], { slot: 'net-0' });
    const c = open(env, 'net-0', 'mqtt');
    await c.next();
    c.send({ t: 'sub', filter: 'plant/#' });
    expect(await c.next()).toEqual({ t: 'refused', code: 'TOPIC_OUT_OF_FILTER', filter: 'plant/#' });
    c.send({ t: 'sub', filter: 'plant/press3/temp' });
    expect(await c.next()).toEqual({ t: 'suback', filter: 'plant/press3/temp' });
    q.msgs.emit('plant/press4/temp', Uint8Array.of(1)); // not subscribed: not delivered
    q.msgs.emit('plant/press3/temp', Uint8Array.of(2));
    expect(await c.next()).toEqual({ t: 'msg', topic: 'plant/press3/temp', payload: Uint8Array.of(2) });
    c.send({ t: 'pub', id: 9, topic: 'plant/press4/cmd', payload: Uint8Array.of(1), qos: 1, retain: false });
    expect(await c.next()).toEqual({ t: 'refused', code: 'TOPIC_OUT_OF_FILTER', id: 9 });
    c.send({ t: 'pub', id: 10, topic: 'plant/press3/cmd', payload: Uint8Array.of(1), qos: 1, retain: false });
    expect(await c.next()).toEqual({ t: 'puback', id: 10 });
    expect(q.published).toEqual(['plant/press3/cmd']);
    await settle();
    expect(env.audit.filter((l) => l.code === 'TOPIC_OUT_OF_FILTER').map((l) => l.action)).toEqual(['mqtt.subscribe', 'mqtt.publish']);
  });

  it('serial: writes need serial.write; reads flow only with serial.read', async () => {
    const s = serialDevice('uart-0', 'gps');
    const env = setup([{ purpose: 'serial.read' }], [s.dev], { slot: 'uart-0' });
    const c = open(env, 'uart-0', 'serial');
    expect(await c.next()).toMatchObject({ t: 'opened', purposes: ['serial.read'] });
    s.data.emit(Uint8Array.of(65, 66));
    expect(await c.next()).toEqual({ t: 'data', d: Uint8Array.of(65, 66) });
    c.send({ t: 'data', d: Uint8Array.of(67) });
    expect(await c.next()).toEqual({ t: 'refused', code: 'PURPOSE_NOT_GRANTED' });
    expect(s.written).toEqual([]);
  });

  it('tail: readings outside the Grant are withheld', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read', units: [1], registers: [[0, 9]] }], [m.dev]);
    const c = open(env, 'rs485-1', 'tail');
    await c.next();
    const r = (seq: number, unit: number, addr: number): Reading => ({ slot: 'rs485-1', device: 'boiler-1', kind: 'modbus', seq, ts: 1, value: seq, source: { kind: 'modbus', unit, table: 'holding', addr, count: 1 } });
    m.readings.emit(r(1, 2, 0)); // unit 2: withheld
    m.readings.emit(r(2, 1, 50)); // register 50: withheld
    m.readings.emit(r(3, 1, 5));
    expect(await c.next()).toEqual({ t: 'reading', slot: 'rs485-1', device: 'boiler-1', kind: 'modbus', seq: 3, ts: 1, value: 3, epoch: 0 }); // epoch 0: the broker was given none
  });

  it('malformed frames and frames before open are refused and audited; the broker keeps serving', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read' }], [m.dev]);
    const ch = env.operator.openChannel();
    const replies: HilMessage[] = [];
    ch.on('message', (b: Uint8Array) => replies.push(decodeHil(b)));
    ch.trySend(Uint8Array.of(0xff, 0x00, 0x13));
    ch.trySend(encodeHil({ t: 'data', d: Uint8Array.of(1) }));
    await settle();
    expect(replies).toEqual([{ t: 'refused', code: 'BAD_MESSAGE' }, { t: 'refused', code: 'NOT_OPEN' }]);
    const c = open(env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened' });
    expect(env.audit.filter((l) => l.decision === 'refused').map((l) => l.code)).toEqual(['BAD_MESSAGE', 'NOT_OPEN']);
  });

  it('a session ends when its Grant expires, and the end is audited', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    // A fake clock whose wall time starts 30 ms before the Grant's expiry; the expiry timer is its.
    const clock = new FakeClock();
    const t0 = clock.now();
    const env = setup([{ purpose: 'modbus.read' }], [m.dev], { slot: 'rs485-1' }, { clock, now: (g) => () => g.expiresAt * 1000 - 30 + (clock.now() - t0) });
    const closed = Promise.all([new Promise((r) => env.operator.once('close', r)), new Promise((r) => env.gateway.once('close', r))]);
    clock.advance(29);
    await turns();
    expect(env.gateway.state).not.toBe('closed');
    clock.advance(1);
    await closed;
    expect(env.gateway.state).toBe('closed');
    await settle();
    expect(env.audit.find((l) => l.action === 'session.end')).toMatchObject({ code: 'GRANT_EXPIRED' });
  });

  it('a Grant that outlives the longest timer re-arms, and still ends the session at its expiry', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const MAX_TIMER_MS = 2_147_483_647;
    const clock = new FakeClock();
    const t0 = clock.now();
    const env = setup([{ purpose: 'modbus.read' }], [m.dev], { slot: 'rs485-1' }, { clock, now: (g) => () => g.expiresAt * 1000 - MAX_TIMER_MS - 10 + (clock.now() - t0) });
    const closed = new Promise((r) => env.gateway.once('close', r));
    clock.advance(MAX_TIMER_MS + 9);
    await turns();
    expect(env.gateway.state).not.toBe('closed');
    clock.advance(1);
    await closed;
    await settle();
    expect(env.audit.find((l) => l.action === 'session.end')).toMatchObject({ code: 'GRANT_EXPIRED' });
  });

  it('revalidate() ends sessions whose Grant no longer holds (revocation reload)', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read' }], [m.dev]);
    expect(env.broker.revalidate(() => true)).toBe(0);
    const closed = new Promise((r) => env.operator.once('close', r));
    expect(env.broker.revalidate((g) => g.objectId !== env.grant.objectId)).toBe(1);
    await closed;
    await settle(); // audit lines are written after the turn's replies (audit.ts later())
    expect(env.audit.find((l) => l.action === 'session.end')).toMatchObject({ code: 'REVOKED' });
  });

  it('a subscription the device cannot serve is answered (refused with its filter), not left hanging', async () => {
    const q = mqttDevice('net-0', 'press-3');
    q.dev.subscribe = async () => {
      throw Object.assign(new Error('not bridged'), { code: 'TOPIC_NOT_BRIDGED' });
    };
    const env = setup([{ purpose: 'mqtt.subscribe' }], [q.dev], { slot: 'net-0' });
    const c = open(env, 'net-0', 'mqtt');
    await c.next();
    c.send({ t: 'sub', filter: 'other/#' });
    expect(await c.next()).toEqual({ t: 'refused', code: 'TOPIC_NOT_BRIDGED', filter: 'other/#' });
    await settle(); // audit lines are written after the turn's replies (audit.ts later())
    // Allowed by the Grant, failed at the device: audited 'failed', not counted as a refusal.
    expect(env.audit.filter((a) => a.decision === 'failed')).toHaveLength(1);
    expect(env.broker.stats.refusals).toBe(0);
  });

  it('channels are freed once both halves close; a channel id of the wrong parity ends the session', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read' }], [m.dev]);
    for (let i = 0; i < 20; i++) {
      const c = open(env, 'rs485-1', 'modbus');
      await c.next();
      await c.ch.close();
    }
    await settle();
    expect(env.gateway.channelCount).toBe(0);
    expect(env.operator.channelCount).toBe(0);
    const closed = new Promise((r) => env.gateway.once('close', r));
    env.operator.channel(2).trySend(encodeHil({ t: 'open', slot: 'rs485-1', mode: 'modbus' })); // even id: the responder's parity
    await closed;
  });
});

describe('HIL broker: early data (0-RTT, draft §9; docs/PROFILE.md §0-RTT)', () => {
  /** Early messages on channel 1 as the endpoint delivers them; the replies the operator reads there. */
  function early(env: Env, ms: HilMessage[]): { next: () => Promise<HilMessage> } {
    const next = reader(env.operator.channel(1));
    env.gateway.deliverEarly(ms.map((m) => ({ channel: 1, message: encodeHil(m) })));
    return { next };
  }

  it('admits a Modbus open and reads (fc 1-4); refuses a write sent early with EARLY_DATA_REFUSED, never reaching the device', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const env = setup([{ purpose: 'modbus.read', units: [1] }, { purpose: 'modbus.write', units: [1] }], [m.dev]);
    const c = early(env, [
      { t: 'open', slot: 'rs485-1', mode: 'modbus' },
      { t: 'req', id: 1, unit: 1, pdu: Uint8Array.of(3, 0, 10, 0, 1) },
      { t: 'req', id: 2, unit: 1, pdu: Uint8Array.of(6, 0, 10, 0, 7) },
      { t: 'req', id: 3, unit: 1, pdu: Uint8Array.of(3, 0, 20, 0, 1) },
    ]);
    expect(await c.next()).toMatchObject({ t: 'opened', mode: 'modbus' });
    const replies = [await c.next(), await c.next(), await c.next()];
    expect(replies).toContainEqual({ t: 'res', id: 2, pdu: Uint8Array.of(0x86, 0x06), refused: 'EARLY_DATA_REFUSED' });
    expect(replies).toContainEqual({ t: 'res', id: 1, pdu: Uint8Array.of(3, 2, 0, 42) });
    expect(m.seen.map((s) => s.pdu[0])).toEqual([3, 3]);
    await settle();
    expect(env.audit.find((l) => l.action === 'early.req')).toMatchObject({ decision: 'refused', code: 'EARLY_DATA_REFUSED', fn: 6 });
  });

  it('refuses opening a serial channel early; the same open sent again as ordinary data is served', async () => {
    const s = serialDevice('tty-1', 'scale-1');
    const env = setup([{ purpose: 'serial.read' }, { purpose: 'serial.write' }], [s.dev], { slot: 'tty-1' });
    const c = early(env, [{ t: 'open', slot: 'tty-1', mode: 'serial' }]);
    expect(await c.next()).toEqual({ t: 'refused', code: 'EARLY_DATA_REFUSED' });
    env.operator.channel(1).trySend(encodeHil({ t: 'open', slot: 'tty-1', mode: 'serial' }));
    expect(await c.next()).toMatchObject({ t: 'opened', mode: 'serial' });
  });
});

describe('HIL broker: a session flooding refused or malformed messages (refusal-gate.ts; found by review)', () => {
  /** A broker on a fake clock (the refusal budget's and the summaries' time); the Grant holds an hour. */
  function flooded(purposes: Purpose[], devices: AnyDevice[]) {
    const clock = new FakeClock();
    const t0 = clock.now();
    const env = setup(purposes, devices, { slot: 'rs485-1' }, { clock, now: (g) => () => g.expiresAt * 1000 - 3_600_000 + (clock.now() - t0) });
    const ch = env.operator.openChannel();
    const replies: HilMessage[] = [];
    ch.on('message', (b: Uint8Array) => replies.push(decodeHil(b)));
    return { env, clock, ch, replies, own: () => env.audit.filter((l) => l.action !== 'session' && l.action !== 'session.close') };
  }

  it('N junk frames: the first REFUSALS_PER_S are answered, then the session is ended (TOO_MANY_REFUSALS) and the rest is not read; O(1) audit lines', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const f = flooded([{ purpose: 'modbus.read' }], [m.dev]);
    const closed = new Promise((r) => f.env.gateway.once('close', r));
    const N = 3 * REFUSALS_PER_S;
    for (let i = 0; i < N; i++) expect(f.ch.trySend(Uint8Array.of(0xff))).toBe(true);
    await closed;
    await settle();
    // No time passed on the budget's clock: exactly one second's worth was answered.
    expect(f.replies).toHaveLength(REFUSALS_PER_S);
    expect(new Set(f.replies.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ t: 'refused', code: 'BAD_MESSAGE' })]));
    const lines = f.own();
    // The first in full, and the one that found the budget spent, in full too, saying how many of
    // the budget's refusals this session spent (all of them here: it is the operator's one session).
    expect(lines.filter((l) => l.action === 'frame')).toHaveLength(2);
    expect(lines.filter((l) => l.action === 'frame')[1]).toMatchObject({ code: 'BAD_MESSAGE', budget: 'spent', session_spent: REFUSALS_PER_S });
    expect(lines.find((l) => l.action === 'session.end')).toMatchObject({ decision: 'refused', code: 'TOO_MANY_REFUSALS' });
    // The ones said in no line of their own are counted, at the latest when the session closes.
    expect(lines.find((l) => l.action === 'refused.suppressed')).toMatchObject({ code: 'BAD_MESSAGE', suppressed: REFUSALS_PER_S - 1 });
    const dropped = lines.find((l) => l.action === 'session.dropped');
    expect((dropped?.frames as number | undefined) ?? 0).toBeLessThanOrEqual(N - REFUSALS_PER_S - 1);
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(f.env.broker.stats.refusals).toBe(REFUSALS_PER_S + 1);
  });

  it('the budget is per second: REFUSALS_PER_S refusals each second keep the session, each answered', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const f = flooded([{ purpose: 'modbus.read' }], [m.dev]);
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < REFUSALS_PER_S; i++) f.ch.trySend(Uint8Array.of(0xff));
      await settle();
      f.clock.advance(1000);
    }
    await settle();
    expect(f.replies).toHaveLength(3 * REFUSALS_PER_S);
    expect(f.env.gateway.state).toBe('stitched');
    expect(f.env.gateway.isClosing).toBe(false);
    // An honest request still goes through.
    const c = open(f.env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened' });
  });

  it('N junk frames under the budget: one audit line in full and one summary per interval, not N lines', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const f = flooded([{ purpose: 'modbus.read' }], [m.dev]);
    const N = 150;
    for (let i = 0; i < N; i++) f.ch.trySend(Uint8Array.of(0xff));
    await settle();
    expect(f.replies).toHaveLength(N);
    expect(f.own().filter((l) => l.decision === 'refused')).toHaveLength(1);
    f.clock.advance(REFUSAL_SUMMARY_MS);
    await settle();
    const lines = f.own();
    expect(lines.map((l) => [l.action, l.code])).toEqual([
      ['frame', 'BAD_MESSAGE'],
      ['refused.suppressed', 'BAD_MESSAGE'],
    ]);
    expect(lines[1]).toMatchObject({ decision: 'refused', suppressed: N - 1, examples: ['frame'], interval_s: REFUSAL_SUMMARY_MS / 1000 });
    expect(f.env.broker.stats.refusals).toBe(N);
  });

  /** A Modbus device whose every request rejects with `error` (or, without one, never answers). */
  function failingModbus(error?: () => Error): ModbusDevice {
    const m = modbusDevice('rs485-1', 'boiler-1');
    return { ...m.dev, request: () => (error === undefined ? new Promise<Uint8Array>(() => {}) : Promise.reject(error())) };
  }

  /**
   * Sends `extra` reads past `inFlight` the device holds, `batch` at a time, and returns the answers
   * to them (no time passes on the budget's clock), checking that the session is still served.
   */
  async function pipelined(dev: ModbusDevice, inFlight: number, extra: number, batch = inFlight + extra) {
    const f = flooded([{ purpose: 'modbus.read', units: [1] }], [dev]);
    const c = open(f.env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened' });
    const replies: HilMessage[] = [];
    // A session ended under the burst fails the test at once, not at its timeout.
    const ended = new Promise<never>((_, reject) => f.env.gateway.once('closing', () => reject(new Error('the session was ended'))));
    ended.catch(() => undefined);
    for (let sent = 0; sent < inFlight + extra; ) {
      const upTo = Math.min(sent + batch, inFlight + extra);
      for (; sent < upTo; sent++) c.send({ t: 'req', id: sent, unit: 1, pdu: Uint8Array.of(3, 0, 0, 0, 1) });
      while (replies.length < sent - inFlight) replies.push(await Promise.race([c.next(), ended]));
    }
    await settle();
    expect(f.env.audit.filter((l) => l.action === 'session.end')).toEqual([]);
    expect(f.env.gateway.isClosing).toBe(false);
    // The budget is whole: a refusal of the Grant's is still answered.
    c.send({ t: 'req', id: 99_999, unit: 2, pdu: Uint8Array.of(3, 0, 0, 0, 1) });
    expect(await c.next()).toMatchObject({ t: 'res', id: 99_999, refused: 'UNIT_NOT_GRANTED' });
    return { f, replies };
  }

  it('BUSY is flow control, not spent from the budget: 3 × REFUSALS_PER_S reads past the requests in flight keep the session, each answered 0x06', async () => {
    // Found by review: a `connect … modbus-tcp` client pipelining past them is answered BUSY at
    // round-trip speed, and its session was ended (TOO_MANY_REFUSALS) within a fraction of a second.
    const { f, replies } = await pipelined(failingModbus(), DEFAULT_MAX_PENDING_REQUESTS, 3 * REFUSALS_PER_S);
    expect(replies.every((r) => r.t === 'res' && r.refused === 'BUSY' && r.pdu[0] === 0x83 && r.pdu[1] === 0x06)).toBe(true);
    // Still audited through the gate: the first in full, the rest counted.
    expect(f.own().filter((l) => l.code === 'BUSY')).toHaveLength(1);
    f.clock.advance(REFUSAL_SUMMARY_MS);
    await settle();
    expect(f.own().find((l) => l.action === 'refused.suppressed' && l.code === 'BUSY')).toMatchObject({ suppressed: 3 * REFUSALS_PER_S - 1 });
  });

  it("BUSY from the unit's queue (BUFFER_FULL), 3 × REFUSALS_PER_S times at once: the session is kept, each answered 0x06", async () => {
    const { f, replies } = await pipelined(failingModbus(() => new StateError(CommonCode.BUFFER_FULL, 'unit 1 already has 16 requests queued')), 0, 3 * REFUSALS_PER_S);
    expect(replies.every((r) => r.t === 'res' && r.refused === 'BUSY' && r.pdu[1] === 0x06)).toBe(true);
    expect(f.own().filter((l) => l.code === 'BUSY')).toHaveLength(1);
  });

  it('a unit known silent, asked 3 × REFUSALS_PER_S times at once: each answered 0x0B, one audit line in full and one failed.suppressed count, the session kept', async () => {
    // Found by review: answered at once with nothing sent, each was a `failed` line of its own
    // (3,000 reads of an absent unit, 3,000 lines), outside the gate's aggregation.
    const N = 3 * REFUSALS_PER_S;
    // 50 at a time, within the channel's requests in flight (beyond, they are BUSY).
    const { f, replies } = await pipelined(failingModbus(() => new ModbusUnitSilentError(1, 2)), 0, N, 50);
    expect(new Set(replies.map((r) => JSON.stringify(r.t === 'res' ? [r.refused, [...r.pdu]] : r)))).toEqual(new Set([JSON.stringify([undefined, [0x83, 0x0b]])]));
    const silent = () => f.own().filter((l) => l.code === 'MODBUS_UNIT_SILENT');
    expect(silent()).toMatchObject([{ action: 'modbus.request', decision: 'failed' }]);
    f.clock.advance(REFUSAL_SUMMARY_MS);
    await settle();
    expect(silent()).toMatchObject([{ decision: 'failed' }, { action: 'failed.suppressed', decision: 'failed', suppressed: N - 1 }]);
    // Not refusals: the operator did nothing wrong.
    expect(f.env.broker.stats.refusals).toBe(1);
  });

  it('past the budget: the refusal over it is not answered on a Modbus channel, and every frame after it is counted in session.dropped', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const f = flooded([{ purpose: 'modbus.read', units: [1] }], [m.dev]);
    const c = open(f.env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened' });
    f.replies.length = 0;
    const got: HilMessage[] = [];
    c.ch.on('message', (b: Uint8Array) => got.push(decodeHil(b)));
    const closed = new Promise((r) => f.env.gateway.once('close', r));
    const N = 3 * REFUSALS_PER_S;
    // Reads of a unit the Grant does not name: refused, each answered with exception 0x02 until the budget is spent.
    for (let i = 0; i < N; i++) c.send({ t: 'req', id: i, unit: 2, pdu: Uint8Array.of(3, 0, 0, 0, 1) });
    await closed;
    await settle();
    expect(got).toHaveLength(REFUSALS_PER_S);
    expect(f.own().find((l) => l.action === 'session.dropped')).toMatchObject({ code: 'TOO_MANY_REFUSALS', frames: N - REFUSALS_PER_S - 1 });
  });

  it('allowed actions stay one audit line each while refusals are counted', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const f = flooded([{ purpose: 'modbus.write', units: [1], registers: [[0, 9]] }], [m.dev]);
    const c = open(f.env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened' });
    for (let i = 0; i < 40; i++) {
      c.send({ t: 'req', id: 2 * i, unit: 1, pdu: Uint8Array.of(6, 0, i % 10, 0, i) }); // allowed
      c.send({ t: 'req', id: 2 * i + 1, unit: 1, pdu: Uint8Array.of(6, 0, 50, 0, i) }); // outside the range
    }
    for (let i = 0; i < 80; i++) await c.next();
    await settle();
    expect(m.seen).toHaveLength(40);
    expect(f.env.audit.filter((l) => l.action === 'modbus.write' && l.decision === 'allowed')).toHaveLength(40);
    expect(f.env.audit.filter((l) => l.action === 'modbus.write' && l.decision === 'refused')).toHaveLength(1);
  });

  it('a frame with a 900 KiB unknown key: refused, and its audit line stays short', async () => {
    const m = modbusDevice('rs485-1', 'boiler-1');
    const f = flooded([{ purpose: 'modbus.read' }], [m.dev]);
    const c = open(f.env, 'rs485-1', 'modbus');
    expect(await c.next()).toMatchObject({ t: 'opened' });
    const key = 'k'.repeat(900 * 1024);
    expect(c.ch.trySend(encodeCanonical({ t: 'req', id: 7, unit: 1, pdu: Uint8Array.of(3, 0, 0, 0, 1), [key]: 0 }))).toBe(true);
    expect(await c.next()).toEqual({ t: 'refused', code: 'BAD_MESSAGE' });
    await settle();
    const line = f.env.audit.find((l) => l.action === 'frame')!;
    expect(line).toMatchObject({ decision: 'refused', code: 'BAD_MESSAGE' });
    expect(String(line.reason)).toContain(`…(${key.length} chars)`);
    expect(JSON.stringify(line).length).toBeLessThan(1024);
  });

  it('an MQTT filter refused: the reason and the filter on its audit line are cut', async () => {
    const q = mqttDevice('net-0', 'press-3');
    const clock = new FakeClock();
    const env = setup([{ purpose: 'mqtt.subscribe', topics: ['plant/#'] }], [q.dev], { slot: 'net-0' }, { clock, now: (g) => () => g.expiresAt * 1000 - 3_600_000 });
    const c = open(env, 'net-0', 'mqtt');
    await c.next();
    const filter = `other/${'x'.repeat(1000)}`;
    c.send({ t: 'sub', filter });
    expect(await c.next()).toEqual({ t: 'refused', code: 'TOPIC_OUT_OF_FILTER', filter });
    await settle();
    const line = env.audit.find((l) => l.code === 'TOPIC_OUT_OF_FILTER')!;
    expect(JSON.stringify(line).length).toBeLessThan(600);
    expect(String(line.filter)).toContain(`…(${filter.length} chars)`);
  });
});
