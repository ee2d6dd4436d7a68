// The demo gateway's config file (docs/CONFIG.md, the `virtual` example): board `virtual`, PTY
// links under `virtual_dir`, and the slots of equipment.ts. Paths are relative to the config file,
// so the whole throwaway domain lives in one temporary directory.

import { METER_ENERGY_ADDR, METER_POWER_ADDR, METER_UNIT, MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT, TH20_UNITS } from './equipment.js';

export const VIRTUAL_DIR = 'pty';

interface DemoConfigFiles {
  readonly gatewayKey: string;
  readonly gatewayPcert: string;
  readonly trust: string;
  readonly rnSet: string;
  /** The audit log file; absent: audit lines go to the gateway's stdout (the demo reads them there). */
  readonly audit?: string;
}

/** `mqttUrl`: the broker the MQTT machine publishes to (mosquitto, or the embedded broker). */
export function demoGatewayConfig(files: DemoConfigFiles, mqttUrl: string): Record<string, unknown> {
  const slots = {
    [MODBUS_SLOT.slot]: {
      label: 'demo RS-485 bus: two TH-20 sensors and an energy meter',
      device: {
        id: MODBUS_SLOT.device,
        driver: 'modbus-poller',
        serial: { baud: MODBUS_SLOT.baud, parity: 'even' },
        timeout_ms: 300,
        units: [
          ...TH20_UNITS.map((unit) => ({ unit, name: `th20-${unit}`, profile: 'acme-th20' })),
          {
            unit: METER_UNIT,
            name: 'meter',
            poll_interval_ms: 1000,
            registers: [
              { name: 'energy', table: 'holding', address: METER_ENERGY_ADDR, type: 'uint32', scale: 0.1, unit: 'Wh' },
              { name: 'power', table: 'holding', address: METER_POWER_ADDR, type: 'uint16', unit: 'W' },
            ],
          },
        ],
      },
    },
    [SERIAL_SLOT.slot]: {
      label: 'demo line sensor',
      device: { id: SERIAL_SLOT.device, driver: 'serial-line', serial: { baud: SERIAL_SLOT.baud }, delimiter: '\r\n' },
    },
    [MQTT_SLOT.slot]: {
      label: 'demo MQTT press',
      device: {
        id: MQTT_SLOT.device,
        driver: 'mqtt-bridge',
        broker: mqttUrl,
        subscribe: [`${MQTT_SLOT.base}/telemetry/#`],
        publish: [`${MQTT_SLOT.base}/cmd/#`],
        qos: 1,
      },
    },
  };
  return {
    kind: 'uzp-gw/gateway-config',
    name: 'demo-gw',
    identity: { key: files.gatewayKey, pcert: files.gatewayPcert },
    trust: { anchor: files.trust, rn_set: files.rnSet },
    board: 'virtual',
    virtual_dir: VIRTUAL_DIR,
    audit: { ...(files.audit !== undefined ? { file: files.audit } : {}), level: 'info' },
    device_profiles: {
      'acme-th20': {
        manufacturer: 'ACME',
        model: 'TH-20',
        poll_interval_ms: 1000,
        registers: [
          { name: 'temperature', table: 'input', address: 0, type: 'int16', scale: 0.1, unit: '°C' },
          { name: 'humidity', table: 'input', address: 1, type: 'uint16', scale: 0.1, unit: '%' },
          { name: 'setpoint', table: 'holding', address: 10, type: 'int16', scale: 0.1, unit: '°C' },
          { name: 'alarm', table: 'coils', address: 0 },
        ],
      },
    },
    slots,
  };
}
