// What each device driver is configured with: the driver owns these shapes (the config schema in
// src/config/ builds and validates them, docs/CONFIG.md documents the JSON). Values come only out
// of the validators, so every field is known to be in range.

import type { Table } from '../ports/modbus/vocabulary.js';

export const DEVICE_KINDS = ['modbus-poller', 'serial-line', 'serial-raw', 'mqtt-bridge'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const PARITIES = ['none', 'even', 'odd'] as const;
export type Parity = (typeof PARITIES)[number];

export interface SerialParams {
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: Parity;
  readonly stopBits: 1 | 2;
}

export { TABLES, type Table } from '../ports/modbus/vocabulary.js';
export const VALUE_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'bool'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export type Order = 'big' | 'little';

/** One named register (EdgeX-style device resource). */
export interface RegisterDef {
  readonly name: string;
  readonly table: Table;
  readonly address: number;
  /** Number of consecutive values of `type`. */
  readonly count: number;
  readonly type: ValueType;
  /** value = raw * scale + offset. */
  readonly scale: number;
  readonly offset: number;
  readonly unit?: string;
  /** Byte order inside each 16-bit register ('big' is the Modbus standard). */
  readonly byteOrder: Order;
  /** Register order of 32-bit values ('big': high word first). */
  readonly wordOrder: Order;
  /** Effective poll interval: register, else unit, else profile, else device default. */
  readonly pollIntervalMs: number;
  readonly description?: string;
}

/** A register as written in a profile or inline map: its own poll interval, if it has one. */
export type RegisterSpec = Omit<RegisterDef, 'pollIntervalMs'> & { readonly pollIntervalMs?: number };

export interface DeviceProfile {
  readonly name: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly description?: string;
  readonly pollIntervalMs?: number;
  readonly registers: readonly RegisterSpec[];
}

export interface ModbusUnit {
  readonly unit: number;
  readonly name?: string;
  /** The device profile the registers come from, when not inline. */
  readonly profile?: string;
  readonly registers: readonly RegisterDef[];
  readonly timeoutMs: number;
}

export type ModbusTransport =
  | { readonly kind: 'rtu'; readonly serial: SerialParams }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

interface DeviceBase {
  readonly id: string;
  readonly description?: string;
}

/**
 * What an operator's request to unit 0 does on a Modbus RTU slot (docs/DEVICES.md): 'refuse'
 * answers exception 0x0A; 'broadcast' sends writes to every slave and answers with the write's
 * normal reply. Reads to unit 0 are refused either way (a broadcast carries writes only).
 */
export const TCP_UNIT_0_MODES = ['refuse', 'broadcast'] as const;
export type TcpUnit0Mode = (typeof TCP_UNIT_0_MODES)[number];

export interface ModbusPollerDevice extends DeviceBase {
  readonly driver: 'modbus-poller';
  readonly transport: ModbusTransport;
  /** RTU only; absent means 'refuse' (the config schema always fills it in for RTU). */
  readonly tcpUnit0?: TcpUnit0Mode;
  readonly timeoutMs: number;
  /** RTU only: wait after a broadcast before the next request (absent: MODBUS_BROADCAST_TURNAROUND_MS). */
  readonly turnaroundMs?: number;
  /** RTU only: extra quiet time between transactions, for slaves slower than t3.5 (absent: 0). */
  readonly interRequestDelayMs?: number;
  readonly pollIntervalMs: number;
  /** Bounded per-unit request queue. */
  readonly queueLimit: number;
  readonly units: readonly ModbusUnit[];
}

export interface SerialLineDevice extends DeviceBase {
  readonly driver: 'serial-line';
  readonly serial: SerialParams;
  readonly delimiter: string;
  readonly maxLineBytes: number;
  readonly encoding: 'utf8' | 'latin1';
}

export interface SerialRawDevice extends DeviceBase {
  readonly driver: 'serial-raw';
  readonly serial: SerialParams;
  /** Bytes held toward operators before the oldest are dropped. */
  readonly maxBufferBytes: number;
  /** A read chunk is handed on after this much line silence. */
  readonly idleFlushMs: number;
}

export interface MqttBridgeDevice extends DeviceBase {
  readonly driver: 'mqtt-bridge';
  readonly broker: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly passwordFile?: string;
  readonly caFile?: string;
  /** Filters bridged from the equipment broker to operators. */
  readonly subscribe: readonly string[];
  /** Filters operators may publish to on the equipment broker. */
  readonly publish: readonly string[];
  readonly qos: 0 | 1 | 2;
  readonly maxInflight: number;
  readonly maxQueue: number;
  readonly maxPayloadBytes: number;
  readonly keepaliveS: number;
  /** MQTT clean session; false (default for QoS >= 1): the broker keeps our session across restarts. */
  readonly cleanSession: boolean;
}

export type DeviceConfig = ModbusPollerDevice | SerialLineDevice | SerialRawDevice | MqttBridgeDevice;

/** 16-bit registers (or bits, for coils and discrete inputs) one value of `type` occupies. */
export function widthOf(type: ValueType): 1 | 2 {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

/** Registers (or bits) a register definition spans: count x width. */
export function spanOf(r: Pick<RegisterDef, 'type' | 'count'>): number {
  return r.count * widthOf(r.type);
}
