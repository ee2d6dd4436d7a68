// What an operator's web console shows (issue #17; src/console/model.ts; `uzpgw connect … ui`):
// one gateway, reached end to end through an RN like every `connect` mode, and the slots the
// operator's Grant covers — each opened in tail mode (its readings, live, from the console's
// start; src/console/live-history.ts keeps them as the console serves them: the newest HISTORY_MAX,
// a value over 4 KiB as its size in words) and, for a Modbus slot, in diag mode too (per-slave
// diagnostics every DIAG_EVERY_MS, needs diag.read). It outlives a session: when the gateway
// restarts, `connect` opens a fresh one and attach() resumes each tail where it stopped. The audit trail is this console's own: every
// channel opened or refused (with the refusal explained by the Grant held, grant-text.ts), every
// RN loss and re-stitch. The attestation verdict is the session's own appraisal (--manifest).

import { EventEmitter } from 'node:events';
import type { HilMessage } from '../hil/messages.js';
import { LiveHistory } from '../console/live-history.js';
import { expiry, worstUnitState, type AuditLine, type ConsoleEvent, type ConsoleSource, type FleetGateway, type GatewayDetail, type SlotDetail, type SlotRow } from '../console/model.js';
import { isCodedError } from '../lib/errors.js';
import { toHex } from '../uzp/bytes.js';
import type { OperatorConnection } from './connect.js';
import { explainRefusal } from './grant-text.js';
import { HilRefusedError, SlotChannel, type TailFrom } from './slot-channel.js';

export const DIAG_EVERY_MS = 1_000;
const AUDIT_MAX = 1_000;
/** Drivers whose slots keep per-slave diagnostics (src/hil-devices/modbus-diag.ts). */
const DIAG_DRIVERS = new Set(['modbus-poller']);

interface SlotState {
  row: SlotRow;
  readonly history: LiveHistory;
  tail?: SlotChannel | undefined;
  diag?: SlotChannel | undefined;
  /** The last reading shown, by the gateway's log position: where a reopened tail resumes. */
  last?: TailFrom;
}

export interface OperatorConsoleOptions {
  readonly slots: readonly string[];
  readonly diagEveryMs?: number;
}

export class OperatorConsole implements ConsoleSource {
  readonly role = 'operator';
  private readonly events = new EventEmitter();
  private readonly slots = new Map<string, SlotState>();
  private readonly lines: AuditLine[] = [];
  private readonly gw: string;
  private conn: OperatorConnection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private polling = false;
  /** The refusal of the current session as a whole (attach()). */
  private turnedAway: HilRefusedError | undefined;

  constructor(
    gateway: Uint8Array,
    private readonly o: OperatorConsoleOptions,
  ) {
    this.events.setMaxListeners(0);
    this.gw = toHex(gateway);
    for (const slot of o.slots) this.slots.set(slot, { row: { slot, state: 'unknown', readings: 0, note: 'opening…' }, history: new LiveHistory() });
  }

  /**
   * Shows `conn` from now on: opens every slot (tail, and diag where the device keeps diagnostics)
   * and polls diagnostics. Called again with a fresh session after the gateway restarted: each tail
   * resumes after the last reading shown (from the gateway's reading log), so the plot has no gap.
   * Resolves with the refusal that turned the whole session away (TOO_MANY_SESSIONS: the operator is
   * at its session cap, docs/PROFILE.md §HIL "Sessions per operator"), if one came: `connect … ui`
   * then explains it and exits 1 rather than open session after session.
   */
  async attach(conn: OperatorConnection): Promise<HilRefusedError | undefined> {
    this.conn = conn;
    this.turnedAway = undefined;
    const s = conn.session;
    s.on('failover', (e?: Error) => this.record('rn.lost', false, `RN lost (${e?.message ?? 'stitch closed'}); re-stitching at another RN`));
    s.on('restitched', (_g: number, rn?: Uint8Array) => {
      this.record('session.restitched', false, `re-stitched${rn !== undefined ? ` through RN ${toHex(rn).slice(0, 12)}…` : ''}; nothing lost`);
      this.emit({ t: 'fleet' });
    });
    s.once('close', (e?: Error) => {
      this.record('session.ended', e !== undefined, `session ended: ${e?.message ?? 'closed'}`, isCodedError(e) ? e.code : undefined);
      for (const st of this.slots.values()) {
        st.tail = st.diag = undefined;
        this.setRow(st, { ...st.row, state: 'closed', note: 'the session ended' });
      }
      this.emit({ t: 'fleet' });
    });
    this.record('session.opened', false, `session opened${s.rnCid !== undefined ? ` through RN ${toHex(s.rnCid).slice(0, 12)}…` : ''}`);
    await Promise.all([...this.slots.keys()].map((slot) => this.openSlot(conn, slot)));
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.pollDiag(), this.o.diagEveryMs ?? DIAG_EVERY_MS);
      this.timer.unref();
    }
    void this.pollDiag();
    return this.turnedAway;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.events.removeAllListeners();
  }

  subscribe(fn: (e: ConsoleEvent) => void): () => void {
    this.events.on('e', fn);
    return () => this.events.off('e', fn);
  }

  async fleet(): Promise<FleetGateway[]> {
    return this.conn === undefined ? [] : [this.fleetEntry(this.conn)];
  }

  async gateway(cid: string): Promise<GatewayDetail | undefined> {
    if (cid !== this.gw || this.conn === undefined) return undefined;
    return { gateway: this.fleetEntry(this.conn), slots: [...this.slots.values()].map((s) => s.row) };
  }

  async slot(cid: string, slot: string, sinceMs: number, limit: number): Promise<SlotDetail | undefined> {
    const st = this.slots.get(slot);
    if (cid !== this.gw || st === undefined) return undefined;
    return { gateway: cid, row: st.row, ...st.history.answer(sinceMs, limit), history: 'live' };
  }

  async audit(limit: number): Promise<AuditLine[]> {
    return this.lines.slice(-limit).reverse();
  }

  private fleetEntry(conn: OperatorConnection): FleetGateway {
    const s = conn.session;
    const a = conn.appraisal;
    const peer = s.keys.peerPCert;
    const now = Date.now();
    const rows = [...this.slots.values()];
    const newest = rows.map((r) => r.row.newestAt).filter((t): t is number => t !== undefined);
    return {
      cid: this.gw,
      ...(peer.body.name !== undefined ? { name: peer.body.name } : {}),
      connected: s.state !== 'closed',
      ...(s.rnCid !== undefined && s.rnCid.length > 0 ? { rn: toHex(s.rnCid) } : {}),
      verdict:
        a === undefined
          ? { status: 'not-appraised', reasons: ['started without --manifest: the gateway was not asked for evidence'] }
          : { status: a.ok ? 'pass' : 'fail', reasons: a.ok ? [`${a.claims.filter((c) => c.status === 'pass').length} checks passed, ${a.slots.length} slot${a.slots.length === 1 ? '' : 's'}`] : a.claims.filter((c) => c.status === 'fail').map((c) => `${c.claim}: ${c.reason}`) },
      expiries: [expiry('your Grant', conn.grant.expiresAt * 1000, now), expiry("the gateway's PCert", peer.expiresAt * 1000, now)],
      slots: rows.length,
      readings: rows.reduce((n, r) => n + r.row.readings, 0),
      ...(newest.length > 0 ? { newestAt: Math.max(...newest) } : {}),
    };
  }

  private async openSlot(conn: OperatorConnection, slot: string): Promise<void> {
    const st = this.slots.get(slot)!;
    // After a reopen: from the reading after the last one shown (the gateway's log still has it).
    const from = st.last !== undefined ? { epoch: st.last.epoch, seq: st.last.seq + 1 } : undefined;
    const tail = await this.open(conn, slot, 'tail', from);
    if (tail === undefined) return;
    st.tail = tail;
    const o = tail.opened!;
    this.setRow(st, { ...st.row, device: o.device, driver: o.driver, state: 'unknown', note: 'waiting for the first reading' });
    tail.on('reading', (r: Extract<HilMessage, { t: 'reading' }>) => this.reading(st, r));
    if (DIAG_DRIVERS.has(o.driver)) st.diag = await this.open(conn, slot, 'diag');
  }

  /** Opens one channel; a refusal is audited, explained with the Grant held, and shown on the slot. */
  private async open(conn: OperatorConnection, slot: string, mode: 'tail' | 'diag', from?: TailFrom): Promise<SlotChannel | undefined> {
    const st = this.slots.get(slot)!;
    try {
      const ch = await SlotChannel.open(conn.session, slot, mode, from);
      this.record('channel.opened', false, `${mode} opened on slot ${slot} (device ${ch.opened!.device}, ${ch.opened!.driver}; purposes ${ch.opened!.purposes.join(', ')})`);
      return ch;
    } catch (e) {
      if (!(e instanceof HilRefusedError)) {
        this.record('channel.failed', true, `${mode} on slot ${slot}: ${(e as Error).message}`, isCodedError(e) ? e.code : undefined);
        if (mode === 'tail') this.setRow(st, { ...st.row, state: 'error', note: (e as Error).message });
        return undefined;
      }
      if (e.refusal === 'TOO_MANY_SESSIONS') this.turnedAway ??= e;
      const why = explainRefusal(e.refusal, conn.grant.body, slot, e.bridged);
      this.record('channel.refused', true, `${mode} on slot ${slot} refused: ${why}`, e.refusal);
      // A slot without diagnostics still shows its readings; one whose tail is refused shows why.
      if (mode === 'tail') this.setRow(st, { ...st.row, state: 'refused', note: why });
      return undefined;
    }
  }

  private reading(st: SlotState, r: Extract<HilMessage, { t: 'reading' }>): void {
    // The value as served (a placeholder past 4 KiB) is also the row's `last` and the live event's.
    const p = st.history.add(r);
    if (r.epoch !== undefined) st.last = { epoch: r.epoch, seq: r.seq };
    // A slot without diagnostics is as good as its readings; one with them keeps their state and note.
    const seen = { readings: st.row.readings + 1, newestAt: r.ts, last: p.value };
    const { note: _waiting, ...rest } = st.row;
    st.row = st.diag === undefined ? { ...rest, ...seen, state: 'ok' } : { ...st.row, ...seen };
    this.emit({ t: 'reading', gateway: this.gw, slot: st.row.slot, point: p });
  }

  private async pollDiag(): Promise<void> {
    // One round at a time: a slow answer must not pile up requests behind it.
    if (this.polling) return;
    this.polling = true;
    try {
      await this.pollRound();
    } finally {
      this.polling = false;
    }
  }

  private async pollRound(): Promise<void> {
    for (const st of this.slots.values()) {
      if (st.diag === undefined || this.closed) continue;
      try {
        const d = await st.diag.diag();
        const { note: _note, ...row } = st.row;
        this.setRow(st, { ...row, diag: d, state: worstUnitState(d) });
      } catch (e) {
        const code = e instanceof HilRefusedError ? e.refusal : isCodedError(e) ? e.code : undefined;
        this.record('diag.failed', true, `diagnostics of slot ${st.row.slot}: ${(e as Error).message}`, code);
        st.diag = undefined;
      }
    }
  }

  private setRow(st: SlotState, row: SlotRow): void {
    st.row = row;
    this.emit({ t: 'slot', gateway: this.gw, row });
  }

  private record(event: string, refusal: boolean, text: string, code?: string): void {
    const line: AuditLine = { at: Date.now(), gateway: this.gw, event, refusal, ...(code !== undefined ? { code } : {}), text };
    this.lines.push(line);
    if (this.lines.length > AUDIT_MAX) this.lines.shift();
    this.emit({ t: 'audit', line });
  }

  private emit(e: ConsoleEvent): void {
    if (!this.closed) this.events.emit('e', e);
  }
}
