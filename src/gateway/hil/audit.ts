// The HIL audit trail: one JSON line per operator action and per refusal (pino, journald-friendly).
// Lines name who (operator CID, Grant object_id), where (slot, device), what (action and its
// parameters) and the decision with its stable code — enough to answer "who wrote register 40 of
// unit 2 on boiler-1 last night, under which Grant" without reading any traffic.

import { pino, type Logger } from 'pino';
import { logDestination } from '../../lib/log-destination.js';
import { toHex } from '../../uzp/bytes.js';

export interface AuditContext {
  readonly operator: Uint8Array;
  readonly grant: Uint8Array;
  readonly slot?: string;
  readonly device?: string;
}

type AuditDecision = 'allowed' | 'refused' | 'failed';

export interface AuditEntry {
  readonly action: string;
  readonly decision: AuditDecision;
  readonly code?: string;
  readonly reason?: string;
  readonly [detail: string]: unknown;
}

export class AuditLog {
  private queued: (() => void)[] = [];

  constructor(private readonly log: Logger) {}

  /** An audit log writing JSON lines to a destination (default stdout), with the `audit` marker. */
  static create(destination?: pino.DestinationStream): AuditLog {
    const base = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, messageKey: 'msg' }, destination ?? logDestination(1, 'audit lines on stdout'));
    return new AuditLog(base.child({ audit: true }));
  }

  /** A gateway event no operator caused (readings dropped by the log's bound, consent given or withdrawn, receipts). */
  event(action: string, detail: Readonly<Record<string, unknown>>, level: 'info' | 'warn' = 'info'): void {
    this.later(() => this.log[level]({ action, ...detail }, action));
  }

  record(ctx: AuditContext, entry: AuditEntry): void {
    this.later(() => {
      const line = { operator: toHex(ctx.operator), grant: toHex(ctx.grant), slot: ctx.slot, device: ctx.device, ...entry };
      if (entry.decision === 'allowed') this.log.info(line, entry.action);
      else this.log.warn(line, entry.action);
    });
  }

  private flush(): void {
    const q = this.queued;
    this.queued = [];
    for (const write of q) write();
  }

  /**
   * Lines are formatted and written after the replies of this turn have left, in the order they
   * were recorded; their time is when they are written, a millisecond or less after the decision.
   * Why: a reply is sealed and written in a setImmediate (session.ts schedulePump), and pino's JSON
   * work in front of it was 0.1-0.17 ms of a tunneled Modbus read's latency (docs/BENCH.md "What
   * the tunnel adds to a read"). Two hops, because the line is usually recorded before the reply is
   * sent, so one setImmediate would still run ahead of the pump. A crash can lose the lines of one
   * turn, as with any buffered log.
   */
  private later(write: () => void): void {
    this.queued.push(write);
    if (this.queued.length === 1) setImmediate(() => setImmediate(() => this.flush()));
  }
}
