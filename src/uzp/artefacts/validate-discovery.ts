// Validation of the outbound-indexing artefacts against the identities a session AUTHENTICATED, not
// against a trust store: OI draft §9.1 "Discovery Grants MUST be bound to the authenticated identities
// observed in the Outbound Discovery Session. An Indexer MUST reject a grant if the authenticated
// Publisher identity is not the Issuer, or if the authenticated Indexer identity is not the intended
// Audience." So the caller passes the peer's CID and public key as the E2E handshake proved them, and
// the only key a signature may verify under is that one (the publisher's for grants and revocations,
// the collector's for receipts, OI §11.5 "a signed Indexer identity statement"). Exactly one
// signature: the issuer's. As everywhere, the cheap checks run before the signature (open.ts).

import { equal } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { DiscoveryGrant } from './discovery-grant.js';
import type { DiscoveryRevocation } from './discovery-revocation.js';
import { openAndVerify, type ResolveKey } from './open.js';
import type { Receipt } from './receipt.js';
import type { Envelope, Valid } from './types.js';
import { requireNotRevoked, requireWindow } from './validate-common.js';

/** A peer as the session authenticated it: its CID and the Ed25519 key that CID is the hash of. */
export interface AuthenticatedPeer {
  readonly cid: Uint8Array;
  readonly publicKey: Uint8Array;
}

interface GrantContext {
  /** The gateway that presented the grant (its issuer and only signer). */
  readonly publisher: AuthenticatedPeer;
  /** Our own (the collector's) CID: the grant's audience. */
  readonly indexer: Uint8Array;
  readonly nowS: number;
  readonly skewS: number;
  /** Discovery Grants revoked by an earlier discovery-revocation (by object_id). */
  readonly isRevoked?: (objectId: Uint8Array) => boolean;
}

interface ReceiptContext {
  /** The collector that sent the receipt (its issuer and only signer). */
  readonly indexer: AuthenticatedPeer;
  /** Our own (the gateway's) CID: the receipt's audience. */
  readonly publisher: Uint8Array;
  /** The Discovery Grant the receipt must answer, when the caller knows it. */
  readonly grantId?: Uint8Array;
}

interface RevocationContext {
  readonly publisher: AuthenticatedPeer;
  readonly indexer: Uint8Array;
}

/** A resolver that knows exactly one signer: any other kid is SIG_UNKNOWN_SIGNER. */
function only(peer: AuthenticatedPeer): ResolveKey {
  return (kid) => (equal(kid, peer.cid) ? peer.publicKey : undefined);
}

function requireParties(env: Envelope<unknown>, issuer: Uint8Array, issuerCode: ErrorCode, audience: Uint8Array, who: string): void {
  if (!equal(env.issuer, issuer)) throw new ValidationError(issuerCode, `${env.type}: not issued by the authenticated ${who}`);
  if (env.audience === undefined || !equal(env.audience, audience)) throw new ValidationError(ErrorCode.DISCOVERY_AUDIENCE, `${env.type}: issued for another audience`);
  // Co-signers would need keys we do not hold; saying so here is clearer than "unknown signer".
  if (env.signatures.length !== 1) throw new ValidationError(ErrorCode.SIG_UNKNOWN_SIGNER, `${env.type}: ${env.signatures.length} signatures; only the issuer signs`);
}

/** OI §9.1: issuer = the authenticated publisher, audience = us, in its window, not revoked, signed by the publisher. */
export function validateDiscoveryGrant(provider: CryptoProvider, bytes: Uint8Array, ctx: GrantContext): Valid<DiscoveryGrant> {
  const isRevoked = ctx.isRevoked ?? (() => false);
  const env = openAndVerify(provider, bytes, 'discovery-grant', only(ctx.publisher), {
    precheck: (e) => {
      requireParties(e, ctx.publisher.cid, ErrorCode.DISCOVERY_ISSUER, ctx.indexer, 'publisher');
      // OI §9.1 "Expiry": the same window rule (and skew) as every other artefact.
      requireWindow({ nowSeconds: () => ctx.nowS, skewSeconds: ctx.skewS }, e);
      requireNotRevoked({ isRevoked }, e, []);
    },
  });
  return env as Valid<DiscoveryGrant>;
}

/** OI §11.5: issuer = the authenticated collector, audience = us, for the expected grant, signed by the collector. */
export function validateReceipt(provider: CryptoProvider, bytes: Uint8Array, ctx: ReceiptContext): Valid<Receipt> {
  const env = openAndVerify(provider, bytes, 'receipt', only(ctx.indexer), {
    precheck: (e) => {
      requireParties(e, ctx.indexer.cid, ErrorCode.RECEIPT_ISSUER, ctx.publisher, 'collector');
      if (ctx.grantId !== undefined && !equal(e.body.grantId, ctx.grantId)) throw new ValidationError(ErrorCode.RECEIPT_GRANT, 'receipt: for another Discovery Grant');
    },
  });
  return env as Valid<Receipt>;
}

/** OI §11.6: "a valid revocation instruction from an authenticated Publisher": issuer, audience, signature. */
export function validateDiscoveryRevocation(provider: CryptoProvider, bytes: Uint8Array, ctx: RevocationContext): Valid<DiscoveryRevocation> {
  const env = openAndVerify(provider, bytes, 'discovery-revocation', only(ctx.publisher), {
    precheck: (e) => requireParties(e, ctx.publisher.cid, ErrorCode.DISCOVERY_ISSUER, ctx.indexer, 'publisher'),
  });
  return env as Valid<DiscoveryRevocation>;
}
