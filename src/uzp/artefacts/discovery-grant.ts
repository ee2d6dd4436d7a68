// Discovery Grant (OI draft §9.1): a gateway's (the Publisher's) explicit, signed permission for one
// collector (the Indexer) to take readings of named slots for named purposes, under constraints and a
// usage policy (OI §10.1). Unlike a Pantheon Grant it is issued and signed by the gateway itself, not
// the domain root: the consent is the publisher's (OI §9: "an authorisation artefact, not merely a
// preference hint"). Common fields: iss = the gateway CID, aud = the collector CID (required), no sub;
// nbf/exp are the grant's expiry (OI §9.1 "Expiry").
//   b = {"scope": [ {"slot": text, "dev"?: text}, ... ],          1..64, slots unique; "*" = every slot
//        "purp":  [text, ...],                                    1..16, unique, dotted lowercase
//        "cons":  {"ret_d": uint 1..36500, "rate"?: uint >= 1, "attr"?: text <= 256},
//        "pol":   {"allow": [text...], "deny": [text...],         0..32 each, unique, dotted lowercase
//                  "ret_d": uint 1..36500, "redist": bool}}
// "*" stands alone (with no "dev"): one meaning, one encoding. check(): allow and deny are disjoint,
// every purpose is allowed and none denied, and the constraint's retention is within the policy's
// (DISCOVERY_POLICY) — a grant that contradicts its own policy authorises nothing (OI §10).

import { asArray, asBool, asMap, asUint, onlyKeys, type CborMap, type CborValue } from '../cbor.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { BodyCodec } from './codec.js';
import { MAX_PURPOSE_NAME, MAX_TEXT } from './constants.js';
import { asName, assertUniqueStrings } from './fields.js';
import { PURPOSE_PATTERN } from './grant.js';
import type { Envelope } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** The scope entry meaning "every slot of the gateway". */
export const ALL_SLOTS = '*';
export const MAX_DISCOVERY_SCOPES = 64;
export const MAX_DISCOVERY_PURPOSES = 16;
export const MAX_POLICY_PURPOSES = 32;
/** Retention is stated in days, at most 100 years (OI §10.1 "Retention"). */
export const MAX_RETENTION_DAYS = 36_500;

export interface DiscoveryScope {
  readonly slot: string;
  readonly device?: string;
}

export interface DiscoveryGrantBody {
  /** OI §9.1 "Scope": slots (each once), or the single entry "*" for every slot. */
  readonly scope: readonly DiscoveryScope[];
  /** OI §9.1 "Purposes", e.g. "telemetry.store". */
  readonly purposes: readonly string[];
  /** OI §9.1 "Constraints". */
  readonly constraints: { readonly retentionDays: number; readonly maxRate?: number; readonly attribution?: string };
  /** OI §10.1 policy elements: allowed and denied purposes, retention, redistribution. */
  readonly policy: { readonly allow: readonly string[]; readonly deny: readonly string[]; readonly retentionDays: number; readonly redistribution: boolean };
}

export type DiscoveryGrant = Envelope<DiscoveryGrantBody>;

function purposeList(v: CborValue | undefined, what: string, min: number, max: number): string[] {
  const list = asArray(v, what, max);
  if (list.length < min) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: at least ${min} purpose`);
  const out = list.map((x, i) => asName(x, `${what}[${i}]`, MAX_PURPOSE_NAME, PURPOSE_PATTERN));
  assertUniqueStrings(out, what);
  return out;
}

function retentionDays(v: CborValue | undefined, what: string): number {
  const n = asUint(v, what);
  if (n < 1 || n > MAX_RETENTION_DAYS) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: ${n} days is outside 1..${MAX_RETENTION_DAYS}`);
  return n;
}

function decodeScope(v: CborValue | undefined): DiscoveryScope[] {
  const list = asArray(v, 'discovery-grant.b.scope', MAX_DISCOVERY_SCOPES);
  if (list.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'discovery-grant.b.scope: a Discovery Grant names at least one slot');
  const seen = new Set<string>();
  const out = list.map((item, i) => {
    const what = `discovery-grant.b.scope[${i}]`;
    const m = asMap(item, what);
    onlyKeys(m, ['slot', 'dev'], what);
    const slot = asName(m.slot, `${what}.slot`, MAX_TEXT);
    if (seen.has(slot)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.slot: ${JSON.stringify(slot)} appears twice`);
    seen.add(slot);
    if (slot === ALL_SLOTS && m.dev !== undefined) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.dev: "*" (every slot) names no device`);
    return { slot, ...(m.dev !== undefined ? { device: asName(m.dev, `${what}.dev`, MAX_TEXT) } : {}) };
  });
  if (seen.has(ALL_SLOTS) && out.length > 1) throw new DecodeError(CommonCode.DECODE_VALUE, 'discovery-grant.b.scope: "*" (every slot) stands alone');
  return out;
}

function decodeConstraints(v: CborValue | undefined): DiscoveryGrantBody['constraints'] {
  const m = asMap(v, 'discovery-grant.b.cons');
  onlyKeys(m, ['ret_d', 'rate', 'attr'], 'discovery-grant.b.cons');
  const out: { -readonly [K in keyof DiscoveryGrantBody['constraints']]: DiscoveryGrantBody['constraints'][K] } = {
    retentionDays: retentionDays(m.ret_d, 'discovery-grant.b.cons.ret_d'),
  };
  if (m.rate !== undefined) {
    out.maxRate = asUint(m.rate, 'discovery-grant.b.cons.rate');
    if (out.maxRate < 1) throw new DecodeError(CommonCode.DECODE_VALUE, 'discovery-grant.b.cons.rate: at least 1 reading per second (omit "rate" for no limit)');
  }
  if (m.attr !== undefined) out.attribution = asName(m.attr, 'discovery-grant.b.cons.attr', MAX_TEXT);
  return out;
}

function decodePolicy(v: CborValue | undefined): DiscoveryGrantBody['policy'] {
  const m = asMap(v, 'discovery-grant.b.pol');
  onlyKeys(m, ['allow', 'deny', 'ret_d', 'redist'], 'discovery-grant.b.pol');
  return {
    allow: purposeList(m.allow, 'discovery-grant.b.pol.allow', 0, MAX_POLICY_PURPOSES),
    deny: purposeList(m.deny, 'discovery-grant.b.pol.deny', 0, MAX_POLICY_PURPOSES),
    retentionDays: retentionDays(m.ret_d, 'discovery-grant.b.pol.ret_d'),
    redistribution: asBool(m.redist, 'discovery-grant.b.pol.redist'),
  };
}

/** OI §10: the grant must be consistent with the policy it carries. ValidationError DISCOVERY_POLICY. */
function checkPolicy(b: DiscoveryGrantBody): void {
  const { allow, deny } = b.policy;
  const both = allow.find((p) => deny.includes(p));
  if (both !== undefined) throw new ValidationError(ErrorCode.DISCOVERY_POLICY, `discovery-grant: policy both allows and denies ${JSON.stringify(both)}`);
  for (const p of b.purposes) {
    if (deny.includes(p)) throw new ValidationError(ErrorCode.DISCOVERY_POLICY, `discovery-grant: purpose ${JSON.stringify(p)} is denied by the grant's own policy`);
    if (!allow.includes(p)) throw new ValidationError(ErrorCode.DISCOVERY_POLICY, `discovery-grant: purpose ${JSON.stringify(p)} is not in the policy's allowed purposes`);
  }
  if (b.constraints.retentionDays > b.policy.retentionDays) {
    throw new ValidationError(
      ErrorCode.DISCOVERY_POLICY,
      `discovery-grant: retention of ${b.constraints.retentionDays} days exceeds the policy's ${b.policy.retentionDays} days`,
    );
  }
}

export const discoveryGrantCodec: BodyCodec<DiscoveryGrantBody> = {
  type: 'discovery-grant',
  subject: 'forbidden',
  audience: 'required',
  knownExtensions: [],

  encode(b) {
    checkPolicy(b);
    const cons: CborMap = { ret_d: b.constraints.retentionDays };
    if (b.constraints.maxRate !== undefined) cons.rate = b.constraints.maxRate;
    if (b.constraints.attribution !== undefined) cons.attr = b.constraints.attribution;
    return {
      scope: b.scope.map((s): CborMap => ({ slot: s.slot, ...(s.device !== undefined ? { dev: s.device } : {}) })),
      purp: [...b.purposes],
      cons,
      pol: { allow: [...b.policy.allow], deny: [...b.policy.deny], ret_d: b.policy.retentionDays, redist: b.policy.redistribution },
    };
  },

  decode(b) {
    const m = asMap(b, 'discovery-grant.b');
    onlyKeys(m, ['scope', 'purp', 'cons', 'pol'], 'discovery-grant.b');
    return {
      scope: decodeScope(m.scope),
      purposes: purposeList(m.purp, 'discovery-grant.b.purp', 1, MAX_DISCOVERY_PURPOSES),
      constraints: decodeConstraints(m.cons),
      policy: decodePolicy(m.pol),
    };
  },

  check(_provider, _common, body) {
    checkPolicy(body);
  },
};
