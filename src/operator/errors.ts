// Codes of the operator side (src/operator) beyond the protocol's: a HIL refusal explained with the
// operator's own Grant (grant-text.ts). Fault: policy (the Grant or the gateway's config decides).

import { CodedError } from '../lib/errors.js';

export const OperatorErrorCode = {
  HIL_REFUSED: 'HIL_REFUSED',
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
