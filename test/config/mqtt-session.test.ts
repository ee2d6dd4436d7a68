// mqtt-bridge sessions: persistent (clean_session false) by default for QoS >= 1, so the broker
// keeps the subscriptions and queues messages while the gateway restarts; under a client id that
// is stable and unique per gateway and slot when the config names none.

import { describe, expect, it } from 'vitest';
import { defaultMqttClientId } from '../../src/gateway/equipment.js';
import type { MqttBridgeDevice } from '../../src/hil-devices/config.js';
import { check, edit } from './fixtures.js';

const bridge = (mutate: (d: Record<string, unknown>) => void = () => {}): MqttBridgeDevice => {
  const r = check(edit((c) => mutate(c.slots['net-1'].device)));
  expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
  return r.config!.slots.find((s) => s.id === 'net-1')!.device as MqttBridgeDevice;
};

describe('mqtt-bridge session', () => {
  it('is persistent for QoS 1 and 2, clean for QoS 0, and clean_session overrides either', () => {
    expect(bridge((d) => (d.qos = 1)).cleanSession).toBe(false);
    expect(bridge((d) => (d.qos = 2)).cleanSession).toBe(false);
    expect(bridge((d) => (d.qos = 0)).cleanSession).toBe(true);
    expect(bridge((d) => ((d.qos = 1), (d.clean_session = true))).cleanSession).toBe(true);
    expect(check(edit((c) => (c.slots['net-1'].device.clean_session = 'no'))).issues.map((i) => i.path)).toContain('slots.net-1.device.clean_session');
  });

  it('keepalive_s is 1..65535 (0, keepalive off, is refused: test/config/config-errors.test.ts)', () => {
    expect(bridge().keepaliveS).toBe(30);
    expect(bridge((d) => (d.keepalive_s = 1)).keepaliveS).toBe(1);
    expect(bridge((d) => (d.keepalive_s = 65_535)).keepaliveS).toBe(65_535);
  });

  it('the default client id names the gateway and the slot, and stays within 64 characters', () => {
    expect(defaultMqttClientId('0123456789abcdef'.repeat(4), 'net-1')).toBe('uzpgw-0123456789ab-net-1');
    expect(defaultMqttClientId('ab'.repeat(32), 'n'.repeat(64))).toHaveLength(64);
  });
});
