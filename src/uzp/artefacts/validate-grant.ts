// Grant validation (draft §9): window, audience, subject, revocation and nonce state are all
// checked before the signature; the nonce is recorded only once the signature has verified, so
// a forged Grant can never advance the nonce state and lock out the real one.

import { equal } from '../bytes.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { NonceTracker } from './nonces.js';
import { openAndVerify } from './open.js';
import type { Grant, Valid } from './types.js';
import { requireNotRevoked, requireRootIssuer, requireWindow, type TrustContext } from './validate-common.js';

interface GrantExpectations {
  /** The responder this Grant must name (GRANT_AUDIENCE), normally our own CID or the Join target. */
  readonly audience: Uint8Array;
  /** The initiator this Grant must name (GRANT_SUBJECT), when known. */
  readonly subject?: Uint8Array;
  /** 'track' (default): refuse a nonce below the highest seen and record it; 'ignore': offline inspection. */
  readonly nonce?: 'track' | 'ignore';
}

export function validateGrant(ctx: TrustContext, nonces: NonceTracker, bytes: Uint8Array, opts: GrantExpectations): Valid<Grant> {
  const track = (opts.nonce ?? 'track') === 'track';
  const env = openAndVerify(ctx.provider, bytes, 'grant', ctx.resolveKey, {
    cache: ctx.sigCache,
    precheck: (e) => {
      requireRootIssuer(ctx, e);
      requireWindow(ctx, e);
      if (e.audience === undefined || !equal(e.audience, opts.audience)) throw new ValidationError(ErrorCode.GRANT_AUDIENCE, 'grant: issued for another audience');
      if (opts.subject !== undefined && (e.subject === undefined || !equal(e.subject, opts.subject))) {
        throw new ValidationError(ErrorCode.GRANT_SUBJECT, 'grant: issued for another subject');
      }
      requireNotRevoked(ctx, e, [e.subject, e.issuer, e.audience]);
      if (track && nonces.isStale(e.issuer, e.subject!, e.audience, e.body.nonce)) {
        throw new ValidationError(
          ErrorCode.GRANT_NONCE_STALE,
          `grant: nonce ${e.body.nonce} is below ${nonces.get(e.issuer, e.subject!, e.audience)} already seen for this subject and audience`,
        );
      }
    },
  });
  if (track) nonces.record(env.issuer, env.subject!, env.audience!, env.body.nonce);
  return env as Valid<Grant>;
}
