// What a gateway does with early data (0-RTT, draft §9: endpoints "MUST refuse to process 0-RTT
// requests that would not be safe to replay at the application level"). Early data can be a replay
// (the responder's strike register stops a second use of a ticket, but an attacker who holds the
// first copy may deliver it first), so only what changes nothing on the equipment is admitted:
// opening a tail or a Modbus channel, and Modbus reads (function codes 1-4). Anything else sent
// early is refused with EARLY_DATA_REFUSED and audited; the operator sends it again once the
// handshake is over, when it arrives as ordinary data.

import type { HilMessage } from '../../hil/messages.js';
import { exceptionPdu } from '../../ports/modbus/pdu.js';
import { ExceptionCode as ModbusExceptionCode } from '../../ports/modbus/vocabulary.js';
import type { AuditContext } from './audit.js';
import { refuse, type Refusals, type Send } from './reply.js';

/** Modbus read functions (coils, discrete inputs, holding and input registers). */
const READ_FUNCTIONS = new Set([1, 2, 3, 4]);

export function admissibleEarly(m: HilMessage): boolean {
  if (m.t === 'open') return m.mode === 'tail' || m.mode === 'modbus';
  if (m.t === 'req') return READ_FUNCTIONS.has(m.pdu[0]!);
  return false;
}

/** Answers an early message that is not admissible: a Modbus request gets its `res`, anything else `refused`. */
export function refuseEarly(r: Refusals, send: Send, ctx: AuditContext, m: HilMessage): void {
  const reason = 'sent as early data (0-RTT), which admits only tail and Modbus opens and reads; send it again now';
  if (m.t !== 'req') return refuse(r, send, ctx, `early.${m.t}`, 'EARLY_DATA_REFUSED', reason);
  if (!r.refused(ctx, { action: 'early.req', decision: 'refused', code: 'EARLY_DATA_REFUSED', reason, unit: m.unit, fn: m.pdu[0] })) return;
  // 0x06 "server device busy": a Modbus client that does not know the code retries later too.
  send({ t: 'res', id: m.id, pdu: exceptionPdu(m.pdu[0]!, ModbusExceptionCode.SERVER_DEVICE_BUSY), refused: 'EARLY_DATA_REFUSED' });
}
