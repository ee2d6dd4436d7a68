// Where a run's equipment comes from. `uzpgw hil run` builds it from the config (equipment.ts on
// socat PTYs, mosquitto for MQTT slots: `virtualEquipment`); the demo brings its own host with its
// fallbacks (socat missing: simulators inside the gateway process; mosquitto missing: an embedded
// broker), and the runner does the rest the same way for both.

import type { GatewayConfig } from '../config/index.js';
import { Mosquitto } from '../sim/mosquitto.js';
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

/** The equipment every slot of the config expects (equipment.ts), and mosquitto when it has MQTT slots. */
export const virtualEquipment: EquipmentHost = {
  async start(config, ptyDir, o) {
    let broker: Mosquitto | undefined;
    if (config.slots.some((s) => s.device.driver === 'mqtt-bridge')) {
      broker = await Mosquitto.start();
      o.note(`MQTT broker: mosquitto (pid ${broker.pid}) at ${broker.url}`);
    }
    let eq;
    try {
      eq = await startEquipment(config, ptyDir, { ...(broker !== undefined ? { brokerUrl: broker.url } : {}), intervalMs: o.intervalMs });
    } catch (e) {
      await broker?.stop();
      throw e;
    }
    for (const s of eq.slots) if (s.plan.kind === 'none') o.note(`${s.plan.slot}: no virtual equipment (${s.plan.why})`);
    const b = broker;
    // A getter: a restarted broker has a new pid.
    const tools = (): { name: string; pid: number }[] => [...eq.pids.map((pid) => ({ name: 'socat', pid })), ...(b !== undefined ? [{ name: 'mosquitto', pid: b.pid }] : [])];
    return {
      slots: new Map(eq.slots.filter((s) => s.plan.kind !== 'none').map((s) => [s.plan.slot, s])),
      ...(b !== undefined ? { brokerUrl: b.url, restartBroker: () => b.restart() } : {}),
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
