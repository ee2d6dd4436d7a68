// What a Grant lets an operator do on one slot (draft §4.3: "Grants ... MUST be scoped so that the
// HIL cannot silently generalise the authority of the attached system"). The HIL broker asks this
// object before every frame it passes to equipment and before every reading it passes back.
//
// Rules of this profile (docs/PROFILE.md §HIL authority):
// - The Grant must have a scope for the slot; a slot it does not name is not granted. If that scope
//   names a device, the slot's device id must be that device. Each scope carries its own purposes.
// - A purpose applies when its name matches; several entries of one name are alternatives.
// - Modbus: `units` absent = every unit, except that a write to unit 0 needs an entry naming unit 0
//   (below); `tables` absent = holding registers only; `registers` absent = every address of those
//   tables; ranges are inclusive [first, last]; a request is allowed only if its table is one of an
//   entry's tables and every address it touches is inside that entry's ranges.
// - Unit 0 is the broadcast address of a serial line (Modbus over Serial Line V1.02 §2.1): a write
//   there reaches every slave of the bus at once, and none answers. Behind a Modbus TCP slot the
//   device may itself be a gateway to a serial line that treats unit 0 the same way, and nothing
//   here can tell. So a Grant writes to unit 0 only when one of its modbus.write entries names 0 in
//   `units`; an entry without `units` writes to every other unit (docs/DEVICES.md "Unit 0").
// - MQTT: a subscription filter must be contained in a granted filter; a published topic must match one.

import type { Grant, GrantScope, Purpose, Valid } from '../../uzp/artefacts/types.js';
import type { RefusalCode } from '../../hil/refusals.js';
import type { RegisterAccess } from '../../hil/modbus-request.js';
import type { HilPurpose } from '../../hil/purposes.js';
import type { ModbusTable } from '../../lib/modbus-tables.js';
import { filterWithin, isTopicFilter, isTopicName, topicMatches } from '../../lib/mqtt-topics.js';
import { quoteWire } from '../../lib/wire-text.js';
import { RTU_BROADCAST_UNIT } from '../../ports/modbus/vocabulary.js';

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly code: RefusalCode; readonly reason: string };

export type HilAction =
  | { readonly purpose: 'serial.read' | 'serial.write' | 'diag.read' }
  | { readonly purpose: 'modbus.read' | 'modbus.write'; readonly unit: number; readonly access?: RegisterAccess }
  | { readonly purpose: 'mqtt.subscribe'; readonly filter: string }
  | { readonly purpose: 'mqtt.publish'; readonly topic: string };

interface SlotBinding {
  readonly slot: string;
  readonly device: string;
}

/** A modbus purpose without "tb" covers holding registers only (profile version 1 Grants included). */
const DEFAULT_TABLES: readonly ModbusTable[] = ['holding'];

const ALLOWED: Decision = { allowed: true };
const refuse = (code: RefusalCode, reason: string): Decision => ({ allowed: false, code, reason });

export class SlotAuthority {
  private readonly byPurpose = new Map<string, Purpose[]>();
  private readonly slotDecision: Decision;

  constructor(
    readonly grant: Valid<Grant>,
    readonly binding: SlotBinding,
  ) {
    const scope: GrantScope | undefined = grant.body.scopes.find((s) => s.slot === binding.slot);
    for (const p of scope?.purposes ?? []) {
      const list = this.byPurpose.get(p.purpose) ?? [];
      list.push(p);
      this.byPurpose.set(p.purpose, list);
    }
    if (scope === undefined) {
      this.slotDecision = refuse('SLOT_NOT_GRANTED', `the Grant does not name slot ${quoteWire(binding.slot)} (it names ${grant.body.scopes.map((s) => s.slot).join(', ') || 'no slot'})`);
    } else if (scope.device !== undefined && scope.device !== binding.device) {
      this.slotDecision = refuse('DEVICE_NOT_GRANTED', `the Grant names device ${JSON.stringify(scope.device)}, the slot holds ${JSON.stringify(binding.device)}`);
    } else {
      this.slotDecision = ALLOWED;
    }
  }

  /** May the operator use this slot at all? */
  checkSlot(): Decision {
    return this.slotDecision;
  }

  /** Does the Grant carry this purpose for this slot (any parameters)? */
  has(purpose: HilPurpose): boolean {
    return this.slotDecision.allowed && this.byPurpose.has(purpose);
  }

  check(action: HilAction): Decision {
    if (!this.slotDecision.allowed) return this.slotDecision;
    const entries = this.byPurpose.get(action.purpose);
    if (entries === undefined) return refuse('PURPOSE_NOT_GRANTED', `the Grant does not include ${action.purpose}`);
    switch (action.purpose) {
      case 'serial.read':
      case 'serial.write':
      case 'diag.read':
        return ALLOWED;
      case 'modbus.read':
      case 'modbus.write':
        return checkModbus(entries, action.purpose === 'modbus.write', action.unit, action.access);
      case 'mqtt.subscribe':
        if (!isTopicFilter(action.filter)) return refuse('BAD_TOPIC', `not a valid topic filter: ${quoteWire(action.filter)}`);
        return entries.some((e) => (e.topics ?? ['#']).some((g) => filterWithin(action.filter, g)))
          ? ALLOWED
          : refuse('TOPIC_OUT_OF_FILTER', `filter ${quoteWire(action.filter)} is outside the granted topic filters`);
      case 'mqtt.publish':
        if (!isTopicName(action.topic)) return refuse('BAD_TOPIC', `not a valid topic name: ${quoteWire(action.topic)}`);
        return entries.some((e) => (e.topics ?? ['#']).some((g) => topicMatches(g, action.topic)))
          ? ALLOWED
          : refuse('TOPIC_OUT_OF_FILTER', `topic ${quoteWire(action.topic)} is outside the granted topic filters`);
    }
  }
}

/** Does `e` cover `unit`? Absent `units` covers every unit but a write to the broadcast address. */
function coversUnit(e: Purpose, unit: number, write: boolean): boolean {
  if (e.units !== undefined) return e.units.includes(unit);
  return !(write && unit === RTU_BROADCAST_UNIT);
}

function checkModbus(entries: readonly Purpose[], write: boolean, unit: number, access: RegisterAccess | undefined): Decision {
  const forUnit = entries.filter((e) => coversUnit(e, unit, write));
  if (forUnit.length === 0) {
    const why = write && unit === RTU_BROADCAST_UNIT ? 'unit 0 (the broadcast address: every slave of a serial line) is written only under a modbus.write entry that names unit 0' : `unit ${unit} is not granted`;
    return refuse('UNIT_NOT_GRANTED', why);
  }
  if (access === undefined) return ALLOWED;
  const inTable = forUnit.filter((e) => (e.tables ?? DEFAULT_TABLES).includes(access.table));
  if (inTable.length === 0) {
    const granted = [...new Set(forUnit.flatMap((e) => e.tables ?? DEFAULT_TABLES))].join(', ');
    return refuse('REGISTER_OUT_OF_RANGE', `${access.table} of unit ${unit} is not granted (granted tables: ${granted})`);
  }
  const last = access.addr + access.count - 1;
  const inside = inTable.some((e) => e.registers === undefined || coveredBy(e.registers, access.addr, last));
  return inside ? ALLOWED : refuse('REGISTER_OUT_OF_RANGE', `${access.table} ${access.addr}..${last} of unit ${unit} is outside the granted register ranges`);
}

/** Is [first, last] covered by the union of inclusive ranges? */
function coveredBy(ranges: readonly (readonly [number, number])[], first: number, last: number): boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let next = first;
  for (const [a, b] of sorted) {
    if (a > next) break;
    if (b >= next) next = b + 1;
    if (next > last) return true;
  }
  return next > last;
}
