// Cheap checks shared by every validate* function (draft §9: "Authenticity alone is insufficient
// for transport-authorising artefacts ... MUST also be evaluated for freshness, scope, nonce or
// sequence state, and current policy eligibility"). They run before any signature is verified.

import { equal, toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { ResolveKey } from './open.js';
import type { VerifiedCache } from './verified-cache.js';
import type { CommonFields } from './types.js';

/** What validators need from the TrustStore (kept narrow so the validators stay testable alone). */
export interface TrustContext {
  readonly provider: CryptoProvider;
  readonly rootCid: Uint8Array;
  readonly skewSeconds: number;
  readonly verified: VerifiedCache;
  readonly resolveKey: ResolveKey;
  nowSeconds(): number;
  isRevoked(id: Uint8Array): boolean;
}

/** Only the domain root issues artefacts in this profile (no delegation yet). */
export function requireRootIssuer(ctx: TrustContext, env: CommonFields): void {
  if (!equal(env.issuer, ctx.rootCid)) throw new ValidationError(ErrorCode.ARTEFACT_ISSUER, `${env.type}: not issued by the domain root`);
}

/** What the window check needs (also used without a TrustStore: validate-discovery.ts). */
export type WindowContext = Pick<TrustContext, 'nowSeconds' | 'skewSeconds'>;

/** nbf/exp window with symmetric skew: valid while nbf - skew <= now <= exp + skew. */
export function requireWindow(ctx: WindowContext, env: CommonFields): void {
  const now = ctx.nowSeconds();
  if (now + ctx.skewSeconds < env.notBefore) {
    throw new ValidationError(ErrorCode.ARTEFACT_NOT_YET_VALID, `${env.type}: not valid before ${env.notBefore} (now ${now})`);
  }
  if (now - ctx.skewSeconds > env.expiresAt) {
    throw new ValidationError(ErrorCode.ARTEFACT_EXPIRED, `${env.type}: expired at ${env.expiresAt} (now ${now})`);
  }
}

/** True if the window check would pass now (for eligibility decisions that must not throw the window codes). */
export function inWindow(ctx: TrustContext, env: CommonFields): boolean {
  const now = ctx.nowSeconds();
  return now + ctx.skewSeconds >= env.notBefore && now - ctx.skewSeconds <= env.expiresAt;
}

/** Refuses the artefact if its object_id or any of the given identities is revoked. */
export function requireNotRevoked(ctx: Pick<TrustContext, 'isRevoked'>, env: CommonFields, cids: readonly (Uint8Array | undefined)[]): void {
  if (ctx.isRevoked(env.objectId)) throw new ValidationError(ErrorCode.REVOKED, `${env.type}: object ${toHex(env.objectId)} is revoked`);
  for (const c of cids) {
    if (c !== undefined && ctx.isRevoked(c)) throw new ValidationError(ErrorCode.REVOKED, `${env.type}: identity ${toHex(c)} is revoked`);
  }
}

/** Epoch-versus-sequence precedence (draft §11.1, §12): a higher epoch wins regardless of sequence. */
export function compareVersion(a: CommonFields, b: CommonFields): number {
  return a.epoch !== b.epoch ? Math.sign(a.epoch - b.epoch) : Math.sign(a.sequence - b.sequence);
}
