// What `uzpgw publish grant|revoke` sign with the gateway's own key (OI §9, §11.6): the consent is
// the publisher's, so these are not Pantheon artefacts. The Discovery Grant states scope, purposes,
// constraints and the usage policy; a revocation withdraws a grant's whole scope, some of its
// slots, or (no grant named) everything this gateway granted that collector.

import type { DiscoveryGrantBody } from '../../uzp/artefacts/discovery-grant.js';
import { signArtefact } from '../../uzp/artefacts/sign.js';
import type { CryptoProvider, Signer } from '../../uzp/crypto/provider.js';

export interface DiscoveryGrantRequest {
  readonly collector: Uint8Array;
  readonly body: DiscoveryGrantBody;
  readonly nowMs: number;
  /** Validity from now, seconds. */
  readonly validS: number;
}

export function issueDiscoveryGrant(provider: CryptoProvider, gateway: Signer, r: DiscoveryGrantRequest): Uint8Array {
  const s = Math.floor(r.nowMs / 1000);
  return signArtefact(provider, gateway, { type: 'discovery-grant', audience: r.collector, issuedAt: s, notBefore: s, expiresAt: s + r.validS }, r.body);
}

export interface DiscoveryRevocationRequest {
  readonly collector: Uint8Array;
  /** The grant withdrawn (object_id); absent: every grant to this collector. */
  readonly grantId?: Uint8Array;
  /** Slots withdrawn; absent: the grant's whole scope. */
  readonly slots?: readonly string[];
  readonly nowMs: number;
}

/** A revocation stays in force: it is valid for as long as any grant it withdraws could be. */
const REVOCATION_LIFETIME_S = 100 * 366 * 24 * 3600;

export function issueDiscoveryRevocation(provider: CryptoProvider, gateway: Signer, r: DiscoveryRevocationRequest): Uint8Array {
  const s = Math.floor(r.nowMs / 1000);
  return signArtefact(
    provider,
    gateway,
    { type: 'discovery-revocation', audience: r.collector, issuedAt: s, notBefore: s, expiresAt: s + REVOCATION_LIFETIME_S },
    { ...(r.grantId !== undefined ? { grantId: r.grantId } : {}), ...(r.slots !== undefined && r.slots.length > 0 ? { scope: [...r.slots] } : {}), atMs: Math.floor(r.nowMs) },
  );
}
