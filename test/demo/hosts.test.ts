// The demo's equipment hosts and fallbacks, in-process: socat detection by actually running without
// it on PATH, the PTY lines and their cleanup, the MQTT machine on the embedded broker, the
// in-gateway fallback (paced memory lines behind the real SerialLink and Modbus RTU master), and
// the exit rule.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedEquipment } from '../../src/demo/embedded-equipment.js';
import { openMqttEquipment, openSerialEquipment } from '../../src/demo/hosts.js';
import { verdict } from '../../src/demo/run.js';
import { ModbusBus } from '../../src/ports/modbus/bus.js';
import { SerialLink } from '../../src/ports/serial.js';
import { errorOf } from '../helpers/errors.js';
import { pidAlive } from '../helpers/processes.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'uzp-demo-test-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('serial equipment host', () => {
  it('uses socat when present: one paced PTY link per serial slot, socat stopped by pid on close', async () => {
    const dir = tempDir();
    const eq = await openSerialEquipment(dir, true);
    cleanups.push(() => eq.close());
    expect(eq.choice).toEqual({ used: 'socat' });
    expect(existsSync(join(dir, 'rs485-1')) && existsSync(join(dir, 'tty-1'))).toBe(true);
    expect(eq.pids.length).toBe(2);
    expect(eq.pids.every(pidAlive)).toBe(true);
    await eq.close();
    expect(eq.pids.filter(pidAlive)).toEqual([]);
    expect(existsSync(join(dir, 'rs485-1'))).toBe(false);
  });

  it('falls back to embedded when socat is really missing (PATH without it), and when told to', async () => {
    const path = process.env.PATH;
    process.env.PATH = tempDir(); // an empty directory: no socat to spawn
    try {
      const eq = await openSerialEquipment(tempDir(), true);
      expect(eq.choice).toEqual({ used: 'embedded', reason: 'socat not found' });
      expect(eq.pids).toEqual([]);
    } finally {
      process.env.PATH = path;
    }
    expect((await openSerialEquipment(tempDir(), false)).choice).toEqual({ used: 'embedded', reason: 'socat disabled (--no-socat)' });
  });
});

describe('MQTT equipment host', () => {
  for (const allow of [true, false]) {
    it(`${allow ? 'mosquitto' : 'embedded broker (--no-mosquitto)'}: the MQTT machine's telemetry reaches a subscriber; close stops it`, async () => {
      const eq = await openMqttEquipment(allow);
      cleanups.push(() => eq.close());
      expect(eq.choice.used).toBe(allow ? 'mosquitto' : 'embedded');
      expect(eq.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      const sub = await connectAsync(eq.url, { reconnectPeriod: 0 });
      cleanups.push(() => sub.endAsync(true));
      const got = new Promise<string>((resolve) => sub.on('message', (topic) => resolve(topic)));
      await sub.subscribeAsync('plant/press-2/telemetry/#', { qos: 1 });
      expect(await got).toMatch(/^plant\/press-2\/telemetry\/(temperature|state)$/);
      await sub.endAsync(true);
      await eq.close();
      if (eq.pid !== undefined) expect(pidAlive(eq.pid)).toBe(false);
      await expect(connectAsync(eq.url, { reconnectPeriod: 0, connectTimeout: 2000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' }); // nobody listens there any more
    });
  }
});

describe('in-gateway fallback (uzpgw demo gateway)', () => {
  it('the real SerialLink + Modbus RTU master reach both TH-20s and the meter over a paced memory line; absent units stay silent', async () => {
    const eq = startEmbeddedEquipment();
    cleanups.push(() => eq.close());
    expect(eq.factoryFor('net-1')).toBeUndefined();
    const link = new SerialLink({ path: 'demo:rs485-1', baudRate: 19200, parity: 'even', portFactory: eq.factoryFor('rs485-1')! }).start();
    const bus = ModbusBus.rtu(link, { timeoutMs: 300 });
    cleanups.push(async () => {
      await bus.close();
      await link.close();
    });
    await link.whenOpen();
    for (const unit of [1, 2]) {
      const [t, h] = await bus.read(unit, 'input', 0, 2);
      expect(t! / 10).toBeGreaterThan(15);
      expect(t! / 10).toBeLessThan(30);
      expect(h! / 10).toBeGreaterThan(30);
    }
    const [hi, lo] = await bus.read(7, 'holding', 100, 2);
    expect((hi! * 65536 + lo!) / 10).toBeGreaterThan(1_234_000);
    expect((await errorOf(bus.read(3, 'input', 0, 1))).code).toBe('MODBUS_TIMEOUT');
  });

  it('the line sensor streams CR LF lines to the tty-1 SerialLink', async () => {
    const eq = startEmbeddedEquipment();
    cleanups.push(() => eq.close());
    const link = new SerialLink({ path: 'demo:tty-1', baudRate: 9600, portFactory: eq.factoryFor('tty-1')! }).start();
    cleanups.push(() => link.close());
    let text = '';
    await new Promise<void>((resolve) =>
      link.on('data', (d) => {
        text += Buffer.from(d).toString('latin1');
        if (/T=-?\d+\.\d;H=\d+\r\n/.test(text)) resolve();
      }),
    );
  });
});

describe('exit rule', () => {
  it('ok only when every slot delivered and nothing failed; the silent slots are named', () => {
    const all = new Map([
      ['rs485-1', 5],
      ['tty-1', 2],
      ['net-1', 3],
    ]);
    expect(verdict(all, undefined)).toEqual({ ok: true, missing: [] });
    expect(verdict(new Map([...all, ['tty-1', 0]]), undefined)).toEqual({ ok: false, missing: ['tty-1'] });
    expect(verdict(new Map(), undefined)).toEqual({ ok: false, missing: ['rs485-1', 'tty-1', 'net-1'] });
    expect(verdict(all, 'gateway exited')).toEqual({ ok: false, missing: [] });
  });
});
