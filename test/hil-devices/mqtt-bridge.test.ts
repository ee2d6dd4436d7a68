// mqtt-bridge against a real mosquitto (started per test on a free loopback port, stopped by its
// pid) and the MQTT machine simulator: readings from the bridged filters, retained messages marked,
// operator subscriptions inside and outside them, publishing allowed and refused, payload bounds
// both ways.

import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { MqttBridgeDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { MqttBridge, payloadValue } from '../../src/hil-devices/mqtt-bridge.js';
import { MqttLink } from '../../src/ports/mqtt.js';
import { errorOf } from '../helpers/errors.js';
import { cleanupVirtualSerial, mqttBroker, mqttMachine, waitFor } from '../virtual-serial/harness.js';
import { DeviceErrorCode } from '../../src/hil-devices/errors.js';
import { CommonCode } from '../../src/lib/errors.js';

const links: MqttLink[] = [];
afterEach(async () => {
  for (const l of links.splice(0)) await l.close();
  await cleanupVirtualSerial();
});

async function link(url: string): Promise<MqttLink> {
  const l = new MqttLink({ url, backoff: { baseMs: 50, capMs: 300 } }).start();
  links.push(l);
  await l.whenOpen();
  return l;
}

function cfg(o: Partial<MqttBridgeDevice> = {}): MqttBridgeDevice {
  return {
    id: 'oven-1',
    driver: 'mqtt-bridge',
    broker: 'mqtt://127.0.0.1:1883',
    subscribe: ['plant/oven-1/telemetry/#', 'plant/oven-1/evt/+'],
    publish: ['plant/oven-1/cmd/+'],
    qos: 1,
    maxInflight: 16,
    maxQueue: 1000,
    maxPayloadBytes: 512,
    keepaliveS: 30,
    cleanSession: false,
    ...o,
  };
}

async function bridge(url: string, c: MqttBridgeDevice = cfg()): Promise<{ b: MqttBridge; readings: Reading[]; messages: [string, Uint8Array][] }> {
  const b = new MqttBridge('mqtt-1', c, await link(url));
  const readings: Reading[] = [];
  const messages: [string, Uint8Array][] = [];
  b.onReading((r) => readings.push(r));
  b.onMessage((t, p) => messages.push([t, p]));
  await b.start();
  return { b, readings, messages };
}

const topicOf = (r: Reading): string => (r.value as { topic: string }).topic;

describe('payloadValue', () => {
  it('printable UTF-8 becomes text, anything else stays bytes', () => {
    expect(payloadValue(Buffer.from('{"seq":1,"value":21.4}'))).toBe('{"seq":1,"value":21.4}');
    expect(payloadValue(Buffer.from('line 1\r\n\tline 2 °C'))).toBe('line 1\r\n\tline 2 °C');
    expect(payloadValue(new Uint8Array(0))).toBe('');
    expect(payloadValue(Uint8Array.of(0, 1, 2, 0xff))).toEqual(Uint8Array.of(0, 1, 2, 0xff));
    expect(payloadValue(Uint8Array.of(0x41, 0x00))).toEqual(Uint8Array.of(0x41, 0x00)); // NUL: not text
    expect(payloadValue(Uint8Array.of(0xc3, 0x28))).toEqual(Uint8Array.of(0xc3, 0x28)); // invalid UTF-8
    // A leading byte order mark is part of the text, not dropped: the text re-encodes to the bytes.
    expect(payloadValue(Uint8Array.of(0xef, 0xbb, 0xbf, 0x32, 0x31))).toBe('\ufeff21');
  });

  it('property: 10,000 random payloads never throw; text results re-encode to the same bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 32 }).map((s) => new Uint8Array(Buffer.from(s))), fc.string({ maxLength: 8 }).map((s) => new Uint8Array(Buffer.from(`\ufeff${s}`)))), (p) => {
        const v = payloadValue(p);
        if (typeof v === 'string') expect(new Uint8Array(Buffer.from(v, 'utf8'))).toEqual(p);
        else expect(v).toBe(p);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('mqtt-bridge with mosquitto and the MQTT machine simulator', () => {
  it('every message under the bridged filters is one reading with topic, payload and seq', async () => {
    const broker = await mqttBroker();
    const { readings, messages } = await bridge(broker.url);
    await mqttMachine({ url: broker.url, base: 'plant/oven-1', intervalMs: 30 });
    await mqttMachine({ url: broker.url, base: 'plant/oven-2', intervalMs: 30, clientId: 'oven-2' }); // not bridged
    await waitFor(() => readings.length >= 6, 10_000, 'six readings');
    const r0 = readings.find((r) => topicOf(r) === 'plant/oven-1/telemetry/temperature')!;
    expect(r0).toMatchObject({ slot: 'mqtt-1', device: 'oven-1', kind: 'mqtt', source: { kind: 'mqtt', topic: 'plant/oven-1/telemetry/temperature' } });
    const body = JSON.parse((r0.value as { payload: string }).payload) as { value: number; unit: string };
    expect(body.unit).toBe('C');
    expect(typeof body.value).toBe('number');
    expect(readings.every((r) => topicOf(r).startsWith('plant/oven-1/telemetry/'))).toBe(true);
    expect(readings.map((r) => r.seq)).toEqual(readings.map((_, i) => i));
    expect(messages.length).toBeGreaterThanOrEqual(readings.length - 1); // same source, same order
    expect(messages.slice(0, 3).map(([t]) => t)).toEqual(readings.slice(0, 3).map(topicOf));
  });

  it('a retained message the broker delivers at subscribe is a reading marked retain: true; live ones are not, even one published with retain', async () => {
    const broker = await mqttBroker();
    const machine = await link(broker.url);
    // The machine's last-known state, retained by the broker before the bridge subscribes.
    await machine.publish('plant/oven-1/evt/state', 'idle', { qos: 1, retain: true });
    const { readings } = await bridge(broker.url);
    await waitFor(() => readings.length >= 1, 10_000, 'the retained message');
    // To an established subscription the broker sends a message live, retain flag clear (MQTT
    // 3.1.1 §3.3.1.3), however the publisher set it.
    await machine.publish('plant/oven-1/evt/state', 'running', { qos: 1, retain: true });
    await machine.publish('plant/oven-1/evt/door', 'open', { qos: 1 });
    await waitFor(() => readings.length >= 3, 10_000, 'two live messages');
    expect(readings.map((r) => r.value)).toEqual([
      { topic: 'plant/oven-1/evt/state', payload: 'idle', retain: true },
      { topic: 'plant/oven-1/evt/state', payload: 'running' },
      { topic: 'plant/oven-1/evt/door', payload: 'open' },
    ]);
  });

  it('operator subscriptions must lie inside the bridged filters', async () => {
    const broker = await mqttBroker();
    const { b } = await bridge(broker.url);
    await b.subscribe('plant/oven-1/telemetry/temperature');
    await b.subscribe('plant/oven-1/telemetry/+');
    await b.subscribe('plant/oven-1/telemetry/#');
    await b.subscribe('plant/oven-1/evt/ack');
    for (const outside of ['plant/#', 'plant/+/telemetry/temperature', 'plant/oven-2/telemetry/temperature', 'plant/oven-1/evt/#', 'plant/oven-1/cmd/start', '#']) {
      expect((await errorOf(b.subscribe(outside))).code).toBe(DeviceErrorCode.TOPIC_NOT_BRIDGED);
    }
    expect((await errorOf(b.subscribe('plant/#/x'))).code).toBe(CommonCode.USAGE);
    expect(b.status()).toMatchObject({ refused: 6, refusedFilters: [] });
  });

  it('publishes only to the bridged publish filters, within max_payload_bytes; the machine obeys', async () => {
    const broker = await mqttBroker();
    const { b, readings } = await bridge(broker.url);
    const machine = await mqttMachine({ url: broker.url, base: 'plant/oven-1', intervalMs: 0 });
    await b.publish('plant/oven-1/cmd/setpoint', Buffer.from('25'), 1, false);
    await waitFor(() => readings.some((r) => topicOf(r) === 'plant/oven-1/evt/ack'), 10_000, 'the ack');
    expect(machine.state.setpoint).toBe(25);
    const ack = readings.find((r) => topicOf(r) === 'plant/oven-1/evt/ack')!;
    expect(JSON.parse((ack.value as { payload: string }).payload)).toEqual({ command: 'setpoint', ok: true, value: 25 });

    expect((await errorOf(b.publish('plant/oven-1/telemetry/temperature', Buffer.from('99'), 0, false))).code).toBe(DeviceErrorCode.TOPIC_NOT_BRIDGED);
    expect((await errorOf(b.publish('plant/oven-2/cmd/stop', Buffer.from(''), 0, false))).code).toBe(DeviceErrorCode.TOPIC_NOT_BRIDGED);
    expect((await errorOf(b.publish('plant/oven-1/cmd/start/now', Buffer.from(''), 0, false))).code).toBe(DeviceErrorCode.TOPIC_NOT_BRIDGED);
    expect((await errorOf(b.publish('plant/oven-1/cmd/+', Buffer.from(''), 0, false))).code).toBe(CommonCode.USAGE);
    expect((await errorOf(b.publish('plant/oven-1/cmd/setpoint', new Uint8Array(513), 1, false))).code).toBe(DeviceErrorCode.PAYLOAD_TOO_LARGE);
    await b.publish('plant/oven-1/cmd/stop', new Uint8Array(0), 1, false);
    await waitFor(() => machine.commands === 2, 10_000, 'the stop command');
    expect(machine.state.running).toBe(false);
    expect(b.status()).toMatchObject({ published: 2, refused: 4 });
  });

  it('binary payloads stay bytes; oversized incoming messages are dropped whole and counted; nothing more is delivered after stop()', async () => {
    const broker = await mqttBroker();
    const { b, readings, messages } = await bridge(broker.url);
    const other = await link(broker.url);
    await other.publish('plant/oven-1/evt/raw', Uint8Array.of(0, 1, 2, 0xff), { qos: 1 });
    await other.publish('plant/oven-1/evt/dump', new Uint8Array(2000), { qos: 1 });
    await other.publish('plant/oven-1/evt/after', 'ok', { qos: 1 });
    await waitFor(() => readings.length >= 2, 10_000, 'two readings');
    expect(readings.map((r) => r.value)).toEqual([
      { topic: 'plant/oven-1/evt/raw', payload: Uint8Array.of(0, 1, 2, 0xff) },
      { topic: 'plant/oven-1/evt/after', payload: 'ok' },
    ]);
    expect(messages.map(([t]) => t)).toEqual(['plant/oven-1/evt/raw', 'plant/oven-1/evt/after']);
    expect(b.status()).toMatchObject({ messages: 2, oversized: 1 });

    await b.stop();
    await other.publish('plant/oven-1/evt/late', 'x', { qos: 1 });
    // Sync point: the broker routes "late" before the marker that follows it from the same client,
    // so once the marker is back the late message has had its chance to arrive.
    await other.subscribe('marker/#', 1);
    await other.publish('marker/done', 'x', { qos: 1 });
    await other.receive();
    expect(readings.length).toBe(2);
  });
});
