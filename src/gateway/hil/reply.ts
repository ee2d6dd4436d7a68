// How the HIL broker answers on a channel: a sender that never throws, and one refusal path —
// counted, audited with its reason, answered with the stable code only (STYLE §3: a peer never
// learns why it was refused; the reason stays in the audit log).

import type { Channel } from '../../uzp/session/channel.js';
import { encodeHil, type HilMessage } from '../../hil/messages.js';
import type { RefusalCode } from '../../hil/refusals.js';
import type { AuditContext, AuditLog } from './audit.js';
import type { BrokerStats } from './stats.js';
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

export interface Refusals {
  readonly audit: AuditLog;
  readonly stats: BrokerStats;
}

export function refuse(r: Refusals, send: Send, ctx: AuditContext, action: string, code: RefusalCode, reason: string): void {
  r.stats.refusals++;
  r.audit.record(ctx, { action, decision: 'refused', code, reason });
  send({ t: 'refused', code });
}
