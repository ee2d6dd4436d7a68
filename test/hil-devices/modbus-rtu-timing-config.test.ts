// The per-slot serial-line timing of a modbus-poller (`turnaround_ms`, `inter_request_delay_ms`,
// Modbus over Serial Line §2.4.1, §2.5.1.1): validated with the range in the error, RTU only,
// defaults left out of the config (so an explicit default keeps the digest), and passed to the
// RTU master (the delay is observed between transactions on a real PTY in test/ports/modbus).

import { describe, expect, it } from 'vitest';
import { configDigestHex, formatIssue } from '../../src/config/index.js';
import type { ModbusPollerDevice } from '../../src/config/types.js';
import { check, edit, errors } from '../config/fixtures.js';

const bus = (r: ReturnType<typeof check>): ModbusPollerDevice => r.config!.slots.find((s) => s.id === 'rs485-1')!.device as ModbusPollerDevice;

describe('turnaround_ms and inter_request_delay_ms', () => {
  it('are absent by default and taken as written', () => {
    const d = bus(check(edit(() => {})));
    expect(d.turnaroundMs).toBeUndefined();
    expect(d.interRequestDelayMs).toBeUndefined();
    const w = bus(
      check(
        edit((c) => {
          c.slots['rs485-1'].device.turnaround_ms = 250;
          c.slots['rs485-1'].device.inter_request_delay_ms = 5;
        }),
      ),
    );
    expect([w.turnaroundMs, w.interRequestDelayMs]).toEqual([250, 5]);
  });

  it('out of range or not an integer: one error each, naming the range', () => {
    const e = errors(
      check(
        edit((c) => {
          c.slots['rs485-1'].device.turnaround_ms = -1;
          c.slots['rs485-1'].device.inter_request_delay_ms = 2.5;
        }),
      ),
    );
    expect(e.map(formatIssue)).toEqual([expect.stringMatching(/rs485-1\.device\.turnaround_ms: expected a wait after a broadcast in ms, 0\.\.10000/), expect.stringMatching(/rs485-1\.device\.inter_request_delay_ms: expected a delay between transactions in ms, 0\.\.10000/)]);
  });

  it('are refused on a Modbus TCP device', () => {
    const e = errors(
      check(
        edit((c) => {
          c.slots['net-2'] = { device: { id: 'plc-9', driver: 'modbus-poller', tcp: { host: '10.0.0.5' }, inter_request_delay_ms: 3, units: [{ unit: 1, registers: [{ name: 'r', table: 'holding', address: 0 }] }] } };
        }),
      ),
    );
    expect(e.map(formatIssue)).toEqual([expect.stringMatching(/slots\.net-2\.device\.inter_request_delay_ms: expected no "inter_request_delay_ms" on a Modbus TCP device/)]);
  });

  it('change the config digest; explicit defaults do not', () => {
    const d0 = configDigestHex(check(edit(() => {})).config!);
    const with_ = (k: string, v: number) => configDigestHex(check(edit((c) => (c.slots['rs485-1'].device[k] = v))).config!);
    expect(with_('turnaround_ms', 100)).toBe(d0);
    expect(with_('inter_request_delay_ms', 0)).toBe(d0);
    expect(with_('turnaround_ms', 150)).not.toBe(d0);
    expect(with_('inter_request_delay_ms', 1)).not.toBe(d0);
  });
});
