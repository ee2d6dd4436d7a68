// What a JOIN refusal from the RN means to the initiator (draft §5.2): the RN's wire code
// (constants.ts JoinRefusedCode) as a typed error the caller can act on.

import type { CodedError } from '../../lib/errors.js';
import { ErrorCode, ProtocolError, ValidationError } from '../errors.js';
import { JoinRefusedCode } from './constants.js';

export function joinRefusal(code: number): CodedError {
  if (code === JoinRefusedCode.PEER_NOT_ATTACHED) return new ProtocolError(ErrorCode.PEER_NOT_ATTACHED, 'join refused: the target is not attached to this RN or does not accept', 'peer');
  if (code === JoinRefusedCode.OVERLOADED) return new ProtocolError(ErrorCode.JOIN_REFUSED, 'join refused: the RN is overloaded', 'peer');
  if (code === JoinRefusedCode.NOT_ATTESTED) return new ValidationError(ErrorCode.PEER_NOT_ATTESTED, 'join refused: the RN requires attestation and the target has not attested its attachment');
  return new ValidationError(ErrorCode.JOIN_REFUSED, `join refused by the RN (code ${code})`);
}
