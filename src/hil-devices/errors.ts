// Codes of the HIL device drivers (src/hil-devices).

import { CodedError, StateError } from '../lib/errors.js';
import { PortErrorCode } from '../ports/errors.js';

export const DeviceErrorCode = {
  TOPIC_NOT_BRIDGED: 'TOPIC_NOT_BRIDGED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  DEVICE_UNAVAILABLE: 'DEVICE_UNAVAILABLE',
} as const;
export type DeviceErrorCode = (typeof DeviceErrorCode)[keyof typeof DeviceErrorCode];

/** A request the device's own configuration refuses (a topic outside the bridged filters, a payload over its bound). */
export class DeviceError extends CodedError<DeviceErrorCode> {
  constructor(code: DeviceErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'policy', message, options);
  }
}

/**
 * The slot's port is down (device missing, unopenable, unplugged): an operator write is refused
 * rather than queued for a device that may never come back, so nobody mistakes it for delivered.
 */
export class DeviceUnavailableError extends StateError<DeviceErrorCode> {
  constructor(what: string, state: string, options?: { cause?: unknown }) {
    super(DeviceErrorCode.DEVICE_UNAVAILABLE, `${what}: the device is unavailable (port ${state})`, options);
  }
}

/**
 * A write the link dropped because the device went away while it was queued (PORT_LOST) is, to
 * the operator, a write to an unavailable device: nothing of it was sent. Any other error as is.
 */
export function unavailableIfLost(e: unknown, what: string): unknown {
  return e instanceof CodedError && e.code === PortErrorCode.PORT_LOST ? new DeviceUnavailableError(what, 'lost', { cause: e }) : e;
}
