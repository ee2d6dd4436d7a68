// Discovery revocation (OI draft §11.6): the gateway (Publisher) takes consent back from one collector
// (Indexer). "Revocation may apply to a specific grant, a policy scope, or an entire
// Publisher-to-Indexer relationship": "g" names one Discovery Grant (its object_id) and, absent, means
// every grant this gateway gave this audience (the whole relationship); "scope" narrows it to slots
// and, absent, means the grant's whole scope. iss = the gateway CID (signed by it), aud = the
// collector CID (required), no sub. The collector answers with a "revoke" receipt (./receipt.ts).
//   b = {"g"?: bstr32, "scope"?: [slot text, ...] (1..64, unique), "at_ms": uint}
// An empty "scope" would revoke nothing: it is never sent (fields.ts optionalList), so a
// DiscoveryRevocationBody with scope: [] cannot be issued either (signArtefact decodes what it signs).

import { asBytes, asMap, asUint, onlyKeys, type CborMap } from '../cbor.js';
import type { BodyCodec } from './codec.js';
import { MAX_TEXT } from './constants.js';
import { asName, assertUniqueStrings, optionalList } from './fields.js';
import type { Envelope } from './types.js';
import { ALL_SLOTS } from './discovery-grant.js';

export const MAX_REVOKED_SLOTS = 64;

export interface DiscoveryRevocationBody {
  /** The revoked Discovery Grant's object_id; absent = every grant to this audience. */
  readonly grantId?: Uint8Array;
  /** The slots revoked; absent = the whole scope. */
  readonly scope?: readonly string[];
  /** When the gateway revoked, Unix milliseconds. */
  readonly atMs: number;
}

export type DiscoveryRevocation = Envelope<DiscoveryRevocationBody>;

/**
 * The slots a revocation withdraws, or undefined for the grant's whole scope: no "scope", or a scope
 * naming "*" (every slot, as in a grant). Both sides read a revocation's scope through this, the
 * collector also the scopes in its audit trail: it used to delete every reading for a "*" and then
 * record a slot named "*" (and keep storing), and a gateway with a grant of named slots revoked
 * nothing for it (and kept publishing).
 */
export function revokedScope(scope: readonly string[] | undefined): readonly string[] | undefined {
  return scope === undefined || scope.includes(ALL_SLOTS) ? undefined : scope;
}

export const discoveryRevocationCodec: BodyCodec<DiscoveryRevocationBody> = {
  type: 'discovery-revocation',
  subject: 'forbidden',
  audience: 'required',
  knownExtensions: [],

  encode(b) {
    const m: CborMap = { at_ms: b.atMs };
    if (b.grantId !== undefined) m.g = b.grantId;
    if (b.scope !== undefined) m.scope = [...b.scope];
    return m;
  },

  decode(b) {
    const m = asMap(b, 'discovery-revocation.b');
    onlyKeys(m, ['g', 'scope', 'at_ms'], 'discovery-revocation.b');
    const scope = optionalList(m.scope, 'discovery-revocation.b.scope', MAX_REVOKED_SLOTS)?.map((x, i) => asName(x, `discovery-revocation.b.scope[${i}]`, MAX_TEXT));
    if (scope !== undefined) assertUniqueStrings(scope, 'discovery-revocation.b.scope');
    return {
      ...(m.g !== undefined ? { grantId: asBytes(m.g, 'discovery-revocation.b.g', 32) } : {}),
      ...(scope !== undefined ? { scope } : {}),
      atMs: asUint(m.at_ms, 'discovery-revocation.b.at_ms'),
    };
  },

  check() {
    // No cross-field invariant: the binding to a grant and its parties is the caller's (validate-discovery.ts).
  },
};
