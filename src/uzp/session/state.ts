// Session states exactly as draft §4.2, with one guarded transition function. Every move not in the
// table is an error (SESSION_ILLEGAL_TRANSITION), so a bug cannot silently skip authentication.
//
//   new -> pending            RN attachment / Join / handshake started
//   pending -> authenticated  peer identity, Grant and handshake bindings accepted
//   authenticated -> stitched RN stitch confirmed and Finished exchanged: application data may flow
//   stitched | authenticated -> failover   RN lost (availability event, §11.2; NOT a revocation)
//   failover -> pending       new attachment + Join at an eligible RN (§11.3 steps 4-5)
//   failover -> stitched      only with a Revalidation proof (§4.2: "no RN-local claim alone is
//                             sufficient to return the association to stitched"; §11.4)
//   any (but closed) -> closed

import { ErrorCode } from '../errors.js';
import { StateError } from '../../lib/errors.js';

export type SessionState = 'new' | 'pending' | 'authenticated' | 'stitched' | 'failover' | 'closed';

export const SESSION_STATES: readonly SessionState[] = ['new', 'pending', 'authenticated', 'stitched', 'failover', 'closed'];

const ALLOWED: Readonly<Record<SessionState, readonly SessionState[]>> = {
  new: ['pending', 'closed'],
  pending: ['authenticated', 'closed'],
  authenticated: ['stitched', 'failover', 'closed'],
  stitched: ['failover', 'closed'],
  failover: ['pending', 'stitched', 'closed'],
  closed: [],
};

declare const revalidationBrand: unique symbol;
/**
 * Proof that the checks of draft §11.4 succeeded for a re-stitch: alternate-RN eligibility under the
 * current RN Set Statement, the peer identity binding and the current Grant and revocation state.
 * Only `revalidated()` creates one, and only callers that performed those checks call it.
 */
export type Revalidation = { readonly [revalidationBrand]: true; readonly rnCid: Uint8Array; readonly at: number };

export function revalidated(rnCid: Uint8Array, at: number): Revalidation {
  return { rnCid, at } as Revalidation;
}

export function canTransition(from: SessionState, to: SessionState): boolean {
  return ALLOWED[from].includes(to);
}

/** The one transition function. failover -> stitched additionally requires a Revalidation. */
export function transition(from: SessionState, to: SessionState, proof?: Revalidation): SessionState {
  if (!ALLOWED[from].includes(to)) {
    throw new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, `illegal session transition ${from} -> ${to}`);
  }
  if (from === 'failover' && to === 'stitched' && proof === undefined) {
    throw new StateError(ErrorCode.SESSION_ILLEGAL_TRANSITION, 'failover -> stitched requires revalidation (draft §11.4)');
  }
  return to;
}

/** Application data may be released only when stitched (draft §4.2: never in pending; no 0-RTT here). */
export function mayReleaseData(s: SessionState): boolean {
  return s === 'stitched';
}
