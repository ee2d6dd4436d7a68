// Checks of a scenario step against the config it runs with, beyond each field's own shape
// (scenario.ts): a unit the slot has, a purpose the Grant grammar accepts, a scripted value the
// register can hold. Each failure is an issue on the field (exit 2 before anything starts),
// because each was otherwise found only mid-run, or never: a fault on a unit that is not there
// acted on nothing, a value out of the type's range wrapped around.

import type { GatewayConfig, Node, RegisterDef } from '../config/index.js';
import { isCodedError } from '../lib/errors.js';
import { parsePurposeSpec } from '../pantheon/purpose-spec.js';

type SlotConfig = GatewayConfig['slots'][number];

/** The unit ids of a Modbus slot (none for another kind). */
export function slotUnits(s: SlotConfig | undefined): number[] {
  return s?.device.driver === 'modbus-poller' ? s.device.units.map((u) => u.unit) : [];
}

/** `unit` (read from `n`) must be one of the slot's units: the virtual bus has a slave for those only. */
export function checkUnitOnSlot(n: Node, slotId: string, slot: SlotConfig | undefined, unit: number): void {
  const units = slotUnits(slot);
  if (slot === undefined || slot.device.driver !== 'modbus-poller' || !Number.isInteger(n.value) || units.includes(unit)) return;
  n.bad(`a unit of slot ${slotId} (${units.join('|')})`, `unit ${unit} is not on the bus in the config; use one of ${units.join(', ')}`, undefined);
}

/** Each purpose must parse as `pantheon grant --purpose` reads it (the run issues the Grant with it). */
export function checkPurpose(n: Node, spec: string): void {
  if (spec === '') return;
  try {
    parsePurposeSpec(spec);
  } catch (e) {
    if (!isCodedError(e)) throw e;
    n.bad('a purpose in the `pantheon grant --purpose` grammar, e.g. modbus.read:units=1', e.message.replace(/^--purpose "[^"]*": /, ''), undefined);
  }
}

/** The raw values (before scale and offset) each integer type holds. */
const RAW_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  float32: [-3.4028234663852886e38, 3.4028234663852886e38],
};

/**
 * A scripted `value` (engineering units) must fit the register once turned back into the raw value
 * the device stores, (value - offset) / scale: 5000 on an int16 with scale 0.1 is raw 50000, which
 * an int16 cannot hold (it would read back as -15536).
 */
export function checkSetValue(n: Node, def: RegisterDef | undefined, value: number): void {
  if (def === undefined || def.table === 'coils' || def.table === 'discrete' || def.type === 'bool') return;
  const range = RAW_RANGE[def.type];
  if (range === undefined) return;
  const raw = (value - def.offset) / def.scale;
  const rounded = def.type === 'float32' ? raw : Math.round(raw);
  if (rounded >= range[0] && rounded <= range[1]) return;
  const lo = range[0] * def.scale + def.offset;
  const hi = range[1] * def.scale + def.offset;
  const [min, max] = lo <= hi ? [lo, hi] : [hi, lo];
  n.bad(`a value register ${def.name} (${def.type}, scale ${def.scale}, offset ${def.offset}) can hold: ${min}..${max}`, `the device would store raw ${raw}, outside ${def.type} ${range[0]}..${range[1]}; pick a value in range`, undefined);
}
