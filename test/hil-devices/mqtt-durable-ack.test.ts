// Issue #12 "nothing lost" on the MQTT path: with durableAck the bridge acknowledges a QoS >= 1
// message (PUBACK, QoS 2 PUBREC) only when its reading is settled. Against a real mosquitto with
// persistence (started per test, stopped by its pid) and a real publisher: unsettled readings hold
// the broker to its in-flight window (mosquitto's max_inflight_messages, default 20), the broker
// redelivers exactly the unsettled ones after the bridge's client reconnects (here: the broker
// restarts, keeping its database), acks of the old connection do nothing, settled messages are
// never redelivered, and QoS 0 flows as before. Then the pure parts: the receive queue never drops
// an item still owed an ack, and the interception of mqtt.js's ack packets.
// Sync points ("everything the broker would send has arrived") are QoS 0 markers published on the
// bridge's own connection: the broker handles that socket in order, so every PUBACK before a marker
// has had its effect (the next queued message written to us) before the marker comes back.

import { afterEach, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttBridgeDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { MqttBridge } from '../../src/hil-devices/mqtt-bridge.js';
import { MqttLink } from '../../src/ports/mqtt.js';
import { HeldAcks, holdAckPackets, ReceiveQueue } from '../../src/ports/mqtt-queues.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';
import { waitFor } from '../virtual-serial/harness.js';

/** mosquitto's default max_inflight_messages: unacknowledged QoS >= 1 messages per client. */
const WINDOW = 20;
const N = 100;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function persistentBroker(): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-durable-ack-'));
  const m = await Mosquitto.start({ persistence: { dir } });
  cleanup.push(async () => {
    await m.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return m;
}

async function publisher(url: string): Promise<MqttClient> {
  const c = await connectAsync(url, { clientId: 'durable-ack-publisher', reconnectPeriod: 100 });
  cleanup.push(() => c.endAsync(true));
  return c;
}

function cfg(qos: 0 | 1 | 2, cleanSession = false): MqttBridgeDevice {
  return { id: 'line-1', driver: 'mqtt-bridge', broker: 'mqtt://127.0.0.1:1', subscribe: ['plant/line/#'], publish: [], qos, maxInflight: 16, maxQueue: 1000, maxPayloadBytes: 512, keepaliveS: 30, cleanSession };
}

interface Rig {
  readonly link: MqttLink;
  readonly bridge: MqttBridge;
  readonly readings: Reading[];
  /** Publishes a QoS 0 marker on the bridge's own connection and waits for its reading. */
  sync(): Promise<void>;
  /** Message numbers (payloads of plant/line/n), in arrival order, from reading `from` on. */
  numbers(from?: number): number[];
}

async function bridge(url: string, qos: 0 | 1 | 2, durableAck: boolean, clean = false): Promise<Rig> {
  const link = new MqttLink({ url, clientId: `durable-ack-bridge-${qos}`, clean, backoff: { baseMs: 50, capMs: 200 } });
  const b = new MqttBridge('net-1', cfg(qos, clean), link, { durableAck });
  cleanup.push(() => link.close());
  const readings: Reading[] = [];
  b.onReading((r) => readings.push(r));
  link.start();
  await link.whenOpen();
  await b.start();
  let marker = 0;
  const isMarker = (r: Reading): boolean => (r.value as { topic: string }).topic === 'plant/line/marker';
  return {
    link,
    bridge: b,
    readings,
    async sync() {
      const k = String(++marker);
      await link.publish('plant/line/marker', k, { qos: 0 });
      await waitFor(() => readings.some((r) => isMarker(r) && (r.value as { payload: string }).payload === k), 10_000, `marker ${k}`);
    },
    numbers: (from = 0) => readings.slice(from).filter((r) => !isMarker(r)).map((r) => Number((r.value as { payload: string }).payload)),
  };
}

async function publishNumbered(pub: MqttClient, qos: 0 | 1 | 2, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await pub.publishAsync(`plant/line/${i}`, String(i), { qos });
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const sorted = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);

describe.each([1, 2] as const)('durableAck, QoS %i, real mosquitto with persistence', (qos) => {
  it('unsettled readings hold the broker to its window; after a reconnect exactly the unsettled ones come again, settled ones never', async () => {
    const broker = await persistentBroker();
    const rig = await bridge(broker.url, qos, true);
    const pub = await publisher(broker.url);
    await publishNumbered(pub, qos, N);
    await rig.sync();
    // Nothing settled: the broker has sent its window and holds the rest.
    expect(rig.numbers()).toEqual(range(0, WINDOW));
    expect(rig.link.pendingAcks).toBe(WINDOW);
    expect(rig.readings.filter((r) => r.settled === undefined).length).toBe(1); // the QoS 0 marker

    // Settling message 0 acknowledges it, and the broker sends more: one on mosquitto >= 2.0.13, up
    // to a window on 2.0.11 (acking its oldest in-flight message releases that many, mosquitto#2306).
    rig.readings[0]!.settled!();
    await waitFor(() => rig.numbers().length > WINDOW, 10_000, 'more messages');
    await rig.sync();
    const got = rig.numbers().length;
    expect(rig.numbers()).toEqual(range(0, got));
    expect(rig.link.pendingAcks).toBe(got - 1);

    // The broker restarts (its database kept): the bridge's client reconnects to its session.
    const before = rig.readings.length;
    const old = rig.readings.filter((r) => r.settled !== undefined);
    await broker.restart();
    await waitFor(() => rig.link.stats.connects === 2, 10_000, 'the link to reconnect');
    await waitFor(() => rig.numbers(before).length >= Math.min(WINDOW, got - 1), 10_000, 'the redelivered messages');
    await rig.sync();
    // The oldest unsettled ones come again first, a window of them (mosquitto puts restored in-flight
    // messages back in its queue), and never the settled 0; nothing is owed for the old connection.
    const again = rig.numbers(before);
    expect(again).toEqual(range(1, 1 + Math.min(WINDOW, got - 1)));
    expect(rig.link.stats.acksForgotten).toBe(got - 1);
    expect(rig.link.pendingAcks).toBe(again.length);

    // Settles from the old connection do nothing now (mosquitto resends under the same packet ids,
    // so a stale PUBACK would acknowledge the resent message): nothing is acknowledged, nothing new comes.
    for (const r of old) r.settled!();
    expect(rig.link.pendingAcks).toBe(again.length);
    await rig.sync();
    expect(rig.numbers(before)).toEqual(again);

    // Settling what arrived on this connection lets everything else through, each message once.
    for (let round = 0; round < 20 && rig.numbers(before).length < N - 1; round++) {
      for (const r of rig.readings.slice(before)) r.settled?.();
      await waitFor(() => rig.link.pendingAcks > 0 || rig.numbers(before).length === N - 1, 10_000, 'more messages');
      await rig.sync();
    }
    // Each unsettled message came again, each message after the reconnect once, the settled 0 never.
    const after = rig.numbers(before);
    expect(sorted(after)).toEqual(range(1, N));
    console.log(JSON.stringify({ qos, window: WINDOW, received_before_restart: got, settled_before_restart: 1, redelivered: after.filter((n) => n < got).length, settled_redelivered: after.filter((n) => n === 0).length }));
  });
});

describe('durableAck across a gateway restart (persistent session)', () => {
  it('what arrives while the bridge is stopped, and what is published while the gateway is down, comes to the next run', async () => {
    const broker = await persistentBroker();
    const pub = await publisher(broker.url);
    const first = await bridge(broker.url, 1, true);
    await pub.publishAsync('plant/line/1', '1', { qos: 1 });
    await waitFor(() => first.numbers().includes(1), 10_000, 'message 1');
    first.readings.find((r) => r.settled !== undefined)!.settled!();
    // Gateway.stop(): the devices stop, then the ports close.
    await first.bridge.stop();
    await pub.publishAsync('plant/line/2', '2', { qos: 1 }); // reaches the stopped bridge
    await waitFor(() => first.link.stats.received === 2, 10_000, 'message 2 at the stopped bridge'); // arrived, not delivered
    await first.link.close();
    await pub.publishAsync('plant/line/3', '3', { qos: 1 }); // the gateway is down
    const second = await bridge(broker.url, 1, true);
    await pub.publishAsync('plant/line/4', '4', { qos: 1 });
    await waitFor(() => second.numbers().length >= 3, 10_000, 'messages 2, 3 and 4');
    await second.sync();
    // Before: stop() unsubscribed the session's filters (3 and 4 never came) and acknowledged 2 (lost).
    expect(first.numbers()).toEqual([1]);
    expect(sorted(second.numbers())).toEqual([2, 3, 4]);
  });
});

describe('a persistent session that holds none of our filters', () => {
  it('the link subscribes its filters again on a resumed session: a session an older gateway left without subscriptions still delivers', async () => {
    const broker = await persistentBroker();
    const pub = await publisher(broker.url);
    // The older gateway: subscribed, and at its stop unsubscribed (the session stays, empty).
    const old = await bridge(broker.url, 1, true);
    await old.link.unsubscribe('plant/line/#');
    await old.link.close();
    // This gateway, as Gateway.start() does: the bridge subscribes before the link connects, then
    // the link resumes that session (session present) and must still get the messages.
    const link = new MqttLink({ url: broker.url, clientId: 'durable-ack-bridge-1', clean: false, backoff: { baseMs: 50, capMs: 200 } });
    cleanup.push(() => link.close());
    const b = new MqttBridge('net-1', cfg(1), link, { durableAck: true });
    const got: string[] = [];
    b.onReading((r) => void got.push((r.value as { payload: string }).payload));
    await b.start();
    link.start();
    await link.whenOpen();
    await pub.publishAsync('plant/line/7', '7', { qos: 1 });
    // Before: nothing was subscribed on the resumed session, and nothing ever came.
    await waitFor(() => got.includes('7'), 10_000, 'message 7');
    expect(link.stats.resubscribes).toBe(1);
  });
});

describe('durableAck, a reading lost before it was stored', () => {
  it("lost() reconnects the link: the broker sends the unacknowledged messages again, where it would otherwise wait with a full window", async () => {
    const broker = await persistentBroker();
    const rig = await bridge(broker.url, 1, true);
    const pub = await publisher(broker.url);
    await publishNumbered(pub, 1, N);
    await rig.sync();
    expect(rig.numbers()).toEqual(range(0, WINDOW));
    // The reading log dropped these readings unstored: their acks never come, and the window stays full.
    // The broker keeps them for the next connection, so the log need not count them lost.
    expect(rig.readings[0]!.resent).toBe(true);
    const before = rig.readings.length;
    rig.readings[0]!.lost!();
    expect(rig.link.stats.redeliveries).toBe(1);
    await waitFor(() => rig.link.stats.connects === 2, 10_000, 'the link to reconnect');
    await waitFor(() => rig.numbers(before).length >= WINDOW, 10_000, 'the messages again');
    await rig.sync();
    expect(rig.numbers(before)).toEqual(range(0, WINDOW));
    // Settling them now lets the rest through.
    for (let round = 0; round < 20 && rig.numbers(before).length < N; round++) {
      for (const r of rig.readings.slice(before)) r.settled?.();
      await waitFor(() => rig.link.pendingAcks > 0 || rig.numbers(before).length === N, 10_000, 'more messages');
      await rig.sync();
    }
    expect(sorted(rig.numbers(before))).toEqual(range(0, N));
    // Not connected: nothing to do (the next connection resends them anyway).
    await rig.link.close();
    rig.link.redeliver();
    expect(rig.link.stats.redeliveries).toBe(1);
  });

  it('on a clean session the broker forgets them at the reconnect: the readings carry no resent, so the reading log counts them lost', async () => {
    const broker = await persistentBroker();
    const rig = await bridge(broker.url, 1, true, true);
    const pub = await publisher(broker.url);
    await publishNumbered(pub, 1, N);
    await rig.sync();
    expect(rig.numbers()).toEqual(range(0, WINDOW));
    expect(rig.readings.filter((r) => r.settled !== undefined).every((r) => r.lost !== undefined && r.resent === undefined)).toBe(true);
    const before = rig.readings.length;
    rig.readings[0]!.lost!();
    await waitFor(() => rig.link.stats.connects === 2, 10_000, 'the link to reconnect');
    // A marker after the reconnect: nothing of the first session came again, nor what the broker queued.
    await rig.sync();
    expect(rig.numbers(before)).toEqual([]);
  });
});

describe('QoS 0 and bridges without durableAck', () => {
  it('QoS 0 messages flow without settling and carry no settled', async () => {
    const broker = await persistentBroker();
    const rig = await bridge(broker.url, 0, true);
    const pub = await publisher(broker.url);
    await publishNumbered(pub, 1, N); // delivered at the subscription's QoS 0
    await rig.sync();
    expect(rig.numbers()).toEqual(range(0, N));
    expect(rig.readings.every((r) => r.settled === undefined)).toBe(true);
    expect(rig.link.pendingAcks).toBe(0);
  });

  it('without durableAck a QoS 1 message is acknowledged once its reading was emitted: nothing stalls', async () => {
    const broker = await persistentBroker();
    const rig = await bridge(broker.url, 1, false);
    const pub = await publisher(broker.url);
    await publishNumbered(pub, 1, N);
    await waitFor(() => rig.numbers().length === N, 10_000, `all ${N} messages`);
    expect(rig.numbers()).toEqual(range(0, N));
    expect(rig.readings.every((r) => r.settled === undefined)).toBe(true);
    expect(rig.link.pendingAcks).toBe(0);
  });
});

describe('MqttLink receive queue bound with held acks', () => {
  it('never drops a message owed an ack; QoS 0 messages over the bound are dropped as before', async () => {
    const broker = await persistentBroker();
    const link = new MqttLink({ url: broker.url, clientId: 'durable-ack-queue', clean: false, receiveQueueMax: 5 });
    cleanup.push(() => link.close());
    link.holdAcks();
    link.start();
    await link.whenOpen();
    await link.subscribe('plant/line/#', 1);
    const pub = await publisher(broker.url);
    await publishNumbered(pub, 1, 30);
    await waitFor(() => link.stats.received === WINDOW, 10_000, 'a window of messages');
    // Four times the bound queued, none dropped: the broker's window holds the rest back.
    expect([link.pendingMessages, link.stats.receiveDropped, link.pendingAcks]).toEqual([WINDOW, 0, WINDOW]);
    // QoS 0 on the same connection (so after them): over the bound, each is dropped on arrival.
    for (let i = 0; i < 3; i++) await link.publish('plant/line/zero', String(i), { qos: 0 });
    await waitFor(() => link.stats.received === WINDOW + 3, 10_000, 'the QoS 0 messages');
    expect([link.pendingMessages, link.stats.receiveDropped]).toEqual([WINDOW, 3]);
    const held = [];
    for (let m = link.tryReceive(); m; m = link.tryReceive()) held.push(m);
    expect(held.map((m) => m.qos)).toEqual(Array(WINDOW).fill(1));
    for (const m of held) m.ack();
    await waitFor(() => link.stats.received === 30 + 3, 10_000, 'the rest once acked');
  });
});

describe('ReceiveQueue with items owed an ack', () => {
  it('drops the oldest item not kept, possibly the new one, and grows past max only with kept items', () => {
    const kept = new Set(['a', 'b', 'c']);
    const q = new ReceiveQueue<string>(2, (x) => kept.has(x));
    expect(['a', 'x', 'b'].map((x) => q.push(x))).toEqual([0, 0, 1]);
    expect(q.length).toBe(2); // x went, a and b stay
    expect(q.push('c')).toBe(0);
    expect(q.push('y')).toBe(1); // y itself: everything before it is kept
    expect(q.dropped).toBe(2);
    expect([q.tryShift(), q.tryShift(), q.tryShift(), q.tryShift()]).toEqual(['a', 'b', 'c', undefined]);
  });
});

describe('HeldAcks and holdAckPackets', () => {
  function fakeClient(): { client: { _sendPacket: (p: { cmd: string; messageId?: number }, cb?: () => void) => void }; sent: string[] } {
    const sent: string[] = [];
    return { sent, client: { _sendPacket: (p, cb) => (sent.push(`${p.cmd}:${p.messageId ?? ''}`), cb?.()) } };
  }

  it("mqtt.js's callback runs at once, the PUBACK / PUBREC only at ack(), once; other packets pass", () => {
    const acks = new HeldAcks();
    const { client, sent } = fakeClient();
    holdAckPackets(client, acks, () => true);
    const ack1 = acks.hold(1);
    const ack2 = acks.hold(2);
    let pumped = 0;
    client._sendPacket({ cmd: 'puback', messageId: 1 }, () => pumped++);
    client._sendPacket({ cmd: 'pubrec', messageId: 2 }, () => pumped++);
    client._sendPacket({ cmd: 'puback', messageId: 3 }, () => pumped++); // not held
    client._sendPacket({ cmd: 'pingreq' }, () => pumped++);
    expect([pumped, sent]).toEqual([4, ['puback:3', 'pingreq:']]);
    expect(acks.size).toBe(2);
    ack2();
    ack2();
    ack1();
    expect(sent).toEqual(['puback:3', 'pingreq:', 'pubrec:2', 'puback:1']);
    expect(acks.size).toBe(0);
  });

  it('an ack given before mqtt.js asks goes out when it asks; after reset() an ack is a no-op, also for a reused id', () => {
    const acks = new HeldAcks();
    const { client, sent } = fakeClient();
    holdAckPackets(client, acks, () => true);
    const early = acks.hold(7);
    early();
    client._sendPacket({ cmd: 'puback', messageId: 7 });
    expect(sent).toEqual(['puback:7']);
    const stale = acks.hold(8);
    client._sendPacket({ cmd: 'puback', messageId: 8 });
    expect(acks.owes(stale)).toBe(true);
    acks.reset();
    expect(acks.owes(stale)).toBe(false);
    const fresh = acks.hold(8); // the broker reuses the id on the new connection
    client._sendPacket({ cmd: 'puback', messageId: 8 });
    stale();
    expect(sent).toEqual(['puback:7']);
    fresh();
    expect(sent).toEqual(['puback:7', 'puback:8']);
  });

  it('an ack whose client is no longer connected is not sent', () => {
    const acks = new HeldAcks();
    const { client, sent } = fakeClient();
    let connected = true;
    holdAckPackets(client, acks, () => connected);
    const ack = acks.hold(1);
    client._sendPacket({ cmd: 'puback', messageId: 1 });
    connected = false;
    ack();
    expect(sent).toEqual([]);
  });
});
