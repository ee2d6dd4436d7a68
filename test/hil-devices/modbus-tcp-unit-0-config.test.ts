// The per-slot `tcp_unit_0` setting of a modbus-poller (what an operator's Modbus TCP unit 0 means
// on an RTU slot): validated, defaulted to "refuse", refused on Modbus TCP devices (unit 0 is an
// ordinary address there), and part of the config digest the attestation measures.

import { describe, expect, it } from 'vitest';
import { configDigestHex, formatIssue } from '../../src/config/index.js';
import type { ModbusPollerDevice } from '../../src/config/types.js';
import { check, edit, errors } from '../config/fixtures.js';

const bus = (r: ReturnType<typeof check>): ModbusPollerDevice => r.config!.slots.find((s) => s.id === 'rs485-1')!.device as ModbusPollerDevice;

describe('tcp_unit_0', () => {
  it('defaults to "refuse" on an RTU slot; "broadcast" is taken as written', () => {
    expect(bus(check(edit(() => {}))).tcpUnit0).toBe('refuse');
    expect(bus(check(edit((c) => (c.slots['rs485-1'].device.tcp_unit_0 = 'broadcast')))).tcpUnit0).toBe('broadcast');
  });

  it('anything else is one error naming the choices', () => {
    const e = errors(check(edit((c) => (c.slots['rs485-1'].device.tcp_unit_0 = 'always'))));
    expect(e.map(formatIssue)).toEqual([expect.stringMatching(/slots\.rs485-1\.device\.tcp_unit_0: expected one of refuse\|broadcast, got "always"/)]);
  });

  it('is refused on a Modbus TCP device', () => {
    const e = errors(
      check(
        edit((c) => {
          c.slots['net-2'] = { device: { id: 'plc-9', driver: 'modbus-poller', tcp: { host: '10.0.0.5' }, tcp_unit_0: 'refuse', units: [{ unit: 1, registers: [{ name: 'r', table: 'holding', address: 0 }] }] } };
        }),
      ),
    );
    expect(e.map(formatIssue)).toEqual([expect.stringMatching(/slots\.net-2\.device\.tcp_unit_0: expected no "tcp_unit_0" on a Modbus TCP device .*; remove "tcp_unit_0"/)]);
  });

  it('changes the config digest; an explicit default does not', () => {
    const d0 = configDigestHex(check(edit(() => {})).config!);
    expect(configDigestHex(check(edit((c) => (c.slots['rs485-1'].device.tcp_unit_0 = 'refuse'))).config!)).toBe(d0);
    expect(configDigestHex(check(edit((c) => (c.slots['rs485-1'].device.tcp_unit_0 = 'broadcast'))).config!)).not.toBe(d0);
  });
});
