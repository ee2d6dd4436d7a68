// A narrowed config on a persistent session, against a real mosquitto (started per test, stopped by
// its pid): the broker keeps the subscriptions of the previous run (the link never unsubscribes a
// filter it was not told about), so it still delivers the old, wider filter's messages. The bridge
// must take only what its configured filters match: the rest is acknowledged (never sent again) and
// counted, never a reading.

import { afterEach, describe, expect, it } from 'vitest';
import { connectAsync } from 'mqtt';
import type { MqttBridgeDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { MqttBridge } from '../../src/hil-devices/mqtt-bridge.js';
import { MqttLink } from '../../src/ports/mqtt.js';
import { cleanupVirtualSerial, mqttBroker, waitFor } from '../virtual-serial/harness.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

const cfg = (subscribe: string[]): MqttBridgeDevice => ({
  id: 'oven-1', driver: 'mqtt-bridge', broker: '', subscribe, publish: [], qos: 1,
  maxInflight: 16, maxQueue: 1000, maxPayloadBytes: 512, keepaliveS: 30, cleanSession: false,
});

function sessionLink(url: string): MqttLink {
  const l = new MqttLink({ url, clientId: 'gw-slot-1', clean: false });
  cleanup.push(() => l.close());
  return l;
}

describe('mqtt-bridge on a session holding a filter the config no longer has', () => {
  it('a message outside the configured filters is acknowledged, counted, and no reading', async () => {
    const m = await mqttBroker();
    // Run 1 bridged plant/#; its session (clean false, same client id) keeps that subscription.
    const l1 = sessionLink(m.url).start();
    await l1.whenOpen();
    await new MqttBridge('mqtt-1', cfg(['plant/#']), l1).start();
    await l1.close();

    // Run 2: the config is narrowed to plant/oven-1/#.
    const l2 = sessionLink(m.url);
    const b = new MqttBridge('mqtt-1', cfg(['plant/oven-1/#']), l2, { durableAck: true });
    const got: Reading[] = [];
    b.onReading((r) => got.push(r));
    await b.start();
    l2.start();
    await l2.whenOpen();
    const pub = await connectAsync(m.url, { clientId: 'pub' });
    cleanup.push(() => pub.endAsync(true));
    await pub.publishAsync('plant/oven-1/t', 'in', { qos: 1 });
    await pub.publishAsync('plant/hr/payroll', 'outside', { qos: 1 });
    await pub.publishAsync('plant/oven-1/t', 'in2', { qos: 1 });
    await waitFor(() => got.length >= 2, 10_000, 'two readings');

    expect(got.map((r) => r.value)).toEqual([
      { topic: 'plant/oven-1/t', payload: 'in' },
      { topic: 'plant/oven-1/t', payload: 'in2' },
    ]);
    expect(b.status()).toMatchObject({ messages: 2, unbridged: 1 });
    // durableAck: the two readings wait for their settle; the dropped message was acknowledged.
    expect(l2.pendingAcks).toBe(2);
  });
});
