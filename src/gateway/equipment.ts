// Builds the equipment transports of one slot from its validated config: a SerialLink for serial
// ports, a Modbus master (RTU over that link, or TCP) for modbus-poller, an MQTT client for
// mqtt-bridge. Every transport here is a *client* (the gateway never listens).

import type { Rs485Control, SlotConfig } from '../config/types.js';
import { SerialLink } from '../ports/serial.js';
import type { Rs485Options } from '../ports/rs485.js';
import { ModbusBus } from '../ports/modbus/bus.js';
import { lowerUsbLatencyTimer } from '../ports/usb-latency.js';
import { MqttLink } from '../ports/mqtt.js';
import type { PortLog } from '../ports/log.js';
import type { PortFactory } from '../ports/serial-port-like.js';
import { readFileSync } from 'node:fs';
import { CommonCode, LocalError } from '../lib/errors.js';

export interface SlotPorts {
  readonly link?: SerialLink;
  readonly bus?: ModbusBus;
  readonly mqtt?: MqttLink;
}

function rs485(c: Rs485Control): Rs485Options | undefined {
  if (c.direction === 'none') return undefined;
  if (c.direction === 'auto') return { direction: 'auto' };
  return { direction: 'rts', rtsActiveLow: c.rtsActiveLow, delayBeforeSendMs: c.delayBeforeSendMs, delayAfterSendMs: c.delayAfterSendMs };
}

function serialLink(slot: SlotConfig, serial: { baudRate: number; dataBits: 7 | 8; parity: 'none' | 'even' | 'odd'; stopBits: 1 | 2 }, log: PortLog, portFactory?: PortFactory): SerialLink {
  const path = slot.portPath ?? slot.port.path;
  if (path === undefined) throw new LocalError(CommonCode.CONFIG_INVALID, `slot ${slot.id}: no device path for port ${slot.port.id}`);
  const rs = rs485(slot.port.rs485);
  return new SerialLink({ path, ...serial, ...(rs ? { rs485: rs } : {}), lowLatency: true, log, ...(portFactory ? { portFactory } : {}) });
}

/**
 * The MQTT client id of a slot when the config names none: stable across restarts (a persistent
 * session is found again only under the same id) and unique per gateway and slot on a shared broker.
 * `uzpgw-` + the first 12 hex digits of the gateway CID + `-` + the slot id (MQTT 3.1.1 §3.1.3.1
 * guarantees 23 bytes; brokers such as mosquitto accept longer ids).
 */
export function defaultMqttClientId(gatewayCidHex: string, slot: string): string {
  return `uzpgw-${gatewayCidHex.slice(0, 12)}-${slot}`.slice(0, 64);
}

/**
 * `portFactory` replaces the tty for the slot's serial port (the demo's in-process equipment);
 * `gatewayCidHex` names the gateway in default MQTT client ids.
 */
export function buildSlotPorts(slot: SlotConfig, log: PortLog, portFactory?: PortFactory, gatewayCidHex = ''): SlotPorts {
  const d = slot.device;
  switch (d.driver) {
    case 'modbus-poller':
      if (d.transport.kind === 'tcp') return { bus: ModbusBus.tcp({ host: d.transport.host, port: d.transport.port, timeoutMs: d.timeoutMs, unitQueueMax: d.queueLimit, log }) };
      {
        const link = serialLink(slot, d.transport.serial, log, portFactory);
        // An FTDI-class adapter's 16 ms latency timer caps a bus near 50 transactions a second:
        // lowered at every open (a replugged adapter starts at 16 ms again).
        if (portFactory === undefined) link.on('state', (s) => void (s === 'open' && lowerUsbLatencyTimer(link.path, log)));
        const timing = { ...(d.turnaroundMs !== undefined ? { broadcastTurnaroundMs: d.turnaroundMs } : {}), ...(d.interRequestDelayMs !== undefined ? { interRequestDelayMs: d.interRequestDelayMs } : {}) };
        return { link, bus: ModbusBus.rtu(link, { timeoutMs: d.timeoutMs, unitQueueMax: d.queueLimit, log, ...timing }) };
      }
    case 'serial-line':
    case 'serial-raw':
      return { link: serialLink(slot, d.serial, log, portFactory) };
    case 'mqtt-bridge':
      return {
        mqtt: new MqttLink({
          url: d.broker,
          // Persistent sessions need a stable id; a clean one can use mqtt.js's random id.
          ...(d.clientId ? { clientId: d.clientId } : !d.cleanSession ? { clientId: defaultMqttClientId(gatewayCidHex, slot.id) } : {}),
          clean: d.cleanSession,
          ...(d.username ? { username: d.username } : {}),
          ...(d.passwordFile ? { password: readFileSync(d.passwordFile, 'utf8').trim() } : {}),
          ...(d.caFile ? { ca: readFileSync(d.caFile) } : {}),
          keepaliveS: d.keepaliveS,
          publishWindow: d.maxInflight,
          publishQueueMax: d.maxQueue,
          receiveQueueMax: d.maxQueue,
          // The bridge drops larger payloads: the link drops them as they arrive, never holding one.
          maxPayloadBytes: d.maxPayloadBytes,
          log,
        }),
      };
  }
}
