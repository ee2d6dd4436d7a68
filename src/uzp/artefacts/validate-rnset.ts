// RN Set Statement validation and RN eligibility (draft §11.1): validate signature set, scope,
// validity interval and epoch/sequence state; prefer the highest non-conflicting statement (the
// precedence and conflict rule is ./adopt.ts); eligibility comes only from a *currently* valid
// statement, re-evaluated at every use.

import { equal, toHex } from '../bytes.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { openAndVerify } from './open.js';
import type { CommonFields, RnEntry, RnSet, Valid } from './types.js';
import { inWindow, requireNotRevoked, requireRootIssuer, requireWindow, type TrustContext } from './validate-common.js';

/** Root issuer, window, revocation, then `precheck` (the adoption rule's staleness check), then the signature. */
export function validateRnSet(ctx: TrustContext, bytes: Uint8Array, precheck?: (e: CommonFields) => void): Valid<RnSet> {
  const env = openAndVerify(ctx.provider, bytes, 'rn-set', ctx.resolveKey, {
    cache: ctx.verified,
    precheck: (e) => {
      requireRootIssuer(ctx, e);
      requireWindow(ctx, e);
      requireNotRevoked(ctx, e, [e.issuer]);
      precheck?.(e);
    },
  });
  return env as Valid<RnSet>;
}

/** The listed, unrevoked entry for `rnPublicKey` in `set`; `current`: the set must also be inside its window now. */
function listedRn(ctx: TrustContext, set: Valid<RnSet> | undefined, rnPublicKey: Uint8Array, role: string | undefined, current: boolean): RnEntry {
  const refuse = (why: string): never => {
    throw new ValidationError(ErrorCode.RNSET_NOT_ELIGIBLE, `RN ${toHex(rnPublicKey).slice(0, 16)}… not eligible: ${why}`);
  };
  if (set === undefined) return refuse('no RN Set Statement installed');
  if (current && !inWindow(ctx, set)) return refuse('the installed RN Set Statement is outside its validity window');
  if (ctx.isRevoked(set.objectId) || ctx.isRevoked(set.issuer)) return refuse('the installed RN Set Statement is revoked');
  const entry = set.body.rns.find((e) => equal(e.publicKey, rnPublicKey));
  if (entry === undefined) return refuse('not listed in the RN Set Statement');
  if (ctx.isRevoked(entry.cid)) return refuse('its CID is revoked');
  if (role !== undefined && !entry.roles.includes(role)) return refuse(`role ${JSON.stringify(role)} not listed`);
  return entry;
}

/** The RN entry for `rnPublicKey` if `set` is currently valid, not revoked and lists it (with `role`). */
export function eligibleRn(ctx: TrustContext, set: Valid<RnSet> | undefined, rnPublicKey: Uint8Array, role?: string): RnEntry {
  return listedRn(ctx, set, rnPublicKey, role, true);
}

/**
 * Recovery eligibility (draft §11.1: "an equivalent accepted RN set carried by bootstrap or recovery
 * artefacts"): the RN is listed in the installed statement — authentic, once accepted, possibly past
 * its window — and neither is revoked. Such an RN may be dialled only to receive newer signed
 * artefacts (CONTROL ARTEFACT), never to accept or join stitches: it can withhold them, never forge
 * them, since each is verified against the trust anchor before it is adopted (./adopt.ts).
 */
export function recoveryRn(ctx: TrustContext, set: Valid<RnSet> | undefined, rnPublicKey: Uint8Array, role?: string): RnEntry {
  return listedRn(ctx, set, rnPublicKey, role, false);
}
