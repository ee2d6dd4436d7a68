// Revocation list validation: root-issued, in its window, signed. Which list is installed — newer
// by (epoch, sequence), never older, never a different list of the same version — is decided in
// ./adopt.ts, the one place of the adoption rule. Pantheon lists are cumulative, so a newer list
// replaces the older.

import { openAndVerify } from './open.js';
import type { CommonFields, Revocation, Valid } from './types.js';
import { requireRootIssuer, requireWindow, type TrustContext } from './validate-common.js';

/** `precheck` (the adoption rule's staleness check) runs with the other cheap checks, before the signature. */
export function validateRevocation(ctx: TrustContext, bytes: Uint8Array, precheck?: (e: CommonFields) => void): Valid<Revocation> {
  const env = openAndVerify(ctx.provider, bytes, 'revocation', ctx.resolveKey, {
    cache: ctx.verified,
    precheck: (e) => {
      requireRootIssuer(ctx, e);
      requireWindow(ctx, e);
      precheck?.(e);
    },
  });
  return env as Valid<Revocation>;
}
