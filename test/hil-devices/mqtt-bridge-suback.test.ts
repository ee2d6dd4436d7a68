// SUBACK refusals (0x80) on the bridge's filters, from a loopback broker of our own (mqtt-packet on
// the wire) whose answer to each filter the test chooses per connection: an ACL backend that is
// briefly away refuses, then grants at the next connection. mqtt.js 5 rejects such a subscribe with
// its ErrorWithSubackPacket; the link must report MQTT_REFUSED for exactly the refused filters, keep
// them for the next connection, and the bridge must follow the broker's latest answer per filter.

import { createServer, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttBridgeDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { MqttBridge } from '../../src/hil-devices/mqtt-bridge.js';
import { PortErrorCode } from '../../src/ports/errors.js';
import { MqttLink } from '../../src/ports/mqtt.js';
import { errorOf } from '../helpers/errors.js';
import { waitFor } from '../virtual-serial/harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A broker answering each SUBSCRIBE with `answer(connection number, filter)`; QoS 0 PUBLISH on demand. */
async function choosyBroker(answer: (conn: number, filter: string) => number) {
  let conns = 0;
  const subscribes: string[] = [];
  const socks = new Set<Socket>();
  const server = createServer((s) => {
    socks.add(s);
    const n = ++conns;
    const p = mqttPacket.parser({ protocolVersion: 4 });
    p.on('packet', (pk) => {
      if (pk.cmd === 'connect') s.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
      if (pk.cmd === 'subscribe') {
        subscribes.push(`${n}: ${pk.subscriptions.map((x) => x.topic).join(',')}`);
        s.write(mqttPacket.generate({ cmd: 'suback', messageId: pk.messageId, granted: pk.subscriptions.map((x) => answer(n, x.topic)) }));
      }
      if (pk.cmd === 'pingreq') s.write(mqttPacket.generate({ cmd: 'pingresp' }));
    });
    s.on('data', (d) => p.parse(d));
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => socks.forEach((s) => s.destroy()));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`,
    subscribes,
    dropAll: (): void => socks.forEach((s) => s.destroy()),
    publish: (topic: string, payload: string): void => socks.forEach((s) => s.write(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }))),
  };
}

function link(url: string): MqttLink {
  const l = new MqttLink({ url, backoff: { baseMs: 10, capMs: 20 } });
  cleanups.push(() => l.close());
  return l;
}

const cfg = (subscribe: string[]): MqttBridgeDevice => ({
  id: 'oven-1', driver: 'mqtt-bridge', broker: '', subscribe, publish: [], qos: 1,
  maxInflight: 16, maxQueue: 1000, maxPayloadBytes: 512, keepaliveS: 30, cleanSession: true,
});

describe('SUBACK 0x80', () => {
  it('a subscribe on an open link: MQTT_REFUSED for the refused filter only', async () => {
    const broker = await choosyBroker((_, f) => (f === 'plant/secret/#' ? 0x80 : 1));
    const l = link(broker.url).start();
    await l.whenOpen();
    await l.subscribe('plant/oven-1/#', 1);
    const e = await errorOf(l.subscribe('plant/secret/#', 1));
    expect([e.code, (e as { reasonCode?: number }).reasonCode]).toEqual([PortErrorCode.MQTT_REFUSED, 0x80]);
    // Both are asked for again at the next connection (one SUBSCRIBE), each answer reported.
    const answers: string[] = [];
    l.onGrant((f, r) => answers.push(`${f}=${r === null ? 'granted' : r.code}`));
    broker.dropAll();
    await waitFor(() => answers.length === 2, 10_000, 'the resubscription answers');
    expect(broker.subscribes[2]).toBe('2: plant/oven-1/#,plant/secret/#');
    expect(answers).toEqual(['plant/oven-1/#=granted', `plant/secret/#=${PortErrorCode.MQTT_REFUSED}`]);
  });

  it('the bridge follows the latest answer: refused at the first connection (started before it), granted at the next', async () => {
    const broker = await choosyBroker((conn) => (conn === 1 ? 0x80 : 1));
    const l = link(broker.url);
    const b = new MqttBridge('mqtt-1', cfg(['plant/#']), l);
    const got: Reading[] = [];
    b.onReading((r) => got.push(r));
    await b.start(); // as Gateway.start(): before the link connects
    l.start();
    await waitFor(() => broker.subscribes.length === 1 && b.status().refusedFilters.length === 1, 10_000, 'the refusal');
    expect((await errorOf(b.subscribe('plant/x'))).code).toBe(PortErrorCode.MQTT_REFUSED);

    broker.dropAll(); // the ACL backend is back by the next connection
    await waitFor(() => broker.subscribes.length === 2 && b.status().refusedFilters.length === 0, 10_000, 'the grant');
    await b.subscribe('plant/x');
    broker.publish('plant/x', 'flows');
    await waitFor(() => got.length === 1, 10_000, 'a reading');
    expect(got[0]!.value).toEqual({ topic: 'plant/x', payload: 'flows' });
  });

  it('the bridge started on an open link: refused, then granted after a reconnect', async () => {
    const broker = await choosyBroker((conn) => (conn === 1 ? 0x80 : 1));
    const l = link(broker.url).start();
    await l.whenOpen();
    const b = new MqttBridge('mqtt-1', cfg(['plant/#']), l);
    await b.start();
    expect(b.status().refusedFilters).toEqual(['plant/#']);
    expect((await errorOf(b.subscribe('plant/x'))).code).toBe(PortErrorCode.MQTT_REFUSED);
    broker.dropAll();
    await waitFor(() => broker.subscribes.length === 2 && b.status().refusedFilters.length === 0, 10_000, 'the grant');
    await b.subscribe('plant/x');
  });
});
