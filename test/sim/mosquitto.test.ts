// A real mosquitto per test on a free loopback port, stopped by its pid, and the MQTT machine
// simulator publishing telemetry and obeying commands against it.

import { afterEach, describe, expect, it } from 'vitest';
import { connectAsync, type MqttClient } from 'mqtt';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Mosquitto, mosquittoConfig } from '../../src/sim/mosquitto.js';
import { MqttDevice } from '../../src/sim/mqtt-device.js';
import { errorOf } from '../helpers/errors.js';
import { cleanupVirtualSerial, mqttBroker, mqttMachine, waitFor } from '../virtual-serial/harness.js';
import { SimErrorCode } from '../../src/sim/errors.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

async function broker(): Promise<Mosquitto> {
  const m = await Mosquitto.start();
  cleanup.push(() => m.stop());
  return m;
}

async function client(url: string): Promise<MqttClient> {
  const c = await connectAsync(url, { reconnectPeriod: 0 });
  cleanup.push(() => c.endAsync());
  return c;
}

function collect(c: MqttClient): { topic: string; payload: string }[] {
  const got: { topic: string; payload: string }[] = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString('utf8') }));
  return got;
}

describe('mosquitto per test', () => {
  it('a restart that fails leaves it not running, so its stale pid is not signalled', async () => {
    const m = await broker();
    expect(m.running).toBe(true);
    // Its config gone, mosquitto cannot start again.
    rmSync(join(m.dir, 'mosquitto.conf'));
    await expect(m.restart()).rejects.toThrow();
    expect(m.running).toBe(false);
  });

  it('generates a loopback-only, anonymous, nodelay config', () => {
    const conf = mosquittoConfig(18830);
    expect(conf).toContain('listener 18830 127.0.0.1\n');
    expect(conf).toContain('allow_anonymous true\n');
    expect(conf).toContain('set_tcp_nodelay true\n');
  });

  it('starts on a free loopback port, carries messages, and stops by its pid', async () => {
    const m = await Mosquitto.start();
    const pid = m.pid;
    expect(process.kill(pid, 0)).toBe(true);
    expect(m.url).toBe(`mqtt://127.0.0.1:${m.port}`);
    const sub = await connectAsync(m.url, { reconnectPeriod: 0 });
    const got = collect(sub);
    await sub.subscribeAsync('t/#');
    const pub = await connectAsync(m.url, { reconnectPeriod: 0 });
    await pub.publishAsync('t/x', 'hello', { qos: 1 });
    await waitFor(() => got.length === 1);
    expect(got).toEqual([{ topic: 't/x', payload: 'hello' }]);
    await pub.endAsync();
    await sub.endAsync();
    await m.stop();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('two brokers at once get two different ports', async () => {
    const [a, b] = await Promise.all([broker(), broker()]);
    expect(a.port).not.toBe(b.port);
    expect(a.pid).not.toBe(b.pid);
  });

  it('a missing executable is a clear TOOL_MISSING error', async () => {
    const e = await errorOf(Mosquitto.start({ mosquittoPath: '/nonexistent/mosquitto' }));
    expect(e.code).toBe(SimErrorCode.TOOL_MISSING);
    expect(e.message).toMatch(/apt-get install mosquitto/);
  });

  it('a port already taken by another broker is a TOOL_FAILED error with mosquitto\'s log', async () => {
    const a = await broker();
    const e = await errorOf(Mosquitto.start({ port: a.port }));
    expect(e.code).toBe(SimErrorCode.TOOL_FAILED);
    expect(e.message).toMatch(/Address already in use/);
  });

  it('leaves no config directory behind', async () => {
    const m = await Mosquitto.start();
    const dir = m.dir;
    expect(existsSync(dir)).toBe(true);
    await m.stop();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('MQTT machine simulator', () => {
  it('publishes telemetry on its topics at its interval (harness helpers)', async () => {
    const m = await mqttBroker();
    const obs = await client(m.url);
    const got = collect(obs);
    await obs.subscribeAsync('plant/oven-1/telemetry/#');
    await mqttMachine({ url: m.url, base: 'plant/oven-1', intervalMs: 20 });
    await waitFor(() => got.filter((g) => g.topic.endsWith('/temperature')).length >= 3);
    const temps = got.filter((g) => g.topic === 'plant/oven-1/telemetry/temperature').map((g) => JSON.parse(g.payload) as { seq: number; value: number; unit: string });
    expect(temps.slice(0, 3).map((t) => t.seq)).toEqual([0, 1, 2]);
    expect(temps[0]!.unit).toBe('C');
    const state = got.find((g) => g.topic === 'plant/oven-1/telemetry/state');
    expect(JSON.parse(state!.payload)).toMatchObject({ seq: 0, running: true, setpoint: 22 });
  });

  it('obeys command topics and acknowledges them; refuses bad ones', async () => {
    const m = await broker();
    const op = await client(m.url);
    const got = collect(op);
    await op.subscribeAsync('plant/press/evt/ack');
    const dev = await MqttDevice.start({ url: m.url, base: 'plant/press', intervalMs: 0 });
    cleanup.push(() => dev.stop());
    await op.publishAsync('plant/press/cmd/setpoint', '35.5');
    await op.publishAsync('plant/press/cmd/stop', '');
    await op.publishAsync('plant/press/cmd/setpoint', 'hot');
    await op.publishAsync('plant/press/cmd/explode', '');
    await waitFor(() => got.length === 4);
    expect(got.map((g) => JSON.parse(g.payload))).toEqual([
      { command: 'setpoint', ok: true, value: 35.5 },
      { command: 'stop', ok: true },
      { command: 'setpoint', ok: false, error: 'setpoint: expected a number of °C in -50..300' },
      { command: 'explode', ok: false, error: 'unknown command' },
    ]);
    expect(dev.state).toMatchObject({ running: false, setpoint: 35.5 });
    expect(dev.commands).toBe(4);
  });

  it('temperature approaches the setpoint while running and ambient when stopped', async () => {
    const m = await broker();
    const dev = await MqttDevice.start({ url: m.url, base: 'plant/x', intervalMs: 0 });
    cleanup.push(() => dev.stop());
    dev.state.setpoint = 60;
    for (let i = 0; i < 20; i++) await dev.publishTelemetry();
    expect(dev.state.temperature).toBeGreaterThan(59);
    dev.state.running = false;
    for (let i = 0; i < 20; i++) await dev.publishTelemetry();
    expect(dev.state.temperature).toBeLessThan(21);
  });
});
