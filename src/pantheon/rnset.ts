// `pantheon rn-set`: issues an RN Set Statement (draft §11.1). The sequence always increases
// (from DIR/state.json); the epoch may be raised with --epoch but never lowered, so every new
// statement takes precedence over the previous one under epoch-then-sequence ordering.

import { checkReplaceable } from '../files/fsutil.js';
import { isRnAddress, repeatedRnAddress, ROLE_PATTERN } from '../uzp/artefacts/rnset.js';
import type { RnEntry } from '../uzp/artefacts/types.js';
import { fromHex, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { cidOf } from '../uzp/identity/cid.js';
import { DAY, openDomain, windowFrom } from './domain.js';
import { sign } from './issue.js';
import { updateState } from './state.js';
import { CommonCode, LocalError } from '../lib/errors.js';

interface RnSetOptions {
  readonly dir: string;
  /** PUBHEX@host:port[,host:port] */
  readonly rns: readonly string[];
  readonly scope?: string;
  readonly epoch?: number;
  readonly roles: readonly string[];
  readonly days: number;
  readonly out: string;
  readonly nowMs: number;
}

interface RnSetResult {
  out: string;
  object_id: string;
  scope: string;
  epoch: number;
  sequence: number;
  rns: { cid: string; public: string; addresses: string[]; roles: string[] }[];
  not_before: number;
  expires_at: number;
}

function usage(msg: string): LocalError {
  return new LocalError(CommonCode.USAGE, msg);
}

/** Parses "PUBHEX@host:port[,host:port]". */
function parseRnSpec(provider: CryptoProvider, spec: string, roles: readonly string[]): RnEntry {
  const at = spec.indexOf('@');
  const pub = spec.slice(0, at);
  if (at < 0 || !/^[0-9a-f]{64}$/.test(pub)) throw usage(`--rn ${JSON.stringify(spec.slice(0, 80))}: expected PUBHEX@host:port[,host:port] with a 64-hex Ed25519 public key`);
  const addresses = spec.slice(at + 1).split(',');
  for (const a of addresses) if (!isRnAddress(a)) throw usage(`--rn: ${JSON.stringify(a)} is not host:port (port 1..65535, IPv6 in brackets)`);
  if (new Set(addresses).size !== addresses.length) throw usage(`--rn: repeated address in ${JSON.stringify(spec.slice(0, 80))}`);
  const publicKey = fromHex(pub);
  return { cid: cidOf(provider, publicKey), publicKey, addresses, roles: [...roles] };
}

export function rnSet(provider: CryptoProvider, o: RnSetOptions): RnSetResult {
  if (o.rns.length === 0) throw usage('at least one --rn is required');
  if (o.roles.length === 0 || !o.roles.every((r) => r.length <= 32 && ROLE_PATTERN.test(r)) || new Set(o.roles).size !== o.roles.length) {
    throw usage('--roles: distinct lowercase role names such as relay');
  }
  const entries = o.rns.map((s) => parseRnSpec(provider, s, o.roles));
  if (new Set(entries.map((e) => toHex(e.cid))).size !== entries.length) throw usage('the same RN key is listed twice');
  // One of the two RNs could never be reached at the shared address (gateway/rnset-shared-address.ts).
  const repeated = repeatedRnAddress(entries);
  if (repeated !== undefined) {
    const rn = (i: number): string => `--rn ${toHex(entries[i]!.publicKey).slice(0, 16)}…`;
    const [a, b] = repeated.spelled;
    throw usage(
      `${rn(repeated.first)} and ${rn(repeated.second)} both list the address ${repeated.address}${a === b ? '' : ` (as ${JSON.stringify(a)} and ${JSON.stringify(b)})`}; an endpoint attaches at an address only to the RN listed there, so give each address to the one RN that answers at it`,
    );
  }
  checkReplaceable(o.out); // before any counter is taken: a refused --out consumes none
  const d = openDomain(provider, o.dir);
  const scope = o.scope ?? d.anchor.domain;
  if (scope.length === 0 || scope.length > 256) throw usage('--scope: 1..256 characters');
  const w = windowFrom(o.nowMs, o.days * DAY);
  const { epoch, sequence, issued } = updateState(o.dir, (state) => {
    const epoch = o.epoch ?? state.rnSet.epoch;
    if (epoch < state.rnSet.epoch) throw usage(`--epoch ${epoch} is below the last issued epoch ${state.rnSet.epoch}; endpoints would refuse it as stale`);
    const sequence = state.rnSet.sequence + 1;
    const issued = sign(provider, d, { type: 'rn-set', epoch, sequence, ...w }, { scope, rns: entries });
    state.rnSet = { epoch, sequence };
    return { epoch, sequence, issued };
  });
  issued.write(o.out);
  return {
    out: o.out,
    object_id: issued.objectId,
    scope,
    epoch,
    sequence,
    rns: entries.map((e) => ({ cid: toHex(e.cid), public: toHex(e.publicKey), addresses: [...e.addresses], roles: [...e.roles] })),
    not_before: w.notBefore,
    expires_at: w.expiresAt,
  };
}
