// The collector's signed receipts (OI §11.5): "accept" for each window it stored (the ranges it
// committed, under which grant, for which declared purposes), "revoke" when it acted on a
// revocation (§11.6: what it deleted, what it keeps). Signed with the collector's own key and
// addressed to the gateway, so the gateway can hold it to them and an auditor can later.

import { signArtefact } from '../uzp/artefacts/sign.js';
import type { ReceiptRange } from '../uzp/artefacts/receipt.js';
import type { CryptoProvider, Signer } from '../uzp/crypto/provider.js';

/** A receipt is a lasting statement: valid for the life of the records it speaks about. */
const RECEIPT_LIFETIME_S = 10 * 366 * 24 * 3600;

export interface ReceiptSigner {
  accept(gateway: Uint8Array, grantId: Uint8Array, scope: readonly string[], ranges: readonly ReceiptRange[]): Uint8Array;
  revoke(gateway: Uint8Array, grantId: Uint8Array, scope: readonly string[], deleted: number): Uint8Array;
}

export function receiptSigner(provider: CryptoProvider, signer: Signer, purposes: readonly string[], nowMs: () => number = Date.now): ReceiptSigner {
  const fields = (gateway: Uint8Array): { type: 'receipt'; audience: Uint8Array; issuedAt: number; notBefore: number; expiresAt: number } => {
    const s = Math.floor(nowMs() / 1000);
    return { type: 'receipt', audience: gateway, issuedAt: s, notBefore: s, expiresAt: s + RECEIPT_LIFETIME_S };
  };
  const slots = (scope: readonly string[]): string[] => [...new Set(scope)].slice(0, 64);
  return {
    accept: (gateway, grantId, scope, ranges) =>
      signArtefact(provider, signer, fields(gateway), { kind: 'accept', grantId, scope: slots(scope), purposes: [...purposes], ranges: [...ranges], atMs: Math.floor(nowMs()) }),
    revoke: (gateway, grantId, scope, deleted) =>
      signArtefact(provider, signer, fields(gateway), { kind: 'revoke', grantId, scope: slots(scope), purposes: [...purposes], ranges: [], atMs: Math.floor(nowMs()), deleted, kept: 0 }),
  };
}
