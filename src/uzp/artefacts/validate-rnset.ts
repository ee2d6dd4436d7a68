// RN Set Statement installation and RN eligibility (draft §11.1): validate signature set, scope,
// validity interval and epoch/sequence state; prefer the highest non-conflicting statement;
// eligibility comes only from a *currently* valid statement, re-evaluated at every use.

import { equal, toHex } from '../bytes.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { openAndVerify } from './open.js';
import type { RnEntry, RnSet, Valid } from './types.js';
import { compareVersion, inWindow, requireNotRevoked, requireRootIssuer, requireWindow, type TrustContext } from './validate-common.js';

/**
 * Validates `bytes` against the installed statement and returns the one to keep.
 * Older (epoch, sequence) -> ARTEFACT_STALE_SEQUENCE; another scope, or the same (epoch, sequence)
 * with a different object_id -> RNSET_CONFLICT (checked after the signature, so only a genuinely
 * signed conflicting statement raises it: a signal worth an operator's attention).
 */
export function acceptRnSet(ctx: TrustContext, installed: Valid<RnSet> | undefined, bytes: Uint8Array): Valid<RnSet> {
  const env = openAndVerify(ctx.provider, bytes, 'rn-set', ctx.resolveKey, {
    cache: ctx.sigCache,
    precheck: (e) => {
      requireRootIssuer(ctx, e);
      requireWindow(ctx, e);
      requireNotRevoked(ctx, e, [e.issuer]);
      if (installed !== undefined && compareVersion(e, installed) < 0) {
        throw new ValidationError(
          ErrorCode.ARTEFACT_STALE_SEQUENCE,
          `rn-set: epoch ${e.epoch} sequence ${e.sequence} is older than the installed epoch ${installed.epoch} sequence ${installed.sequence}`,
        );
      }
    },
  });
  if (installed !== undefined) {
    if (env.body.scope !== installed.body.scope) {
      throw new ValidationError(ErrorCode.RNSET_CONFLICT, `rn-set: scope ${JSON.stringify(env.body.scope)} differs from installed ${JSON.stringify(installed.body.scope)}`);
    }
    if (compareVersion(env, installed) === 0 && !equal(env.objectId, installed.objectId)) {
      throw new ValidationError(ErrorCode.RNSET_CONFLICT, `rn-set: two different statements for epoch ${env.epoch} sequence ${env.sequence}`);
    }
  }
  return env as Valid<RnSet>;
}

/** The RN entry for `rnPublicKey` if `set` is currently valid, not revoked and lists it (with `role`). */
export function eligibleRn(ctx: TrustContext, set: Valid<RnSet> | undefined, rnPublicKey: Uint8Array, role?: string): RnEntry {
  const refuse = (why: string): never => {
    throw new ValidationError(ErrorCode.RNSET_NOT_ELIGIBLE, `RN ${toHex(rnPublicKey).slice(0, 16)}… not eligible: ${why}`);
  };
  if (set === undefined) return refuse('no RN Set Statement installed');
  if (!inWindow(ctx, set)) return refuse('the installed RN Set Statement is outside its validity window');
  if (ctx.isRevoked(set.objectId) || ctx.isRevoked(set.issuer)) return refuse('the installed RN Set Statement is revoked');
  const entry = set.body.rns.find((e) => equal(e.publicKey, rnPublicKey));
  if (entry === undefined) return refuse('not listed in the RN Set Statement');
  if (ctx.isRevoked(entry.cid)) return refuse('its CID is revoked');
  if (role !== undefined && !entry.roles.includes(role)) return refuse(`role ${JSON.stringify(role)} not listed`);
  return entry;
}
