// The demo operator's Grants, in the throwaway trust domain the HIL runner makes for the demo
// (hil-runner/domain.ts, domain `demo.uzp`).
//
// One Grant per slot, each naming only its slot with only what `tail` needs there (least
// authority; a Grant may name several slots, PROFILE.md §Grant), and the operator reads the three
// slots through three sessions. Issuing one never disables another (nonces are ordered for early
// data only), so they are issued with consecutive nonces like any other Grants.

import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { issueGrant, type ThrowawayDomain } from '../hil-runner/domain.js';
import { METER_POWER_ADDR, METER_UNIT, MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT, TH20_UNITS } from './equipment.js';

export { FILES } from '../hil-runner/domain.js';

/** The purposes the operator needs to `tail` each slot, and nothing more (least authority). */
const SLOT_PURPOSES: Readonly<Record<string, readonly string[]>> = {
  // The TH-20s' temperature and humidity are input registers, their alarm a coil; the meter's holding registers.
  [MODBUS_SLOT.slot]: [`modbus.read:units=${[...TH20_UNITS, METER_UNIT].join(',')}:tables=holding,input,coils:regs=0-${METER_POWER_ADDR}`],
  [SERIAL_SLOT.slot]: ['serial.read'],
  [MQTT_SLOT.slot]: [`mqtt.subscribe:topics=${MQTT_SLOT.base}/telemetry/#`],
};

/** One Grant per slot (see the top of this file); returns slot id -> Grant file. */
export function issueGrants(provider: CryptoProvider, d: ThrowawayDomain, slots: readonly string[], nowMs: number): Map<string, string> {
  const files = new Map<string, string>();
  for (const slot of slots) {
    const purposes = SLOT_PURPOSES[slot];
    if (purposes === undefined) continue;
    files.set(slot, issueGrant(provider, d, { name: `operator-${slot}`, purposes, slots: [slot], nowMs }));
  }
  return files;
}
