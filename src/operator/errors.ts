// Codes of the operator side (src/operator) beyond the protocol's: a HIL refusal explained with the
// operator's own Grant (grant-text.ts). Fault: policy (the Grant or the gateway's config decides),
// except HIL_OPENED_MISMATCH, a gateway out of step (fault: peer).

import { CodedError } from '../lib/errors.js';

export const OperatorErrorCode = {
  HIL_REFUSED: 'HIL_REFUSED',
  /** The gateway answered an open with `opened` for another slot or mode than asked. */
  HIL_OPENED_MISMATCH: 'HIL_OPENED_MISMATCH',
} as const;
export type OperatorErrorCode = (typeof OperatorErrorCode)[keyof typeof OperatorErrorCode];

/** The gateway refused an open, a subscription, a publication or a request; `refusal` is its code. */
export class RefusedByGateway extends CodedError<OperatorErrorCode> {
  constructor(
    readonly refusal: string,
    what: string,
    explanation: string,
  ) {
    super(OperatorErrorCode.HIL_REFUSED, 'policy', `${what}: ${explanation} (the gateway said ${refusal})`);
  }
}

/** The gateway's `opened` names another slot or mode than the open asked for; the channel is closed. */
export class OpenedMismatchError extends CodedError<OperatorErrorCode> {
  constructor(slot: string, mode: string, gotSlot: string, gotMode: string) {
    super(OperatorErrorCode.HIL_OPENED_MISMATCH, 'peer', `open ${slot} (${mode}): the gateway answered opened for ${gotSlot} (${gotMode}); refusing a channel it was not asked for`);
  }
}
