// Where the demo's equipment lives, with the fallback for each system tool:
//   serial lines  socat PTYs + baud-paced relay (VirtualLine) at {virtual_dir}/<slot>, the
//                 simulators in this (orchestrator) process; without socat there are no PTYs, so
//                 the gateway runs the same simulators in-process on paced memory lines
//                 (`uzpgw demo gateway`, see embedded-equipment.ts)
//   MQTT broker   mosquitto on a free loopback port; without it the embedded broker (sim/mqtt-broker.ts)
//                 in this process, also loopback only. The MQTT machine runs here in both cases.

import { rmSync } from 'node:fs';
import { MqttDevice } from '../sim/mqtt-device.js';
import { Mosquitto } from '../sim/mosquitto.js';
import { VirtualLine } from '../sim/virtual-line.js';
import { MQTT_SLOT, SERIAL_SLOTS, startSerialSimulator, type Simulator } from './equipment.js';
import { EmbeddedMqttBroker } from '../sim/mqtt-broker.js';
import { SimErrorCode } from '../sim/errors.js';
import { isCodedError } from '../lib/errors.js';
import { signalPid } from '../hil-runner/children.js';
import { settleWithin } from './bounded.js';

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
  /** A second Ctrl-C: SIGKILL every socat by pid, now (their links live in the demo's directory). */
  forceStop(): void;
}

/**
 * Opens one paced PTY line per serial slot under `ptyDir` and starts its simulator here. Falls back
 * to 'embedded' (nothing opened here) when `allowSocat` is false or socat is missing.
 */
export async function openSerialEquipment(ptyDir: string, allowSocat: boolean): Promise<SerialEquipment> {
  if (!allowSocat) return embeddedSerial('socat disabled (--no-socat)');
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
    if (isCodedError(e) && e.code === SimErrorCode.TOOL_MISSING) return embeddedSerial('socat not found');
    throw e;
  }
  const pids = lines.flatMap((l) => l.pids);
  return { choice: { used: 'socat' }, pids, close, forceStop: () => pids.forEach((pid) => signalPid(pid, 'SIGKILL')) };
}

/** Nothing runs here: the gateway process hosts the serial simulators. */
function embeddedSerial(reason: string): SerialEquipment {
  return { choice: { used: 'embedded', reason }, pids: [], close: async () => {}, forceStop: () => {} };
}

/** The MQTT machine disconnects in milliseconds from a live broker; this bounds the dead-broker case. */
const MACHINE_STOP_MS = 300;

export interface MqttEquipment {
  readonly choice: Choice<MqttHost>;
  readonly url: string;
  /** mosquitto's pid (absent for the embedded broker). */
  readonly pid?: number;
  close(): Promise<void>;
  /** A second Ctrl-C: SIGKILL mosquitto by pid and remove its config directory, now. */
  forceStop(): void;
}

/** Starts a broker (mosquitto, else the embedded one) and the MQTT machine publishing to it. */
export async function openMqttEquipment(allowMosquitto: boolean): Promise<MqttEquipment> {
  let broker: { url: string; pid?: number; stop: () => Promise<void>; kill: () => void };
  let choice: Choice<MqttHost>;
  const embedded = async (reason: string): Promise<void> => {
    const b = await EmbeddedMqttBroker.listen();
    // In this process: it goes when the process goes.
    broker = { url: b.url, stop: () => b.close(), kill: () => {} };
    choice = { used: 'embedded', reason };
  };
  if (!allowMosquitto) await embedded('mosquitto disabled (--no-mosquitto)');
  else {
    try {
      const m = await Mosquitto.start();
      const kill = (): void => {
        signalPid(m.pid, 'SIGKILL');
        rmSync(m.dir, { recursive: true, force: true });
      };
      broker = { url: m.url, pid: m.pid, stop: () => m.stop(), kill };
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
      // mqtt.js's end() waits for unacknowledged QoS 1 publications, forever when the broker is
      // gone: a terminal's Ctrl-C kills mosquitto together with the demo, so the wait is bounded.
      await settleWithin(machine.stop(), MACHINE_STOP_MS);
      await broker.stop();
    },
    forceStop: () => broker.kill(),
  };
}
