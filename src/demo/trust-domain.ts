// The demo's throwaway trust domain, issued with the Pantheon library (the same code as
// `uzpgw pantheon ...`): a root, identities for the RN, the gateway and one operator, PCerts, an RN
// Set Statement naming the RN where it actually listens, and the operator's Grants.
//
// One Grant per slot, each naming only its slot with only what `tail` needs there (least
// authority; a Grant may name several slots, PROFILE.md §Grant), and the operator reads the three
// slots through three sessions. Issuing one never disables another (nonces are ordered for early
// data only), so they are issued with consecutive nonces like any other Grants.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeKeyFile } from '../files/keyfile.js';
import { enroll } from '../pantheon/enroll.js';
import { grant } from '../pantheon/grant.js';
import { initDomain } from '../pantheon/init.js';
import { rnSet } from '../pantheon/rnset.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { generateIdentity } from '../uzp/identity/identity.js';
import { METER_POWER_ADDR, METER_UNIT, MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT, TH20_UNITS } from './equipment.js';

/** File names inside the demo directory (relative, so the gateway config can name them too). */
export const FILES = {
  domain: 'domain',
  trust: 'domain/trust.json',
  rnKey: 'keys/rn.key',
  gatewayKey: 'keys/gateway.key',
  gatewayPcert: 'keys/gateway.pcert',
  operatorKey: 'keys/operator.key',
  operatorPcert: 'keys/operator.pcert',
  rnSet: 'domain/rn-set.uzp',
} as const;

/** The purposes the operator needs to `tail` each slot, and nothing more (least authority). */
const SLOT_PURPOSES: Readonly<Record<string, readonly string[]>> = {
  // The TH-20s' temperature and humidity are input registers, their alarm a coil; the meter's holding registers.
  [MODBUS_SLOT.slot]: [`modbus.read:units=${[...TH20_UNITS, METER_UNIT].join(',')}:tables=holding,input,coils:regs=0-${METER_POWER_ADDR}`],
  [SERIAL_SLOT.slot]: ['serial.read'],
  [MQTT_SLOT.slot]: [`mqtt.subscribe:topics=${MQTT_SLOT.base}/telemetry/#`],
};

/** Demo sessions are short; the Grants expire soon after. */
const GRANT_SECONDS = 3600;
/**
 * PCerts and the RN Set outlive the gateway's expiry warning (7 days ahead), so a first run is not
 * told to renew artefacts of a domain that lives for seconds; the keys are removed with it anyway.
 */
const ARTEFACT_DAYS = 30;

interface DemoDomain {
  readonly dir: string;
  readonly gatewayCid: string;
  readonly operatorCid: string;
  readonly rnPublicHex: string;
}

/** Creates root, identities and PCerts under `dir` (which must exist and be empty of a domain). */
export function createDemoDomain(provider: CryptoProvider, dir: string, nowMs: number): DemoDomain {
  const at = (f: string): string => join(dir, f);
  initDomain(provider, at(FILES.domain), 'demo.uzp');
  mkdirSync(dirname(at(FILES.rnKey)), { recursive: true, mode: 0o700 });
  const rn = generateIdentity(provider);
  const gw = generateIdentity(provider);
  const op = generateIdentity(provider);
  writeKeyFile(at(FILES.rnKey), rn);
  writeKeyFile(at(FILES.gatewayKey), gw);
  writeKeyFile(at(FILES.operatorKey), op);
  const base = { dir: at(FILES.domain), days: ARTEFACT_DAYS, nowMs };
  enroll(provider, { ...base, publicHex: toHex(gw.publicKey), role: 'gateway', name: 'demo-gw', out: at(FILES.gatewayPcert) });
  enroll(provider, { ...base, publicHex: toHex(op.publicKey), role: 'operator', name: 'demo-operator', out: at(FILES.operatorPcert) });
  return { dir, gatewayCid: toHex(gw.cid), operatorCid: toHex(op.cid), rnPublicHex: toHex(rn.publicKey) };
}

/** The RN Set Statement (draft §11.1) naming the demo RN at the address it listens on. */
export function issueRnSet(provider: CryptoProvider, d: DemoDomain, address: string, nowMs: number): string {
  const out = join(d.dir, FILES.rnSet);
  rnSet(provider, { dir: join(d.dir, FILES.domain), rns: [`${d.rnPublicHex}@${address}`], roles: ['relay'], days: ARTEFACT_DAYS, out, nowMs });
  return out;
}

/** One Grant per slot (see the top of this file); returns slot id -> Grant file. */
export function issueGrants(provider: CryptoProvider, d: DemoDomain, slots: readonly string[], nowMs: number): Map<string, string> {
  const files = new Map<string, string>();
  for (const slot of slots) {
    const purposes = SLOT_PURPOSES[slot];
    if (purposes === undefined) continue;
    const out = join(d.dir, FILES.domain, `operator-${slot}.grant`);
    grant(provider, {
      dir: join(d.dir, FILES.domain),
      subject: d.operatorCid,
      audience: d.gatewayCid,
      purposes,
      slots: [slot],
      seconds: GRANT_SECONDS,
      earlyData: false,
      noReplay: false,
      out,
      nowMs,
    });
    files.set(slot, out);
  }
  return files;
}
