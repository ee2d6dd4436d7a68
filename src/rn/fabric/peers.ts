// Which RNs are this RN's peers on the rendezvous fabric (docs/PROFILE.md §Fabric; draft §11.1):
// an RN of the RN Set Statement held now that is *eligible* — the statement inside its validity
// window and not revoked, the RN listed with the role `relay`, its CID not revoked — judged again
// at every message, so a revocation or a statement that lapses takes effect at the next one. Being
// listed is not enough: a retired RN whose CID was revoked stays listed until a new statement is
// issued, and must not route JOINs or answer them meanwhile.

import type { RnEntry, RnSet, Valid } from '../../uzp/artefacts/types.js';
import { equal } from '../../uzp/bytes.js';

/** The RN Set role of an RN that relays (pantheon rn-set's default, docs/PROFILE.md §Artefact bodies). */
export const FABRIC_RN_ROLE = 'relay';

/** The part of TrustStore the fabric's peer check uses. */
export interface FabricPeerTrust {
  readonly rnSet: Valid<RnSet> | undefined;
  /** Throws unless the installed statement is currently valid and lists the key, unrevoked, with `role`. */
  requireEligibleRn(rnPublicKey: Uint8Array, role?: string): RnEntry;
}

/** The public key of the fabric peer `cid`, or undefined when `cid` is not an eligible RN now. */
export function fabricPeerKey(trust: FabricPeerTrust, cid: Uint8Array): Uint8Array | undefined {
  const listed = trust.rnSet?.body.rns.find((r) => equal(r.cid, cid));
  if (listed === undefined) return undefined;
  try {
    const e = trust.requireEligibleRn(listed.publicKey, FABRIC_RN_ROLE);
    return equal(e.cid, cid) ? e.publicKey : undefined;
  } catch {
    return undefined;
  }
}
