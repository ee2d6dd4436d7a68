// Where a run's equipment comes from. `uzpgw hil run` builds it from the config (equipment.ts on
// socat PTYs, mosquitto or the embedded broker for MQTT slots: `virtualEquipment`); the demo brings
// its own host with its fallbacks (socat missing: simulators inside the gateway process; mosquitto
// missing: an embedded broker), and the runner does the rest the same way for both.

import type { GatewayConfig } from '../config/index.js';
import { isCodedError } from '../lib/errors.js';
import { SimErrorCode } from '../sim/errors.js';
import { Mosquitto } from '../sim/mosquitto.js';
import { EmbeddedMqttBroker } from '../sim/mqtt-broker.js';
import { signalPid } from './children.js';
import { startEquipment, type RunningSlot } from './equipment.js';

export interface HostedEquipment {
  /** Slots whose equipment runs here, for faults (none when it runs inside the gateway process). */
  readonly slots: ReadonlyMap<string, RunningSlot>;
  /** The broker MQTT slots are remapped to. */
  readonly brokerUrl?: string;
  /** The `uzpgw` words that start the gateway: ['gateway'], or ['demo', 'gateway'] with the equipment inside it. */
  readonly gatewayCommand: readonly string[];
  /** The system tools behind the equipment (socat, mosquitto), each stopped by pid. */
  readonly tools: readonly { readonly name: string; readonly pid: number }[];
  restartBroker?(): Promise<void>;
  close(): Promise<void>;
  /** A forced stop: every tool SIGKILLed by pid, now. */
  forceStop(): void;
}

export interface EquipmentHost {
  start(config: GatewayConfig, ptyDir: string, o: { readonly intervalMs: number; readonly note: (text: string) => void }): Promise<HostedEquipment>;
}

/**
 * The equipment every slot of the config expects (equipment.ts), and for MQTT slots mosquitto, or
 * the embedded broker (sim/mqtt-broker.ts) when mosquitto is missing or `mosquitto` is false.
 */
export function virtualEquipment(o: { readonly mosquitto?: boolean } = {}): EquipmentHost {
  return {
    async start(config, ptyDir, h) {
      const broker = config.slots.some((s) => s.device.driver === 'mqtt-bridge') ? await startBroker(o.mosquitto ?? true, h.note) : undefined;
      let eq;
      try {
        eq = await startEquipment(config, ptyDir, { ...(broker !== undefined ? { brokerUrl: broker.url } : {}), intervalMs: h.intervalMs });
      } catch (e) {
        await broker?.stop();
        throw e;
      }
      for (const s of eq.slots) if (s.plan.kind === 'none') h.note(`${s.plan.slot}: no virtual equipment (${s.plan.why})`);
      if (eq.pids.length > 0) h.note(`serial lines: socat PTYs (pids ${eq.pids.join(', ')}), paced at each slot's line settings`);
      const b = broker;
      // A getter: a restarted broker has a new pid.
      const tools = (): { name: string; pid: number }[] => [...eq.pids.map((pid) => ({ name: 'socat', pid })), ...(b?.pid !== undefined ? [{ name: 'mosquitto', pid: b.pid }] : [])];
      return {
        slots: new Map(eq.slots.filter((s) => s.plan.kind !== 'none').map((s) => [s.plan.slot, s])),
        ...(b !== undefined ? { brokerUrl: b.url, ...(b.restart !== undefined ? { restartBroker: b.restart } : {}) } : {}),
        gatewayCommand: ['gateway'],
        get tools() {
          return tools();
        },
        close: async () => {
          await eq.close();
          await b?.stop();
        },
        forceStop: () => tools().forEach((t) => signalPid(t.pid, 'SIGKILL')),
      };
    },
  };
}

interface Broker {
  readonly url: string;
  /** mosquitto's pid now (absent for the embedded broker, which lives in this process). */
  readonly pid: number | undefined;
  readonly restart?: () => Promise<void>;
  stop(): Promise<void>;
}

async function startBroker(mosquitto: boolean, note: (text: string) => void): Promise<Broker> {
  const embedded = async (why: string): Promise<Broker> => {
    const e = await EmbeddedMqttBroker.listen();
    note(`MQTT broker: embedded at ${e.url} (${why}; a broker-restart fault needs mosquitto)`);
    return { url: e.url, pid: undefined, stop: () => e.close() };
  };
  if (!mosquitto) return embedded('--no-mosquitto');
  let m: Mosquitto;
  try {
    m = await Mosquitto.start();
  } catch (e) {
    if (isCodedError(e) && e.code === SimErrorCode.TOOL_MISSING) return embedded('mosquitto not found');
    throw e;
  }
  note(`MQTT broker: mosquitto (pid ${m.pid}) at ${m.url}`);
  return {
    url: m.url,
    // Only while it runs: a restart that failed leaves the pid of an exited process, which a
    // forced stop must not signal (pids are reused).
    get pid() {
      return m.running ? m.pid : undefined;
    },
    restart: () => m.restart(),
    stop: () => m.stop(),
  };
}
