// The scenario steps that change the world (steps.ts runs them): faults on a slot's line, its
// slaves, the broker or the RN, and scripted register values.

import { seeded } from '../sim/prng.js';
import type { RunningSlot } from './equipment.js';
import { encodeWords } from './register-values.js';
import type { Fault, SetValue } from './scenario.js';
import type { RunContext } from './steps.js';

function slotOf(ctx: RunContext, slot: string): RunningSlot {
  const s = ctx.equipment.get(slot);
  if (s === undefined) throw new Error(`slot ${slot} has no virtual equipment in this run`);
  return s;
}

export async function applyFault(f: Fault, ctx: RunContext, index: number): Promise<string> {
  switch (f.fault) {
    case 'broker-restart':
      await ctx.restartBroker();
      return 'the MQTT broker was stopped and started again on the same port';
    case 'rn-kill':
      await ctx.killRn();
      return 'the RN was killed (SIGKILL by pid) and started again at the same address';
  }
  const s = slotOf(ctx, f.slot);
  const line = s.line;
  if (line === undefined) throw new Error(`slot ${f.slot} has no serial line`);
  switch (f.fault) {
    case 'unplug':
      await line.unplug();
      return `${line.path} unplugged (the PTY is gone)`;
    case 'replug':
      await line.replug();
      return `${line.path} plugged back in`;
    case 'noise': {
      // Seeded by the step's index: a failing run is replayed byte for byte.
      const rnd = seeded(index + 1);
      const bytes = Uint8Array.from({ length: f.bytes }, () => Math.floor(rnd() * 256));
      if (s.bus !== undefined) s.bus.injectNoise(bytes);
      else line.device?.write(bytes);
      return `${f.bytes} random bytes sent toward the gateway`;
    }
    case 'flip':
      line.relay.inject('bToA', { flipProbability: f.probability, seed: index + 1 });
      return `each byte toward the gateway now has one bit flipped with probability ${f.probability}`;
    case 'dead-slave':
      busOf(s, f.slot).slave(f.unit).faults.dead = true;
      return `unit ${f.unit} no longer answers`;
    case 'slow-slave':
      busOf(s, f.slot).slave(f.unit).faults.delayMs = f.delayMs;
      return `unit ${f.unit} answers ${f.delayMs} ms late`;
    case 'heal': {
      line.relay.clearFaults('aToB');
      line.relay.clearFaults('bToA');
      for (const u of s.plan.kind === 'modbus-rtu-bus' ? (s.plan.units ?? []) : []) {
        const faults = s.bus!.slave(u).faults;
        for (const k of Object.keys(faults)) delete faults[k as keyof typeof faults];
      }
      if (!line.plugged) await line.replug();
      return 'line and slave faults cleared, the line plugged in';
    }
  }
}

/** A scripted value: the register's words (or bits) are fixed at `value`, encoded as the config declares. */
export function setValue(v: SetValue, ctx: RunContext): string {
  const slot = ctx.config.slots.find((s) => s.id === v.slot)!;
  const def = slot.device.driver === 'modbus-poller' ? slot.device.units.find((u) => u.unit === v.unit)?.registers.find((r) => r.name === v.register) : undefined;
  if (def === undefined) throw new Error(`unit ${v.unit} of ${v.slot} has no register ${v.register}`);
  const slave = busOf(slotOf(ctx, v.slot), v.slot).slave(v.unit);
  if (def.table === 'coils' || def.table === 'discrete') {
    for (let i = 0; i < def.count; i++) slave.setBit(def.table === 'coils' ? 'coils' : 'discreteInputs', def.address + i, v.value !== 0);
    return `${v.register} of unit ${v.unit} reads ${v.value !== 0} from now on`;
  }
  // value = raw * scale + offset (docs/CONFIG.md), so the device stores (value - offset) / scale.
  const raw = (v.value - def.offset) / def.scale;
  const words = encodeWords(def, raw);
  const table = def.table === 'holding' ? 'holdingRegisters' : 'inputRegisters';
  for (let i = 0; i < def.count; i++) words.forEach((w, k) => slave.setRegister(table, def.address + i * words.length + k, w));
  return `${v.register} of unit ${v.unit} reads ${v.value} from now on (raw words ${words.map((w) => `0x${w.toString(16).padStart(4, '0')}`).join(' ')})`;
}

function busOf(s: RunningSlot, slot: string): NonNullable<RunningSlot['bus']> {
  if (s.bus === undefined) throw new Error(`slot ${slot} has no Modbus bus`);
  return s.bus;
}
