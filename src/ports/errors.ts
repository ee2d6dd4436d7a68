// Typed errors of the equipment transports (serial, Modbus, MQTT), on the base in lib/errors.ts.
// Modbus exceptions keep the slave's exception code (Modbus Application Protocol V1.1b3 §7) so
// operators and audit lines can show exactly what the device said.

import { CodedError, StateError } from '../lib/errors.js';
import { ExceptionCode } from './modbus/vocabulary.js';

export const PortErrorCode = {
  PORT_CLOSED: 'PORT_CLOSED',
  PORT_IO: 'PORT_IO',
  PORT_LOST: 'PORT_LOST',
  MODBUS_TIMEOUT: 'MODBUS_TIMEOUT',
  MODBUS_EXCEPTION: 'MODBUS_EXCEPTION',
  MODBUS_CRC: 'MODBUS_CRC',
  MODBUS_OFFLINE: 'MODBUS_OFFLINE',
  MODBUS_UNIT_SILENT: 'MODBUS_UNIT_SILENT',
  MQTT_REFUSED: 'MQTT_REFUSED',
} as const;
export type PortErrorCode = (typeof PortErrorCode)[keyof typeof PortErrorCode];

/** A device or broker broke the protocol or refused (exception reply, CONNACK refusal, no reply). */
export class PortProtocolError extends CodedError<PortErrorCode> {
  constructor(code: PortErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, 'peer', message, options);
  }
}

/** The broker refused a subscription or a publish (SUBACK 0x80, MQTT 5 reason code >= 0x80). */
export class MqttRefusedError extends PortProtocolError {
  constructor(
    message: string,
    readonly reasonCode: number,
  ) {
    super(PortErrorCode.MQTT_REFUSED, message);
  }
}

/** The OS refused I/O on an open port (device vanished mid-write, EIO). */
export class PortIoError extends CodedError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(PortErrorCode.PORT_IO, 'local', message, options);
  }
}

/** A well-formed exception reply: the slave refused the request (§7). */
export class ModbusException extends PortProtocolError {
  constructor(
    readonly unit: number,
    readonly functionCode: number,
    readonly exceptionCode: number,
  ) {
    super(PortErrorCode.MODBUS_EXCEPTION, `unit ${unit}: function 0x${hex(functionCode)} refused with exception 0x${hex(exceptionCode)} (${exceptionName(exceptionCode)})`);
  }
}

/** No (valid) reply within the request's timeout. */
export class ModbusTimeoutError extends PortProtocolError {
  constructor(
    readonly unit: number,
    readonly timeoutMs: number,
  ) {
    super(PortErrorCode.MODBUS_TIMEOUT, `unit ${unit}: no reply within ${timeoutMs} ms`);
  }
}

/** The bus is not connected (serial device away, TCP peer down): fails fast instead of a timeout. */
export class ModbusOfflineError extends StateError {
  constructor(what: string) {
    super(PortErrorCode.MODBUS_OFFLINE, `${what}: not connected`);
  }
}

/** The unit has not answered its recent requests: refused at once rather than timed out again (liveness.ts). */
export class ModbusUnitSilentError extends PortProtocolError {
  constructor(
    readonly unit: number,
    consecutiveTimeouts: number,
  ) {
    super(PortErrorCode.MODBUS_UNIT_SILENT, `unit ${unit}: silent (its last ${consecutiveTimeouts} requests timed out); answered without asking it again`);
  }
}

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(ExceptionCode).map(([k, v]) => [v, k.toLowerCase().replaceAll('_', ' ')]));

/** The spec's name of an exception code (§7), from the one vocabulary: 0x0B -> "gateway target device failed to respond". */
export function exceptionName(code: number): string {
  return NAMES.get(code) ?? 'unknown exception';
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Replies arrived for the request but none passed its CRC (line noise, wrong framing). */
export class ModbusCrcError extends PortProtocolError {
  constructor(
    readonly unit: number,
    readonly errors: number,
  ) {
    super(PortErrorCode.MODBUS_CRC, `unit ${unit}: ${errors} corrupted frame(s) and no valid reply`);
  }
}

/**
 * A write queued for a serial device that went away before any of it was sent: it is not kept for
 * the reopen, whose device may be another one on the same path, or come back only much later.
 */
export function serialLostError(path: string, reason: string): StateError<PortErrorCode> {
  return new StateError(PortErrorCode.PORT_LOST, `serial ${path}: device lost (${reason}) before the write was sent; nothing of it was sent`);
}

/** What a SerialLink answers after close(): writes and waits reject with it. */
export function serialClosedError(path: string): StateError<PortErrorCode> {
  return new StateError(PortErrorCode.PORT_CLOSED, `serial ${path}: link closed`);
}
