// The demo's equipment: what is wired to which slot of the `virtual` board, and the simulators that
// play it. One table drives the gateway config (gateway-config.ts), the Grants (trust-domain.ts),
// the simulators (here) and the summary, so the four cannot disagree.
//
//   rs485-1  Modbus RTU multi-drop, 19200 8E1: two ACME TH-20 temperature/humidity sensors (units 1, 2)
//            and an energy meter (unit 7) whose energy counter and power drift while the demo runs
//   tty-1    serial-line, 9600 8N1: a line sensor streaming `T=21.4;H=40\r\n` once a second
//   net-1    mqtt-bridge: an MQTT press publishing telemetry to the demo's broker

import type { Framing } from '../ports/line-timing.js';
import type { ByteDuplex } from '../sim/duplex.js';
import { drift } from '../sim/live-values.js';
import { LineSensor } from '../sim/line-sensor.js';
import { ModbusRtuBus } from '../sim/modbus-rtu-bus.js';
import type { ModbusSlaveSpec } from '../sim/modbus-slave.js';

export type SlotKind = 'modbus' | 'serial' | 'mqtt';

interface DemoSerialSlot {
  readonly slot: string;
  readonly device: string;
  readonly kind: 'modbus' | 'serial';
  readonly baud: number;
  /** Character framing on the line; Modbus RTU uses even parity (Modbus over Serial Line V1.02 §2.5.1). */
  readonly framing: Framing;
}

interface DemoMqttSlot {
  readonly slot: string;
  readonly device: string;
  readonly kind: 'mqtt';
  /** Topic prefix of the simulated machine. */
  readonly base: string;
}

export const MODBUS_SLOT: DemoSerialSlot = { slot: 'rs485-1', device: 'th-bus-1', kind: 'modbus', baud: 19200, framing: '8E1' };
export const SERIAL_SLOT: DemoSerialSlot = { slot: 'tty-1', device: 'sensor-7', kind: 'serial', baud: 9600, framing: '8N1' };
export const MQTT_SLOT: DemoMqttSlot = { slot: 'net-1', device: 'press-2', kind: 'mqtt', base: 'plant/press-2' };

export const SERIAL_SLOTS: readonly DemoSerialSlot[] = [MODBUS_SLOT, SERIAL_SLOT];

/** Modbus unit ids on the demo bus: two TH-20 sensors and the meter. */
export const TH20_UNITS = [1, 2] as const;
export const METER_UNIT = 7;

/** Where the meter keeps its registers (holding): energy uint32 in 0.1 Wh at 100-101, power uint16 W at 102. */
export const METER_ENERGY_ADDR = 100;
export const METER_POWER_ADDR = 102;

/** A TH-20: input 0 temperature x10 (int16), input 1 humidity x10, holding 10 setpoint x10, coil 0 alarm. */
function th20(unit: number, phase: number): ModbusSlaveSpec {
  return {
    unit,
    inputRegisters: [drift({ base: 214 + 10 * unit, amplitude: 15, periodMs: 30_000, phase }), drift({ base: 450, amplitude: 40, periodMs: 45_000, phase })],
    holdingRegisters: [...Array<number>(10).fill(0), 220],
    coils: [false],
    identity: { vendorName: 'ACME', productCode: 'TH-20', revision: '1.4' },
  };
}

/**
 * The meter: power drifts around 1.5 kW and the energy counter climbs at the nominal 1.5 kW from the
 * bus clock's start, so successive readings visibly rise. The uint32 is split high word first
 * (big word order, the Modbus convention the config declares).
 */
function meter(unit: number): ModbusSlaveSpec {
  const powerW = drift({ base: 1500, amplitude: 300, periodMs: 20_000 });
  // Energy in 0.1 Wh steps, so the counter visibly climbs within a short demo (~4 steps/s at 1.5 kW).
  const energyTenthsWh = (now: number): number => 12_345_670 + Math.floor((now / 3_600_000) * 1500 * 10);
  const holding: ModbusSlaveSpec['holdingRegisters'] = [
    ...Array<number>(METER_ENERGY_ADDR).fill(0),
    (now) => Math.floor(energyTenthsWh(now) / 65536),
    (now) => energyTenthsWh(now) % 65536,
    powerW,
  ];
  return { unit, holdingRegisters: holding, identity: { vendorName: 'ACME', productCode: 'EM-3', revision: '2.0' } };
}

function demoSlaves(): ModbusSlaveSpec[] {
  return [th20(TH20_UNITS[0], 0), th20(TH20_UNITS[1], Math.PI / 2), meter(METER_UNIT)];
}

/** What runs on the device side of each serial line; `close()` stops it. */
export interface Simulator {
  readonly slot: string;
  close(): void;
}

/** Starts the simulator of a serial slot on the device end of its (paced) line. */
export function startSerialSimulator(s: DemoSerialSlot, device: ByteDuplex): Simulator {
  if (s.kind === 'modbus') {
    const bus = new ModbusRtuBus(device, { baud: s.baud, framing: s.framing, slaves: demoSlaves() });
    return { slot: s.slot, close: () => bus.close() };
  }
  const sensor = new LineSensor(device, { id: s.device, intervalMs: 1000 });
  return { slot: s.slot, close: () => sensor.close() };
}
