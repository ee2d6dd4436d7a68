// What a JOIN refusal from the RN means to the initiator (draft §5.2): the RN's wire code
// (constants.ts JoinRefusedCode) as a typed error the caller can act on.

import type { CodedError } from '../../lib/errors.js';
import { ErrorCode, ProtocolError, ValidationError } from '../errors.js';
import { JoinRefusedCode } from './constants.js';

export function joinRefusal(code: number): CodedError {
  if (code === JoinRefusedCode.PEER_NOT_ATTACHED) return new ProtocolError(ErrorCode.PEER_NOT_ATTACHED, 'join refused: the target is not attached to this RN or does not accept', 'peer');
  if (code === JoinRefusedCode.OVERLOADED) return new ProtocolError(ErrorCode.JOIN_REFUSED, 'join refused: the RN is overloaded', 'peer');
  if (code === JoinRefusedCode.NOT_ATTESTED) return new ValidationError(ErrorCode.PEER_NOT_ATTESTED, 'join refused: the RN requires attestation and the target has not attested its attachment');
  // What is wrong with our own Grant, as the RN saw it (its clock and its revocation list).
  if (code === JoinRefusedCode.GRANT_WINDOW) return new ValidationError(ErrorCode.ARTEFACT_EXPIRED, 'join refused by the RN: the Grant is outside its validity window by the RN\'s clock (expired, or not yet valid); ask for a new Grant, or check the clocks');
  if (code === JoinRefusedCode.GRANT_REVOKED) return new ValidationError(ErrorCode.REVOKED, 'join refused by the RN: the Grant, or an identity it names, is on the RN\'s revocation list');
  if (code === JoinRefusedCode.GRANT_PARTIES) return new ValidationError(ErrorCode.GRANT_AUDIENCE, 'join refused by the RN: the Grant was not issued for this operator and this target');
  if (code === JoinRefusedCode.GRANT_STALE) return new ValidationError(ErrorCode.GRANT_NONCE_STALE, 'join refused by the RN: a newer Grant for early data was already used');
  return new ValidationError(ErrorCode.JOIN_REFUSED, `join refused by the RN (code ${code}: the Grant is not valid there, e.g. its signature or issuer)`);
}
