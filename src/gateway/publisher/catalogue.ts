// What the gateway offers a collector (OI §11.2: the announcement names the publisher's "site
// scope"): each slot in the Discovery Grant's scope with its device, reading kind, driver and, for
// Modbus slots, the register map with units (so stored values mean something without our config).

import type { SlotConfig } from '../../config/types.js';
import type { CatalogueEntry } from '../../hil/publish-messages.js';
import type { ReadingKind } from '../../hil/messages.js';

const KIND_OF: Readonly<Record<string, ReadingKind>> = { 'modbus-poller': 'modbus', 'serial-line': 'serial', 'serial-raw': 'serial', 'mqtt-bridge': 'mqtt' };

/** The catalogue of the slots `inScope` allows, in config order. */
export function catalogueOf(slots: readonly SlotConfig[], inScope: (slot: string) => boolean): CatalogueEntry[] {
  return slots
    .filter((s) => inScope(s.id))
    .map((s) => {
      const d = s.device;
      const registers =
        d.driver === 'modbus-poller'
          ? d.units.flatMap((u) => u.registers.map((r) => ({ name: `${u.unit}/${r.name}`, ...(r.unit !== undefined ? { unit: r.unit } : {}) })))
          : [];
      return { slot: s.id, device: d.id, kind: KIND_OF[d.driver] ?? 'serial', driver: d.driver, ...(registers.length > 0 ? { registers: registers.slice(0, 256) } : {}) };
    });
}

/**
 * The announcement's `dropped`: what the log's byte bound dropped, for the catalogue's slots only.
 * The log counts every slot it ever held, slots since removed from the config included, and the
 * decoder takes at most as many as a catalogue has (with more, a collector dropped the announcement
 * at every session, for good); the counts of slots outside the grant are not the collector's either.
 */
export function droppedFor(catalogue: readonly CatalogueEntry[], dropped: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { slot } of catalogue) if ((dropped[slot] ?? 0) > 0) out[slot] = dropped[slot]!;
  return out;
}
