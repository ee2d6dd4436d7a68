// Revocation list installation: root-issued, in its window, signed, and newer than the installed
// one by (epoch, sequence). Pantheon lists are cumulative, so a newer list replaces the older.

import { equal } from '../bytes.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { openAndVerify } from './open.js';
import type { Revocation, Valid } from './types.js';
import { compareVersion, requireRootIssuer, requireWindow, type TrustContext } from './validate-common.js';

/**
 * Older (epoch, sequence) -> ARTEFACT_STALE_SEQUENCE. The same (epoch, sequence) with the same
 * object_id is the installed list again (returned as is); with a different object_id it is a
 * conflicting list and also refused with ARTEFACT_STALE_SEQUENCE: it is not newer.
 */
export function acceptRevocation(ctx: TrustContext, installed: Valid<Revocation> | undefined, bytes: Uint8Array): Valid<Revocation> {
  const env = openAndVerify(ctx.provider, bytes, 'revocation', ctx.resolveKey, {
    cache: ctx.sigCache,
    precheck: (e) => {
      requireRootIssuer(ctx, e);
      requireWindow(ctx, e);
      if (installed !== undefined && compareVersion(e, installed) < 0) {
        throw new ValidationError(
          ErrorCode.ARTEFACT_STALE_SEQUENCE,
          `revocation: epoch ${e.epoch} sequence ${e.sequence} is older than the installed epoch ${installed.epoch} sequence ${installed.sequence}`,
        );
      }
    },
  });
  if (installed !== undefined && compareVersion(env, installed) === 0) {
    if (equal(env.objectId, installed.objectId)) return installed;
    throw new ValidationError(ErrorCode.ARTEFACT_STALE_SEQUENCE, `revocation: a different list for epoch ${env.epoch} sequence ${env.sequence} is already installed`);
  }
  return env as Valid<Revocation>;
}
