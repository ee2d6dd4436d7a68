// Virtual equipment for a user's gateway config (issue #15, `uzpgw hil equipment`): for every
// serial slot, a baud-paced PTY at the slot's own line settings (src/sim/virtual-line.ts, socat)
// with the simulator its device expects behind it:
//   modbus-poller (RTU)  a multi-drop bus with one slave per configured unit, answering every
//                        register the config declares (its profile's or inline) with a live value
//                        encoded as declared (register-values.ts);
//   serial-line          a line sensor sending one line a second with the slot's delimiter;
//   serial-raw           an echo device;
//   mqtt-bridge          with a broker given (`hil run`), a machine publishing on every subscribed
//                        filter (mqtt-machine.ts); without one (`hil equipment`), not simulated.
// Modbus TCP slots are listed as not simulated, with why. Each running slot keeps its line, bus or
// machine, which the scenario runner's faults act on.

import type { GatewayConfig, RegisterDef, SlotConfig } from '../config/index.js';
import type { Framing } from '../ports/line-timing.js';
import { EchoDevice } from '../sim/echo-device.js';
import { LineSensor } from '../sim/line-sensor.js';
import type { BitSource, RegisterSource } from '../sim/live-values.js';
import { ModbusRtuBus } from '../sim/modbus-rtu-bus.js';
import type { ModbusSlaveSpec } from '../sim/modbus-slave.js';
import { VirtualLine } from '../sim/virtual-line.js';
import { bitSources, registerSources } from './register-values.js';
import { MqttMachine, topicFor } from './mqtt-machine.js';

type EquipmentKind = 'modbus-rtu-bus' | 'line-sensor' | 'echo' | 'mqtt-machine';

/** What one slot gets. */
export type EquipmentPlan =
  | { readonly slot: string; readonly kind: Exclude<EquipmentKind, 'mqtt-machine'>; readonly baud: number; readonly framing: Framing; readonly units?: readonly number[]; readonly delimiter?: string }
  | { readonly slot: string; readonly kind: 'mqtt-machine'; readonly broker: string; readonly topics: readonly string[] }
  | { readonly slot: string; readonly kind: 'none'; readonly why: string };

/** The slot's character format as the pacer takes it (data bits, parity letter, stop bits). */
export function framingOf(s: { readonly dataBits: number; readonly parity: string; readonly stopBits: number }): Framing {
  const p = s.parity === 'even' ? 'E' : s.parity === 'odd' ? 'O' : 'N';
  return `${s.dataBits}${p}${s.stopBits}` as Framing;
}

function planSlot(s: SlotConfig, brokerUrl: string | undefined): EquipmentPlan {
  const d = s.device;
  switch (d.driver) {
    case 'modbus-poller':
      if (d.transport.kind !== 'rtu') return { slot: s.id, kind: 'none', why: 'Modbus TCP: point the slot at a Modbus TCP slave of your own (no serial line to simulate)' };
      return { slot: s.id, kind: 'modbus-rtu-bus', baud: d.transport.serial.baudRate, framing: framingOf(d.transport.serial), units: d.units.map((u) => u.unit) };
    case 'serial-line':
      return { slot: s.id, kind: 'line-sensor', baud: d.serial.baudRate, framing: framingOf(d.serial), delimiter: d.delimiter };
    case 'serial-raw':
      return { slot: s.id, kind: 'echo', baud: d.serial.baudRate, framing: framingOf(d.serial) };
    case 'mqtt-bridge':
      if (brokerUrl !== undefined) return { slot: s.id, kind: 'mqtt-machine', broker: brokerUrl, topics: d.subscribe.map(topicFor) };
      return { slot: s.id, kind: 'none', why: `MQTT: the slot talks to the broker ${d.broker}, not to a serial line` };
  }
}

/** The slaves of a Modbus slot: every register of every unit, live; unused addresses read 0. */
function slavesOf(s: SlotConfig): ModbusSlaveSpec[] {
  const d = s.device;
  if (d.driver !== 'modbus-poller') return [];
  return d.units.map((u, ui) => {
    const tables = { holding: new Map<number, RegisterSource>(), input: new Map<number, RegisterSource>(), coils: new Map<number, BitSource>(), discrete: new Map<number, BitSource>() };
    u.registers.forEach((r: RegisterDef, ri) => {
      const seed = ui * 31 + ri;
      if (r.table === 'coils' || r.table === 'discrete') for (const [a, v] of bitSources(r, seed)) tables[r.table].set(a, v);
      else for (const [a, v] of registerSources(r, seed)) tables[r.table].set(a, v);
    });
    return {
      unit: u.unit,
      holdingRegisters: dense(tables.holding, 0),
      inputRegisters: dense(tables.input, 0),
      coils: dense(tables.coils, false),
      discreteInputs: dense(tables.discrete, false),
    };
  });
}

function dense<T>(m: Map<number, T>, fill: T): T[] {
  const top = m.size === 0 ? -1 : Math.max(...m.keys());
  const out = new Array<T>(top + 1).fill(fill);
  for (const [a, v] of m) out[a] = v;
  return out;
}

export interface RunningSlot {
  readonly plan: EquipmentPlan;
  /** The PTY the gateway (or your own tool) opens; absent for slots not simulated. */
  readonly path?: string;
  /** The paced line (serial slots): unplug, replug, line faults. */
  readonly line?: VirtualLine;
  /** The slaves (Modbus RTU slots): dead, slow, noisy. */
  readonly bus?: ModbusRtuBus;
  readonly machine?: MqttMachine;
}

export interface RunningEquipment {
  readonly slots: readonly RunningSlot[];
  /**
   * The socat processes behind the PTYs now (stopped by close()): read again each time, since an
   * unplug ends a socat and a replug starts another, and a pid kept from before could be reused
   * by an unrelated process by the time a forced stop signals it.
   */
  readonly pids: readonly number[];
  close(): Promise<void>;
}

/**
 * Starts the equipment of every serial slot in `dir` (one PTY link per slot, named after it), and
 * of every MQTT slot when `brokerUrl` is given. `intervalMs`: line sensors' and machines' period.
 */
export async function startEquipment(config: GatewayConfig, dir: string, o: { readonly brokerUrl?: string; readonly intervalMs?: number } = {}): Promise<RunningEquipment> {
  const lines: VirtualLine[] = [];
  const sims: { close(): void }[] = [];
  const machines: MqttMachine[] = [];
  const slots: RunningSlot[] = [];
  const intervalMs = o.intervalMs ?? 1000;
  const close = async (): Promise<void> => {
    for (const s of sims.splice(0)) s.close();
    await Promise.all([...lines.splice(0).map((l) => l.close()), ...machines.splice(0).map((m) => m.stop())]);
  };
  try {
    for (const s of config.slots) {
      const plan = planSlot(s, o.brokerUrl);
      if (plan.kind === 'none') {
        slots.push({ plan });
        continue;
      }
      if (plan.kind === 'mqtt-machine') {
        const machine = await MqttMachine.start({ url: plan.broker, topics: plan.topics, intervalMs, clientId: `uzpgw-hil-${s.id}-${process.pid}` });
        machines.push(machine);
        slots.push({ plan, machine });
        continue;
      }
      const line = await VirtualLine.open({ dir, name: s.id, baud: plan.baud, framing: plan.framing });
      lines.push(line);
      const device = line.device!;
      let bus: ModbusRtuBus | undefined;
      if (plan.kind === 'modbus-rtu-bus') sims.push((bus = new ModbusRtuBus(device, { baud: plan.baud, framing: plan.framing, slaves: slavesOf(s) })));
      else if (plan.kind === 'line-sensor') sims.push(new LineSensor(device, { id: s.device.id, intervalMs, ...(plan.delimiter !== undefined ? { delimiter: plan.delimiter } : {}) }));
      else {
        const echo = new EchoDevice(device);
        sims.push({ close: () => echo.close() });
      }
      slots.push({ plan, path: line.path, line, ...(bus !== undefined ? { bus } : {}) });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    slots,
    get pids() {
      return lines.flatMap((l) => l.pids);
    },
    close,
  };
}
