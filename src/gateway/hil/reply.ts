// How the HIL broker answers on a channel: a sender that never throws, and one refusal path —
// through the session's refusal gate (counted, audited with its reason, held to the session's
// budget: refusal-gate.ts), answered with the stable code only (STYLE §3: a peer never learns why
// it was refused; the reason stays in the audit log), or not at all once the session is past its
// budget.

import type { Channel } from '../../uzp/session/channel.js';
import { encodeHil, type HilMessage } from '../../hil/messages.js';
import type { RefusalCode } from '../../hil/refusals.js';
import type { AuditContext, AuditEntry } from './audit.js';
import { CodedError, CommonCode } from '../../lib/errors.js';

/** false = not queued: the session's send buffer is full, or the session is closing. */
export type Send = (m: HilMessage) => boolean;

export function senderOf(ch: Channel): Send {
  return (m) => {
    try {
      return ch.trySend(encodeHil(m));
    } catch {
      return false; // the session is closing: nothing more to say
    }
  };
}

/**
 * Sends and waits for buffer room (log tails: behind in the log, never dropped): 'sent', 'too-large'
 * (over the session's message bound: this one cannot go, the next may), or 'gone' (closed, aborted,
 * the session ended).
 */
export function waitingSenderOf(ch: Channel): (m: HilMessage, signal: AbortSignal) => Promise<'sent' | 'too-large' | 'gone'> {
  return async (m, signal) => {
    try {
      await ch.send(encodeHil(m), signal);
      return 'sent';
    } catch (e) {
      // send() waits for room, so BUFFER_FULL is the one message over maxMessageBytes (engine.ts).
      return e instanceof CodedError && e.code === CommonCode.BUFFER_FULL && !ch.closed && !ch.ended ? 'too-large' : 'gone';
    }
  };
}

/**
 * A session's refusal gate (refusal-gate.ts): false = say nothing, a refusal of the session found its
 * operator's budget spent.
 */
export interface Refusals {
  refused(ctx: AuditContext, entry: AuditEntry): boolean;
}

export function refuse(r: Refusals, send: Send, ctx: AuditContext, action: string, code: RefusalCode, reason: string): void {
  if (r.refused(ctx, { action, decision: 'refused', code, reason })) send({ t: 'refused', code });
}
