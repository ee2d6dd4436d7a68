// A throwaway trust domain for a run (the demo's and `uzpgw hil run`'s), issued with the Pantheon
// library, the same code as `uzpgw pantheon ...`: a root, identities for the RN, the gateway and
// one operator, their PCerts, an RN Set Statement naming the RN where it actually listens, and
// the operator's Grants. Everything lives under one directory that the caller removes at the end
// (it holds the root key).

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

/** File names inside the run directory (relative, so a gateway config written there can name them). */
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

/** Runs are short; Grants expire an hour after issue. */
const GRANT_SECONDS = 3600;
/**
 * PCerts and the RN Set outlive the gateway's expiry warning (7 days ahead), so a run is not told
 * to renew artefacts of a domain that lives for seconds; the keys are removed with it anyway.
 */
const ARTEFACT_DAYS = 30;

export interface ThrowawayDomain {
  readonly dir: string;
  readonly gatewayCid: string;
  readonly operatorCid: string;
  readonly rnPublicHex: string;
}

/** Creates root, identities and PCerts under `dir` (which must exist and hold no domain yet). */
export function createDomain(provider: CryptoProvider, dir: string, nowMs: number, name = 'hil'): ThrowawayDomain {
  const at = (f: string): string => join(dir, f);
  initDomain(provider, at(FILES.domain), `${name}.uzp`);
  mkdirSync(dirname(at(FILES.rnKey)), { recursive: true, mode: 0o700 });
  const rn = generateIdentity(provider);
  const gw = generateIdentity(provider);
  const op = generateIdentity(provider);
  writeKeyFile(at(FILES.rnKey), rn);
  writeKeyFile(at(FILES.gatewayKey), gw);
  writeKeyFile(at(FILES.operatorKey), op);
  const base = { dir: at(FILES.domain), days: ARTEFACT_DAYS, nowMs };
  enroll(provider, { ...base, publicHex: toHex(gw.publicKey), role: 'gateway', name: `${name}-gw`, out: at(FILES.gatewayPcert) });
  enroll(provider, { ...base, publicHex: toHex(op.publicKey), role: 'operator', name: `${name}-operator`, out: at(FILES.operatorPcert) });
  return { dir, gatewayCid: toHex(gw.cid), operatorCid: toHex(op.cid), rnPublicHex: toHex(rn.publicKey) };
}

/** The RN Set Statement (draft §11.1) naming the run's RN at the address it listens on. */
export function issueRnSet(provider: CryptoProvider, d: ThrowawayDomain, address: string, nowMs: number): string {
  const out = join(d.dir, FILES.rnSet);
  rnSet(provider, { dir: join(d.dir, FILES.domain), rns: [`${d.rnPublicHex}@${address}`], roles: ['relay'], days: ARTEFACT_DAYS, out, nowMs });
  return out;
}

/** A Grant to the operator for `slots` with `purposes` (`pantheon grant --purpose` grammar), written to `name`.grant. */
export function issueGrant(provider: CryptoProvider, d: ThrowawayDomain, o: { readonly name: string; readonly purposes: readonly string[]; readonly slots: readonly string[]; readonly nowMs: number }): string {
  const out = join(d.dir, FILES.domain, `${o.name}.grant`);
  grant(provider, {
    dir: join(d.dir, FILES.domain),
    subject: d.operatorCid,
    audience: d.gatewayCid,
    purposes: [...o.purposes],
    slots: [...o.slots],
    seconds: GRANT_SECONDS,
    earlyData: false,
    noReplay: false,
    out,
    nowMs: o.nowMs,
  });
  return out;
}
