// PCert validation: root-issued, in its window, the expected role and key, not revoked, signed.

import { equal } from '../bytes.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { openAndVerify } from './open.js';
import type { PCert, Role, Valid } from './types.js';
import { requireNotRevoked, requireRootIssuer, requireWindow, type TrustContext } from './validate-common.js';

interface PCertExpectations {
  /** Refuse unless the PCert carries this role (PCERT_ROLE). */
  readonly role?: Role;
  /** Refuse unless the PCert is for this CID, e.g. the CID the peer proved in the handshake (PCERT_KEY_MISMATCH). */
  readonly cid?: Uint8Array;
}

export function validatePCert(ctx: TrustContext, bytes: Uint8Array, opts: PCertExpectations = {}): Valid<PCert> {
  const env = openAndVerify(ctx.provider, bytes, 'pcert', ctx.resolveKey, {
    cache: ctx.verified,
    precheck: (e) => {
      requireRootIssuer(ctx, e);
      requireWindow(ctx, e);
      if (opts.role !== undefined && e.body.role !== opts.role) {
        throw new ValidationError(ErrorCode.PCERT_ROLE, `pcert: role ${e.body.role}, expected ${opts.role}`);
      }
      if (opts.cid !== undefined && (e.subject === undefined || !equal(e.subject, opts.cid))) {
        throw new ValidationError(ErrorCode.PCERT_KEY_MISMATCH, 'pcert: issued for a different CID');
      }
      requireNotRevoked(ctx, e, [e.subject, e.issuer]);
    },
  });
  return env as Valid<PCert>;
}
