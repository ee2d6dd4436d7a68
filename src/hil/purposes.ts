// The purposes a Grant may carry for a HIL slot (docs/PROFILE.md §HIL, Authority), which of them
// take which parameters, which open which mode, and how one is written (`pantheon grant --purpose`
// grammar). The gateway's authority enforces them; `pantheon grant` refuses anything else at issue
// time, so a typo never becomes a Grant; the operator CLI explains refusals with them.

import type { Purpose } from '../uzp/artefacts/types.js';
import type { Mode } from './messages.js';

export const PURPOSES = ['serial.read', 'serial.write', 'modbus.read', 'modbus.write', 'mqtt.subscribe', 'mqtt.publish', 'diag.read'] as const;
export type HilPurpose = (typeof PURPOSES)[number];

/**
 * The purpose of a Pantheon Grant from a gateway (subject) to a collector (audience): the gateway may
 * publish the readings of the Grant's slots to that collector (outbound indexing draft §11.3,
 * "Publisher Push"). Not a HIL purpose: it opens no mode and takes no parameters.
 */
export const PUBLISH_PURPOSE = 'telemetry.publish';

export function isHilPurpose(s: string): s is HilPurpose {
  return (PURPOSES as readonly string[]).includes(s);
}

/** Modbus purposes take units, tables and register ranges; MQTT purposes take topic filters; the others take nothing. */
export function purposeFamily(p: HilPurpose): 'serial' | 'modbus' | 'mqtt' | 'diag' {
  return p.startsWith('modbus.') ? 'modbus' : p.startsWith('mqtt.') ? 'mqtt' : p.startsWith('diag.') ? 'diag' : 'serial';
}

/** The purposes that make each mode usable, by device kind (any one suffices to open). */
export const MODE_PURPOSES: Readonly<Record<Mode, Readonly<Partial<Record<'modbus' | 'serial' | 'mqtt', readonly HilPurpose[]>>>>> = {
  tail: { modbus: ['modbus.read'], serial: ['serial.read'], mqtt: ['mqtt.subscribe'] },
  modbus: { modbus: ['modbus.read', 'modbus.write'] },
  serial: { serial: ['serial.read', 'serial.write'] },
  mqtt: { mqtt: ['mqtt.subscribe', 'mqtt.publish'] },
  // Per-slave diagnostics (issue #13): what a bus's units answered, never a register value, so a
  // purpose of its own that reaches no equipment; only Modbus slots keep them.
  diag: { modbus: ['diag.read'] },
};

/** Every purpose that can open `mode` on some device kind. */
export function purposesOpening(mode: Mode): HilPurpose[] {
  return [...new Set(Object.values(MODE_PURPOSES[mode]).flat())];
}

/** A purpose as `pantheon grant --purpose` writes it, e.g. modbus.read:units=1,2:tables=holding:regs=0-99. */
export function formatPurpose(p: Purpose): string {
  let s = p.purpose;
  if (p.units !== undefined) s += `:units=${p.units.join(',')}`;
  if (p.tables !== undefined) s += `:tables=${p.tables.join(',')}`;
  if (p.registers !== undefined) s += `:regs=${p.registers.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`;
  if (p.topics !== undefined) s += `:topics=${p.topics.join(',')}`;
  return s;
}
