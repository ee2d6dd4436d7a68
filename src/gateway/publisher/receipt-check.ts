// How the gateway reads a collector's receipt (OI §11.5): signed by the collector the session
// authenticated (its PCert's key, nothing else), addressed to this gateway, for the Discovery Grant
// in force. Anything else throws, and the caller deletes nothing.

import { validateReceipt } from '../../uzp/artefacts/validate-discovery.js';
import type { CryptoProvider } from '../../uzp/crypto/provider.js';
import type { Session } from '../../uzp/session/session.js';
import type { CheckedReceipt } from './publish-session.js';

export function receiptChecker(provider: CryptoProvider, gateway: Uint8Array, grantId: Uint8Array): (bytes: Uint8Array, session: Session) => CheckedReceipt {
  return (bytes, session) => {
    const r = validateReceipt(provider, bytes, {
      indexer: { cid: session.peerCid, publicKey: session.keys.peerPCert.body.publicKey },
      publisher: gateway,
      grantId,
    });
    return { kind: r.body.kind, ranges: r.body.ranges, objectId: r.objectId, ...(r.body.deleted !== undefined ? { deleted: r.body.deleted } : {}) };
  };
}
