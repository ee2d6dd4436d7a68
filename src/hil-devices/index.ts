// Device drivers (ARCHITECTURE.md "src/hil-devices"): equipment semantics <-> HIL channels. The
// composition root (src/gateway) builds and owns the ports; createDevice wraps the slot's port in
// the driver its config names. Drivers never see Grants: the HIL broker checks authority first.

import type { DeviceConfig } from './config.js';
import type { PortLog } from '../ports/log.js';
import type { ModbusBus } from '../ports/modbus/bus.js';
import type { SerialLink } from '../ports/serial.js';
import type { Clock } from '../lib/clock.js';
import type { AnyDevice } from '../hil/device.js';
import { ModbusPoller } from './modbus-poller.js';
import { MqttBridge, type BridgeLink } from './mqtt-bridge.js';
import { SerialLine } from './serial-line.js';
import { SerialRaw } from './serial-raw.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export type { AnyDevice, Driver, HilDevice, ModbusDevice, MqttDevice, Reading, ReadingKind, SerialDevice, Unsubscribe } from '../hil/device.js';
export { ModbusPoller, type ModbusPollerOptions, type ModbusPollerStatus, type ModbusPortStatus, type UnitHealth } from './modbus-poller.js';
export { SerialLine, LineSplitter, type SerialDriverOptions, type SerialLineStats } from './serial-line.js';
export { SerialRaw, type SerialRawOptions, type SerialRawStats } from './serial-raw.js';
export { MqttBridge, payloadValue, type BridgeLink, type MqttBridgeOptions, type MqttBridgeStats } from './mqtt-bridge.js';
export { decodeRegister, wordsPerValue, type CodecDef, type RegisterValue, type ScalarValue } from './register-codec.js';
export { Listeners, ReadingStream, type ReadingStreamOptions } from './readings.js';

/** Life cycle every driver has besides the HilDevice surface the broker uses. */
interface DeviceLifecycle {
  /** Starts polling / listening / subscribing (the ports must already be started). */
  start(): void | Promise<void>;
  /** Stops; the ports stay open (the composition root closes them). */
  stop(): Promise<void>;
  /** Counters and health for logs and `uzpgw` status output. */
  status(): object;
}

export type GatewayDevice = AnyDevice & DeviceLifecycle;

interface DevicePorts {
  /** The slot's serial link (serial-line, serial-raw; under the bus of an RTU modbus-poller, for its port status). */
  readonly link?: SerialLink;
  /** The slot's Modbus bus (modbus-poller; RTU on the slot's link, or TCP). */
  readonly bus?: ModbusBus;
  /** The slot's MQTT link to the equipment broker (mqtt-bridge). */
  readonly mqtt?: BridgeLink;
}

interface DeviceOptions {
  readonly now?: () => number;
  readonly clock?: Clock;
  readonly log?: PortLog;
  /** mqtt-bridge: acknowledge QoS >= 1 messages only once their reading is settled (MqttBridgeOptions.durableAck). */
  readonly durableAck?: boolean;
}

/** The driver for `d` on slot `slotId`, on the port it needs; LocalError(USAGE) when that port is missing. */
export function createDevice(slotId: string, d: DeviceConfig, ports: DevicePorts, opts: DeviceOptions = {}): GatewayDevice {
  const need = <T>(port: T | undefined, what: string): T => {
    if (port === undefined) throw new LocalError(CommonCode.USAGE, `slot ${slotId}: device ${d.id} (${d.driver}) needs ${what}, and none was given`);
    return port;
  };
  switch (d.driver) {
    case 'modbus-poller':
      return new ModbusPoller(slotId, d, need(ports.bus, 'a Modbus bus'), { ...opts, ...(ports.link !== undefined ? { link: ports.link } : {}) });
    case 'serial-line':
      return new SerialLine(slotId, d, need(ports.link, 'a serial link'), opts);
    case 'serial-raw':
      return new SerialRaw(slotId, d, need(ports.link, 'a serial link'), opts);
    case 'mqtt-bridge':
      return new MqttBridge(slotId, d, need(ports.mqtt, 'an MQTT link'), opts);
  }
}
