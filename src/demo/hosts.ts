// Where the demo's equipment lives, with the fallback for each system tool:
//   serial lines  socat PTY pairs + baud-paced relay (VirtualLine) at {virtual_dir}/<slot>, the
//                 simulators in this (orchestrator) process; without socat there are no PTYs, so
//                 the gateway runs the same simulators in-process on paced memory lines
//                 (`uzpgw demo gateway`, see embedded-equipment.ts)
//   MQTT broker   mosquitto on a free loopback port; without it the embedded broker (mqtt/broker.ts)
//                 in this process, also loopback only. The MQTT machine runs here in both cases.

import { MqttDevice } from '../sim/mqtt-device.js';
import { Mosquitto } from '../sim/mosquitto.js';
import { VirtualLine } from '../sim/virtual-line.js';
import { MQTT_SLOT, SERIAL_SLOTS, startSerialSimulator, type Simulator } from './equipment.js';
import { EmbeddedMqttBroker } from './mqtt/broker.js';
import { SimErrorCode } from '../sim/errors.js';
import { isCodedError } from '../lib/errors.js';

type SerialHost = 'socat' | 'embedded';
type MqttHost = 'mosquitto' | 'embedded';

interface Choice<T> {
  readonly used: T;
  /** Why the fallback was used (absent when the tool was used). */
  readonly reason?: string;
}

export interface SerialEquipment {
  readonly choice: Choice<SerialHost>;
  /** socat pids (empty when embedded). */
  readonly pids: readonly number[];
  close(): Promise<void>;
}

/**
 * Opens one paced PTY line per serial slot under `ptyDir` and starts its simulator here. Falls back
 * to 'embedded' (nothing opened here) when `allowSocat` is false or socat is missing.
 */
export async function openSerialEquipment(ptyDir: string, allowSocat: boolean): Promise<SerialEquipment> {
  if (!allowSocat) return { choice: { used: 'embedded', reason: 'socat disabled (--no-socat)' }, pids: [], close: async () => {} };
  const lines: VirtualLine[] = [];
  const sims: Simulator[] = [];
  const close = async (): Promise<void> => {
    for (const s of sims) s.close();
    for (const l of lines) await l.close();
  };
  try {
    for (const s of SERIAL_SLOTS) {
      const line = await VirtualLine.open({ baud: s.baud, framing: s.framing, dir: ptyDir, name: s.slot });
      lines.push(line);
      sims.push(startSerialSimulator(s, line.device!));
    }
  } catch (e) {
    await close();
    if (isCodedError(e) && e.code === SimErrorCode.TOOL_MISSING) return { choice: { used: 'embedded', reason: 'socat not found' }, pids: [], close: async () => {} };
    throw e;
  }
  return { choice: { used: 'socat' }, pids: lines.flatMap((l) => l.pids), close };
}

export interface MqttEquipment {
  readonly choice: Choice<MqttHost>;
  readonly url: string;
  /** mosquitto's pid (absent for the embedded broker). */
  readonly pid?: number;
  close(): Promise<void>;
}

/** Starts a broker (mosquitto, else the embedded one) and the MQTT machine publishing to it. */
export async function openMqttEquipment(allowMosquitto: boolean): Promise<MqttEquipment> {
  let broker: { url: string; pid?: number; stop: () => Promise<void> };
  let choice: Choice<MqttHost>;
  const embedded = async (reason: string): Promise<void> => {
    const b = await EmbeddedMqttBroker.listen();
    broker = { url: b.url, stop: () => b.close() };
    choice = { used: 'embedded', reason };
  };
  if (!allowMosquitto) await embedded('mosquitto disabled (--no-mosquitto)');
  else {
    try {
      const m = await Mosquitto.start();
      broker = { url: m.url, pid: m.pid, stop: () => m.stop() };
      choice = { used: 'mosquitto' };
    } catch (e) {
      if (!(isCodedError(e) && e.code === SimErrorCode.TOOL_MISSING)) throw e;
      await embedded('mosquitto not found');
    }
  }
  let machine: MqttDevice;
  try {
    machine = await MqttDevice.start({ url: broker!.url, base: MQTT_SLOT.base, clientId: 'demo-press-2', intervalMs: 1000, qos: 1 });
  } catch (e) {
    await broker!.stop();
    throw e;
  }
  return {
    choice: choice!,
    url: broker!.url,
    ...(broker!.pid !== undefined ? { pid: broker!.pid } : {}),
    close: async () => {
      await machine.stop().catch(() => {});
      await broker.stop();
    },
  };
}
