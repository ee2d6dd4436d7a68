// Codes of the HIL device drivers (src/hil-devices).

import { CodedError } from '../lib/errors.js';

export const DeviceErrorCode = {
  TOPIC_NOT_BRIDGED: 'TOPIC_NOT_BRIDGED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
} as const;
export type DeviceErrorCode = (typeof DeviceErrorCode)[keyof typeof DeviceErrorCode];

/** A request the device's own configuration refuses (a topic outside the bridged filters, a payload over its bound). */
export class DeviceError extends CodedError<DeviceErrorCode> {
  constructor(code: DeviceErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'policy', message, options);
  }
}
