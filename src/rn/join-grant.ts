// What the RN, as policy point (draft §11), asks of the Grant a JOIN shows: that it validates for
// this initiator and target (§9: window, parties, revocation), and, under a no-replay Grant, that
// no early data goes on ("RNs MUST drop any early data tagged with that policy", §9). The answer is
// a verdict; the switchboard refuses, counts and logs.

import { decodeEarlyCh1, EARLY_CH1 } from '../uzp/resumption/early-data.js';
import type { Grant, Valid } from '../uzp/artefacts/types.js';
import { JoinRefusedCode } from '../uzp/link/constants.js';
import { isCodedError } from '../lib/errors.js';
import { ErrorCode } from '../uzp/errors.js';

/** The part of TrustStore the switchboard calls. */
export interface GrantTrust {
  validateGrant(bytes: Uint8Array, opts: { audience: Uint8Array; subject?: Uint8Array; nonce?: 'track' | 'ignore' }): Valid<Grant>;
}

export type JoinGrantVerdict =
  /** Go on with `ch1`: the JOIN's own, or its CH1 without the early data a no-replay Grant forbids (`earlyDropped`). */
  | { readonly ch1: Uint8Array; readonly earlyDropped: boolean }
  /** Refuse with this JOIN_REFUSED code; `why` is for the RN's log only. */
  | { readonly refuse: number; readonly why: Readonly<Record<string, unknown>> };

/** The JOIN_REFUSED code for a Grant that did not validate (constants.ts JoinRefusedCode). */
function grantRefusal(code: string): number {
  switch (code) {
    case ErrorCode.ARTEFACT_EXPIRED:
    case ErrorCode.ARTEFACT_NOT_YET_VALID:
      return JoinRefusedCode.GRANT_WINDOW;
    case ErrorCode.REVOKED:
      return JoinRefusedCode.GRANT_REVOKED;
    case ErrorCode.GRANT_AUDIENCE:
    case ErrorCode.GRANT_SUBJECT:
      return JoinRefusedCode.GRANT_PARTIES;
    case ErrorCode.GRANT_NONCE_STALE:
      return JoinRefusedCode.GRANT_STALE;
    default:
      return JoinRefusedCode.REFUSED;
  }
}

/** The verdict on a JOIN's Grant and early data, for the initiator `subject`. */
export function checkJoinGrant(trust: GrantTrust, join: { readonly grant: Uint8Array; readonly target: Uint8Array; readonly ch1: Uint8Array }, subject: Uint8Array): JoinGrantVerdict {
  let noReplay: boolean;
  try {
    // draft §9: the RN treats the JOIN as replayable (early data included); a replayed Grant is
    // bounded by its window and revocation, early data by the responder's tickets and strike
    // register, so the nonce is not ordered here (validate-grant.ts). Across the fabric too, the
    // ingress RN is the one that validates (issue #16).
    noReplay = trust.validateGrant(join.grant, { audience: join.target, subject }).body.noReplay;
  } catch (e) {
    if (!isCodedError(e)) throw e;
    return { refuse: grantRefusal(e.code), why: { error: e.code, detail: e.message } };
  }
  if (!noReplay || join.ch1[0] !== EARLY_CH1) return { ch1: join.ch1, earlyDropped: false };
  // The CH1 goes on alone.
  try {
    return { ch1: decodeEarlyCh1(join.ch1).ch1, earlyDropped: true };
  } catch {
    return { refuse: JoinRefusedCode.REFUSED, why: { reason: 'malformed EARLY_CH1' } };
  }
}
