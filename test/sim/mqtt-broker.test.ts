// The demo's embedded MQTT broker, driven by mqtt.js (an independent MQTT implementation) for the
// normal flows and by raw sockets for protocol violations; keep-alive on a fake clock.

import { connect as tcpConnect, type Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { generate, parser, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedMqttBroker } from '../../src/sim/mqtt-broker.js';
import { fromHex } from '../../src/uzp/bytes.js';
import { auditSockets } from '../helpers/proc-sockets.js';
import { FakeClock } from '../helpers/fake-clock.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(clock?: FakeClock): Promise<EmbeddedMqttBroker> {
  const b = await EmbeddedMqttBroker.listen(clock ? { clock } : {});
  cleanups.push(() => b.close());
  return b;
}

async function client(b: EmbeddedMqttBroker, opts: Parameters<typeof connectAsync>[1] = {}): Promise<MqttClient> {
  const c = await connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  cleanups.push(() => c.endAsync(true).catch(() => {}));
  return c;
}

/** Collects messages of a client until `n` have arrived. */
function collect(c: MqttClient, n: number): Promise<{ topic: string; payload: string; qos: number; retain: boolean }[]> {
  const got: { topic: string; payload: string; qos: number; retain: boolean }[] = [];
  return new Promise((resolve) =>
    c.on('message', (topic, payload, packet) => {
      got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
      if (got.length === n) resolve(got);
    }),
  );
}

/** The packets these tests write and read, in a compact form; mqtt-packet does the bytes. */
type MqttPacket =
  | { readonly type: 'connect'; readonly level: 3 | 4 | 5; readonly clientId: string; readonly keepalive: number; readonly cleanSession: boolean }
  | { readonly type: 'connack'; readonly sessionPresent: boolean; readonly returnCode: number }
  | { readonly type: 'publish'; readonly topic: string; readonly payload: Uint8Array; readonly qos: 0 | 1 | 2; readonly retain: boolean; readonly dup: boolean; readonly id?: number }
  | { readonly type: 'puback' | 'unsuback'; readonly id: number }
  | { readonly type: 'subscribe'; readonly id: number; readonly subscriptions: readonly { readonly filter: string; readonly qos: 0 | 1 | 2 }[] }
  | { readonly type: 'suback'; readonly id: number; readonly granted: readonly number[] }
  | { readonly type: 'unsubscribe'; readonly id: number; readonly filters: readonly string[] }
  | { readonly type: 'pingreq' | 'pingresp' | 'disconnect' };

function toWire(p: MqttPacket): Buffer {
  switch (p.type) {
    case 'connect':
      return generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: p.level, clientId: p.clientId, keepalive: p.keepalive, clean: p.cleanSession });
    case 'publish':
      return generate({ cmd: 'publish', topic: p.topic, payload: Buffer.from(p.payload), qos: p.qos, retain: p.retain, dup: p.dup, ...(p.id !== undefined ? { messageId: p.id } : {}) });
    case 'subscribe':
      return generate({ cmd: 'subscribe', messageId: p.id, subscriptions: p.subscriptions.map((s) => ({ topic: s.filter, qos: s.qos })) });
    case 'unsubscribe':
      return generate({ cmd: 'unsubscribe', messageId: p.id, unsubscriptions: [...p.filters] });
    case 'pingreq':
    case 'disconnect':
      return generate({ cmd: p.type });
    default:
      throw new Error(`a client does not send ${p.type}`);
  }
}

function fromWire(p: Packet): MqttPacket {
  switch (p.cmd) {
    case 'connack':
      return { type: 'connack', sessionPresent: p.sessionPresent, returnCode: p.returnCode! };
    case 'publish':
      return { type: 'publish', topic: p.topic, payload: new Uint8Array(p.payload as Buffer), qos: p.qos, retain: p.retain, dup: p.dup, ...(p.qos > 0 ? { id: p.messageId! } : {}) };
    case 'puback':
    case 'unsuback':
      return { type: p.cmd, id: p.messageId! };
    case 'suback':
      return { type: 'suback', id: p.messageId!, granted: p.granted as number[] };
    case 'pingresp':
      return { type: 'pingresp' };
    default:
      throw new Error(`a broker does not send ${p.cmd}`);
  }
}

/** A raw MQTT connection: send packets or bytes, read decoded packets, see when it is closed. */
class Raw {
  readonly packets: MqttPacket[] = [];
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    const wire = parser({ protocolVersion: 4 });
    wire.on('packet', (p) => this.packets.push(fromWire(p)));
    wire.on('error', (e) => {
      throw e; // the broker sent something malformed: fail loudly
    });
    socket.on('data', (d: Buffer) => {
      wire.parse(d);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }
  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect({ host: '127.0.0.1', port }, () => resolve(new Raw(s)));
      s.once('error', reject);
      cleanups.push(() => s.destroy());
    });
  }
  send(p: MqttPacket | Uint8Array): void {
    this.socket.write(p instanceof Uint8Array ? p : toWire(p));
  }
  async next(): Promise<MqttPacket> {
    while (this.packets.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.packets.shift()!;
  }
}

const CONNECT: MqttPacket = { type: 'connect', level: 4, clientId: 'raw', keepalive: 0, cleanSession: true };

describe('embedded MQTT broker with mqtt.js clients', () => {
  it('listens on 127.0.0.1 only', async () => {
    const b = await broker();
    const listening = auditSockets(process.pid).tcpListening.filter((r) => r.local.endsWith(`:${b.port.toString(16).toUpperCase().padStart(4, '0')}`));
    expect(listening.map((r) => r.local)).toEqual([`0100007F:${b.port.toString(16).toUpperCase().padStart(4, '0')}`]);
  });

  it('routes QoS 0 and 1 by filter (+, #), at the lower of publish and granted QoS; QoS 2 requests are granted 1', async () => {
    const b = await broker();
    const sub = await client(b, { clientId: 'sub' });
    const granted = await sub.subscribeAsync({ 'plant/+/telemetry/#': { qos: 2 }, 'other/x': { qos: 0 } });
    expect(granted.map((g) => g.qos)).toEqual([1, 0]);
    const got = collect(sub, 3);
    const pub = await client(b, { clientId: 'pub' });
    await pub.publishAsync('plant/press-2/telemetry/temperature', '21.4', { qos: 1 }); // PUBACK awaited
    await pub.publishAsync('plant/press-2/cmd/start', 'no', { qos: 1 }); // matches nothing
    await pub.publishAsync('plant/oven/telemetry', 'x', { qos: 0 }); // '#' also matches the parent level
    await pub.publishAsync('other/x', 'low', { qos: 1 });
    expect(await got).toEqual([
      { topic: 'plant/press-2/telemetry/temperature', payload: '21.4', qos: 1, retain: false },
      { topic: 'plant/oven/telemetry', payload: 'x', qos: 0, retain: false },
      { topic: 'other/x', payload: 'low', qos: 0, retain: false },
    ]);
    expect(b.stats.published).toBe(4);
    expect(b.stats.delivered).toBe(3);
  });

  it('retained messages go to new subscribers with retain set; an empty retained payload clears them', async () => {
    const b = await broker();
    const pub = await client(b, { clientId: 'pub' });
    await pub.publishAsync('state/a', 'on', { qos: 1, retain: true });
    await pub.publishAsync('state/b', 'off', { qos: 1, retain: true });
    await pub.publishAsync('state/b', '', { qos: 1, retain: true });
    const sub = await client(b, { clientId: 'sub' });
    const got = collect(sub, 2);
    await sub.subscribeAsync('state/#', { qos: 1 });
    await pub.publishAsync('state/a', 'live', { qos: 0 });
    expect(await got).toEqual([
      { topic: 'state/a', payload: 'on', qos: 1, retain: true },
      { topic: 'state/a', payload: 'live', qos: 0, retain: false },
    ]);
  });

  it('publishes the will of a client that vanishes, not of one that disconnects', async () => {
    const b = await broker();
    const watcher = await client(b, { clientId: 'watcher' });
    await watcher.subscribeAsync('wills/#', { qos: 1 });
    const got = collect(watcher, 1);
    const polite = await client(b, { clientId: 'polite', will: { topic: 'wills/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await polite.endAsync(); // DISCONNECT first
    const rude = await client(b, { clientId: 'rude', will: { topic: 'wills/rude', payload: Buffer.from('gone'), qos: 1, retain: false } });
    rude.stream.destroy(); // no DISCONNECT
    expect(await got).toEqual([{ topic: 'wills/rude', payload: 'gone', qos: 1, retain: false }]);
  });

  it('unsubscribe stops delivery; a second client with the same id takes over', async () => {
    const b = await broker();
    const sub = await client(b, { clientId: 'sub' });
    await sub.subscribeAsync('a', { qos: 0 });
    await sub.unsubscribeAsync('a');
    await sub.subscribeAsync('b', { qos: 0 });
    const got = collect(sub, 1);
    const pub = await client(b, { clientId: 'pub' });
    await pub.publishAsync('a', '1', { qos: 1 });
    await pub.publishAsync('b', '2', { qos: 1 });
    expect((await got).map((m) => m.payload)).toEqual(['2']);
    const closed = new Promise<void>((r) => sub.once('close', () => r()));
    await client(b, { clientId: 'sub' });
    await closed;
  });
});

describe('embedded MQTT broker: protocol rules on raw sockets', () => {
  it('CONNACK, PINGREQ -> PINGRESP, SUBACK, PUBACK, UNSUBACK', async () => {
    const b = await broker();
    const r = await Raw.open(b.port);
    r.send(CONNECT);
    expect(await r.next()).toEqual({ type: 'connack', sessionPresent: false, returnCode: 0 });
    r.send({ type: 'pingreq' });
    expect(await r.next()).toEqual({ type: 'pingresp' });
    r.send({ type: 'subscribe', id: 7, subscriptions: [{ filter: 't/#', qos: 1 }] });
    expect(await r.next()).toEqual({ type: 'suback', id: 7, granted: [1] });
    r.send({ type: 'publish', topic: 't/1', payload: new Uint8Array([1]), qos: 1, retain: false, dup: false, id: 9 });
    const two = [await r.next(), await r.next()];
    expect(two).toContainEqual({ type: 'puback', id: 9 });
    expect(two).toContainEqual({ type: 'publish', topic: 't/1', payload: new Uint8Array([1]), qos: 1, retain: false, dup: false, id: 1 });
    r.send({ type: 'unsubscribe', id: 8, filters: ['t/#'] });
    expect(await r.next()).toEqual({ type: 'unsuback', id: 8 });
  });

  it('answers protocol level 3 with return code 1 and closes (§3.1.2.2)', async () => {
    const b = await broker();
    const r = await Raw.open(b.port);
    r.send({ ...CONNECT, level: 3 } as MqttPacket);
    expect(await r.next()).toEqual({ type: 'connack', sessionPresent: false, returnCode: 1 });
    await r.closed;
  });

  it('closes on: a first packet other than CONNECT, a second CONNECT, junk, QoS 2', async () => {
    const b = await broker();
    const cases: (MqttPacket | Uint8Array)[][] = [
      [{ type: 'pingreq' }],
      [CONNECT, CONNECT],
      [CONNECT, fromHex('ff00ff00')],
      [CONNECT, fromHex('3406000361' + '2f620001')],
    ];
    for (const packets of cases) {
      const r = await Raw.open(b.port);
      for (const p of packets) r.send(p);
      await r.closed;
    }
    expect(b.stats.protocolErrors).toBe(cases.length);
  });

  it('keep-alive: closes after 1.5 x keep-alive without a packet, and any packet restarts the clock (§3.1.2.10)', async () => {
    const clock = new FakeClock();
    const b = await broker(clock);
    const r = await Raw.open(b.port);
    r.send({ ...CONNECT, keepalive: 10 });
    await r.next(); // CONNACK
    clock.advance(14_000);
    r.send({ type: 'pingreq' });
    expect(await r.next()).toEqual({ type: 'pingresp' });
    clock.advance(14_999);
    await new Promise((res) => setImmediate(res)); // a close would have been seen by now
    expect(b.clients).toBe(1);
    clock.advance(1);
    await r.closed;
    expect(b.clients).toBe(0);
  });
});
