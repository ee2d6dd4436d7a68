// createDevice picks the driver the slot's config names and refuses a missing port; the shared
// reading stream stamps seq and timestamps and survives a throwing listener.

import { describe, expect, it } from 'vitest';
import type { DeviceConfig } from '../../src/hil-devices/config.js';
import { createDevice, ModbusPoller, MqttBridge, ReadingStream, SerialLine, SerialRaw } from '../../src/hil-devices/index.js';
import { ModbusBus } from '../../src/ports/modbus/bus.js';
import { MqttLink } from '../../src/ports/mqtt.js';
import { SerialLink } from '../../src/ports/serial.js';
import { codeOf } from '../helpers/errors.js';
import { CommonCode } from '../../src/lib/errors.js';

const serial = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 } as const;

const DEVICES: DeviceConfig[] = [
  { id: 'plc', driver: 'modbus-poller', transport: { kind: 'rtu', serial }, timeoutMs: 100, pollIntervalMs: 1000, queueLimit: 8, units: [] },
  { id: 'gps', driver: 'serial-line', serial, delimiter: '\r\n', maxLineBytes: 128, encoding: 'latin1' },
  { id: 'con', driver: 'serial-raw', serial, maxBufferBytes: 256, idleFlushMs: 5 },
  { id: 'oven', driver: 'mqtt-bridge', broker: 'mqtt://127.0.0.1:1', subscribe: ['a/#'], publish: [], qos: 0, maxInflight: 1, maxQueue: 1, maxPayloadBytes: 16, keepaliveS: 30, cleanSession: true },
];

describe('createDevice', () => {
  it('builds the configured driver on the given port (ports are not started: nothing is opened)', () => {
    const link = new SerialLink({ path: '/nonexistent/tty', baudRate: 9600 });
    const ports = { link, bus: ModbusBus.rtu(link), mqtt: new MqttLink({ url: 'mqtt://127.0.0.1:1' }) };
    const made = DEVICES.map((d) => createDevice('slot-a', d, ports));
    expect(made.map((d) => [d.constructor, d.slot, d.id, d.driver, d.kind])).toEqual([
      [ModbusPoller, 'slot-a', 'plc', 'modbus-poller', 'modbus'],
      [SerialLine, 'slot-a', 'gps', 'serial-line', 'serial'],
      [SerialRaw, 'slot-a', 'con', 'serial-raw', 'serial'],
      [MqttBridge, 'slot-a', 'oven', 'mqtt-bridge', 'mqtt'],
    ]);
  });

  it('refuses a driver whose port is missing', () => {
    for (const d of DEVICES) expect(codeOf(() => createDevice('slot-a', d, {}))).toBe(CommonCode.USAGE);
  });
});

describe('ReadingStream', () => {
  it('stamps slot, device, kind, seq and whole-ms ts; a throwing listener does not starve the others', () => {
    let t = 1000.6;
    const s = new ReadingStream({ slot: 's', device: 'd', kind: 'serial', now: () => t });
    const seen: number[] = [];
    s.on(() => {
      throw new Error('consumer bug');
    });
    const off = s.on((r) => seen.push(r.seq));
    expect(s.emit({ line: 'a' })).toEqual({ slot: 's', device: 'd', kind: 'serial', seq: 0, ts: 1001, value: { line: 'a' } });
    t = 2000;
    expect(s.emit('b', { kind: 'mqtt', topic: 'x' })).toEqual({ slot: 's', device: 'd', kind: 'serial', seq: 1, ts: 2000, value: 'b', source: { kind: 'mqtt', topic: 'x' } });
    off();
    s.emit(null);
    expect(seen).toEqual([0, 1]);
    expect(s.listenerErrors).toBe(3);
    expect(s.count).toBe(3);
  });
});
