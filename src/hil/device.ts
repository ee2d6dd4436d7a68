// What the HIL broker needs from a device driver (src/hil-devices/*): identity (slot, device id,
// driver), a stream of readings, and the operations of its kind. Drivers translate equipment
// semantics; they never see Grants — the broker checks authority before calling them (draft §4.3).

import type { CborValue } from '../uzp/cbor.js';
import type { ReadingKind } from './messages.js';
import type { Table } from '../ports/modbus/vocabulary.js';
import type { DiagReport } from './diag-report.js';

export type { ReadingKind };

export type Driver = 'modbus-poller' | 'serial-line' | 'serial-raw' | 'mqtt-bridge';

/** One reading as it leaves the device layer; every reading carries slot, device, kind, seq, timestamp. */
export interface Reading {
  readonly slot: string;
  readonly device: string;
  readonly kind: ReadingKind;
  /** Per-device sequence number, increasing by one per reading. */
  readonly seq: number;
  /** Unix time in ms. */
  readonly ts: number;
  readonly value: CborValue;
  /** What the reading exposes, so the broker can hold it against the Grant before delivery. */
  readonly source?:
    | { readonly kind: 'modbus'; readonly unit: number; readonly table: Table; readonly addr: number; readonly count: number }
    | { readonly kind: 'mqtt'; readonly topic: string };
  /**
   * Call once when this reading is durable (the gateway's reading recorder does, after the reading
   * log committed it: issue #12). Present when the source waits for it before acknowledging the
   * reading upstream (an MQTT bridge with durableAck: the broker's PUBACK); until then the source
   * may send it again. Only the recorder calls it; other listeners leave it alone. Calling it twice
   * does nothing more.
   */
  readonly settled?: () => void;
  /**
   * Called instead of `settled`, which then never comes, when the reading log dropped this reading
   * unstored (its disk failed for long: reading-log/pending.ts), once the log takes readings again:
   * the source should have the reading sent again (an MQTT bridge reconnects, so its broker resends
   * the unacknowledged message). The recorder calls each distinct function once per such commit.
   */
  readonly lost?: () => void;
  /**
   * With `lost`: the source's upstream sends the reading again after it (an MQTT broker on a
   * persistent session), so one dropped unstored is not lost. Absent: it is (a clean session).
   */
  readonly resent?: true;
}

export type Unsubscribe = () => void;

export interface HilDevice {
  readonly slot: string;
  readonly id: string;
  readonly driver: Driver;
  readonly kind: ReadingKind;
  /**
   * False while the device's port is down (serial device missing, unopenable or unplugged; Modbus
   * TCP peer unreachable): the broker then refuses operator writes and requests instead of
   * accepting them for a device they cannot reach. Absent: the driver does not know (always tried).
   */
  readonly available?: boolean;
  onReading(cb: (r: Reading) => void): Unsubscribe;
}

/** Why a Modbus device refuses a request before it reaches the bus, as the exception to answer. */
export interface ModbusRefusal {
  /** Modbus exception code (Application Protocol §7). */
  readonly exception: number;
  readonly reason: string;
}

/** How one operator request travels (ModbusDevice.request). */
export interface ModbusRequestOptions {
  /**
   * Aborted while the request waits for the bus: it is taken off the queue and rejects with
   * ABORTED, nothing sent. A request already on the wire completes and settles with what happened.
   */
  readonly signal?: AbortSignal;
  /** Whose fair share of a unit's queue the request takes (compared by identity; the broker passes the operator's CID, hex). */
  readonly owner?: unknown;
}

export interface ModbusDevice extends HilDevice {
  readonly kind: 'modbus';
  /**
   * Sends one request PDU to `unit` on the slot's bus; resolves with the response PDU (possibly an
   * exception PDU). A full queue for the unit (or the owner's full share of it) rejects with BUFFER_FULL.
   */
  request(unit: number, pdu: Uint8Array, opts?: ModbusRequestOptions): Promise<Uint8Array>;
  /**
   * The device's own refusal of a request the Grant allowed (a read to the serial-line broadcast
   * address, a unit the wire cannot address), so the broker can audit it as refused; undefined
   * when the request may go to the bus. `reads`/`writes`: what the PDU does (hil/modbus-request.ts).
   */
  refusal?(unit: number, pdu: Uint8Array, does: { readonly reads: boolean; readonly writes: boolean }): ModbusRefusal | undefined;
  /** The bus's per-slave diagnostics now (diag mode); absent: the driver keeps none. */
  diagnostics?(): DiagReport;
}

export interface SerialDevice extends HilDevice {
  readonly kind: 'serial';
  write(data: Uint8Array): Promise<void>;
  /** Raw bytes from the equipment (serial-raw passthrough and serial-line alike). */
  onData(cb: (data: Uint8Array) => void): Unsubscribe;
}

export interface MqttDevice extends HilDevice {
  readonly kind: 'mqtt';
  subscribe(filter: string): Promise<void>;
  publish(topic: string, payload: Uint8Array, qos: 0 | 1, retain: boolean): Promise<void>;
  onMessage(cb: (topic: string, payload: Uint8Array) => void): Unsubscribe;
  /** The filters the bridge carries (its config), told to an operator whose request falls outside them. */
  readonly bridged?: { readonly subscribe: readonly string[]; readonly publish: readonly string[] };
}

export type AnyDevice = ModbusDevice | SerialDevice | MqttDevice;
