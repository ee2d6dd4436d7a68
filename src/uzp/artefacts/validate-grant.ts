// Grant validation (draft §9): window, audience, subject, revocation and, for early data, nonce
// state are all checked before the signature; the nonce is recorded only once the signature has
// verified, so a forged Grant can never advance the nonce state and lock out the real one.
//
// Why nonces are ordered only for early data: draft §9 binds *early data* to a monotonically
// increasing Grant nonce and bounds replay of Grants by their window. Ordering every JOIN by nonce
// (profile version 1) made each new Grant for an operator and gateway disable all older ones, valid
// or not — one Grant with a typo'd purpose locked its operator out of every good Grant. A 1-RTT
// session is bound to fresh handshake randoms, so a replayed Grant there gains nothing its window
// and revocation do not already bound; taking a Grant back is a revocation (by object_id).

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
  /**
   * 'track': refuse a nonce below the highest seen for (iss, sub, aud) and record it — for early
   * data (0-RTT) only; 'ignore' (default): 1-RTT sessions and offline inspection.
   */
  readonly nonce?: 'track' | 'ignore';
}

export function validateGrant(ctx: TrustContext, nonces: NonceTracker, bytes: Uint8Array, opts: GrantExpectations): Valid<Grant> {
  const track = opts.nonce === 'track';
  const env = openAndVerify(ctx.provider, bytes, 'grant', ctx.resolveKey, {
    cache: ctx.verified,
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
