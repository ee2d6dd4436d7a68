// Routes each channel of a HIL session (docs/PROFILE.md §HIL protocol): the first message decides
// what the channel is — `open` binds it to one slot and its device id in one mode (modes.ts), `attest`
// asks for evidence (evidence-service.ts) — and everything after goes to that mode, which checks the
// Grant on every frame in both directions (draft §4.3). Malformed frames are refused and audited,
// never fatal to the channel; every refusal goes through the session's refusal gate
// (refusal-gate.ts), which ends a session whose refusal finds its operator's budget spent, and from
// then on nothing the session sends is even decoded.

import type { Grant, Valid } from '../../uzp/artefacts/types.js';
import type { Channel } from '../../uzp/session/channel.js';
import type { Session } from '../../uzp/session/session.js';
import type { AnyDevice } from '../../hil/device.js';
import { decodeHil, hilFrameProblem, type HilMessage } from '../../hil/messages.js';
import { isCodedError } from '../../lib/errors.js';
import { toHex } from '../../uzp/bytes.js';
import type { AuditContext, AuditLog } from './audit.js';
import type { BrokerStats } from './stats.js';
import { MODE_PURPOSES } from '../../hil/purposes.js';
import { SlotAuthority } from './authority.js';
import type { EvidenceService } from './evidence-service.js';
import { serveDiag, serveModbus, serveMqtt, serveSerial, serveTail, type ChannelContext, type OpenChannel } from './modes.js';
import { refuse, senderOf, waitingSenderOf, type Send } from './reply.js';
import { bounded, type RefusalGate } from './refusal-gate.js';
import { PortErrorCode } from '../../ports/errors.js';
import { serveLogTail, type ReadingSource, type SendWait } from './log-tail.js';
import { admissibleEarly, refuseEarly } from './early.js';

/** Modbus requests in flight per channel unless configured; beyond, exception 0x06 (busy). */
export const DEFAULT_MAX_PENDING_REQUESTS = 64;

/** What an `attest` channel becomes: nothing more is read from it. */
const ANSWERED: OpenChannel = { cleanup: () => undefined, onMessage: () => undefined };

interface ChannelRouterOptions {
  readonly audit: AuditLog;
  readonly stats: BrokerStats;
  readonly devices: ReadonlyMap<string, AnyDevice>;
  readonly evidence: EvidenceService;
  readonly maxPendingRequests: number;
  readonly epoch: number;
  /** The reading log tails read (and resume from); absent: live tails only, from_seq refused. */
  readonly readings?: ReadingSource;
}

export class ChannelRouter {
  constructor(private readonly o: ChannelRouterOptions) {}

  /**
   * Serves one channel the operator opened on `session`, under the session's Grant and refusal gate.
   * Returns what ends it early (the session lost its authority or is closing): its device work is
   * aborted and nothing it receives after reaches a device.
   */
  route(ch: Channel, session: Session, grant: Valid<Grant>, gate: RefusalGate): () => void {
    const stats = this.o.stats;
    stats.channels++;
    const operator = session.peerCid;
    const ctx: AuditContext = { operator, grant: grant.objectId };
    const send = senderOf(ch);
    let opened: OpenChannel | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      opened?.cleanup();
      opened = undefined;
      stats.channels--;
    };
    // The operator closed its half: close ours too, so both sessions can forget the channel.
    ch.once('end', () => {
      end();
      ch.close().catch(() => undefined);
    });
    ch.once('abort', end);
    ch.on('message', (bytes: Uint8Array, mark?: { readonly early?: boolean }) => {
      // Past its refusal budget: the session is being ended, and what it still sends costs a check.
      // Counted before `ended`: the end ends every channel at once, so afterwards every frame
      // arrives on an ended channel (they went uncounted, and `session.dropped` was never written).
      if (gate.ended) return gate.drop();
      if (ended) return;
      // Junk refused at a glance, without the exceptions of a decode (most of what a flood cost).
      const problem = hilFrameProblem(bytes);
      if (problem !== undefined) return refuse(gate, send, ctx, 'frame', 'BAD_MESSAGE', problem);
      let m: HilMessage;
      try {
        m = decodeHil(bytes);
      } catch (e) {
        // Malformed frames from an authenticated operator: refuse and audit, never crash.
        refuse(gate, send, ctx, 'frame', 'BAD_MESSAGE', isCodedError(e) ? e.message : String(e));
        return;
      }
      if (mark?.early === true && !admissibleEarly(m)) return refuseEarly(gate, send, ctx, m);
      if (opened !== undefined) return opened.onMessage(m);
      if (m.t === 'attest') {
        opened = ANSWERED;
        this.o.evidence.answer(ch, m.nonce, session, ctx, gate);
        return;
      }
      if (m.t !== 'open') return refuse(gate, send, ctx, m.t, 'NOT_OPEN', 'the first message on a channel must be open');
      opened = this.open(m, grant, operator, send, waitingSenderOf(ch), gate);
    });
    return end;
  }

  private open(m: Extract<HilMessage, { t: 'open' }>, grant: Valid<Grant>, operator: Uint8Array, send: Send, sendWait: SendWait, gate: RefusalGate): OpenChannel | undefined {
    const device = this.o.devices.get(m.slot);
    // Authority first, with the device id when the slot exists: an operator without the slot in its
    // Grant learns nothing about whether the slot exists.
    const authority = new SlotAuthority(grant, { slot: m.slot, device: device?.id ?? '' });
    const ctx0: AuditContext = { operator, grant: grant.objectId, slot: m.slot, ...(device !== undefined ? { device: device.id } : {}) };
    const action = `open.${m.mode}`;
    const slotOk = authority.checkSlot();
    if (!slotOk.allowed) return void refuse(gate, send, ctx0, action, slotOk.code, slotOk.reason);
    if (device === undefined) return void refuse(gate, send, ctx0, action, 'SLOT_UNAVAILABLE', 'no device is configured on this slot');
    const needed = MODE_PURPOSES[m.mode]![device.kind];
    if (needed === undefined) return void refuse(gate, send, ctx0, action, 'MODE_NOT_SUPPORTED', `a ${device.driver} device has no ${m.mode} mode`);
    const granted = needed.filter((p) => authority.has(p));
    if (granted.length === 0) return void refuse(gate, send, ctx0, action, 'PURPOSE_NOT_GRANTED', `${m.mode} needs one of ${needed.join(', ')}`);
    const from = m.from_seq !== undefined && m.from_epoch !== undefined ? { epoch: m.from_epoch, seq: m.from_seq } : undefined;
    if (from !== undefined && this.o.readings === undefined) return void refuse(gate, send, ctx0, action, 'HISTORY_UNAVAILABLE', 'this gateway keeps no reading log to resume from');
    this.o.audit.record(ctx0, { action, decision: 'allowed', purposes: granted, ...(from !== undefined ? { from_epoch: from.epoch, from_seq: from.seq } : {}) });
    send({ t: 'opened', slot: m.slot, device: device.id, driver: device.driver, mode: m.mode, purposes: granted });
    const ctx: ChannelContext = {
      authority,
      audit: (entry) => {
        if (entry.decision === 'refused') return gate.refused(ctx0, entry);
        // A unit known silent, answered at once: nothing reached the equipment, so it is held like a refusal.
        if (entry.decision === 'failed' && entry.code === PortErrorCode.MODBUS_UNIT_SILENT) return gate.unsent(ctx0, entry);
        // Any other 'failed' (the device timed out or erred on an allowed action) is not a refusal:
        // like 'allowed', one line each (it may have reached the equipment), its text cut.
        this.o.audit.record(ctx0, entry.decision === 'failed' ? bounded(entry) : entry);
        return true;
      },
      send,
      dropped: () => {
        this.o.stats.readingsDropped++;
      },
      maxPending: this.o.maxPendingRequests,
      epoch: this.o.epoch,
      // One share per operator, not per session: sessions are cheap to open (128 per RN), shares must not be.
      owner: toHex(operator),
    };
    switch (m.mode) {
      case 'tail':
        return this.o.readings !== undefined ? serveLogTail(ctx, m.slot, this.o.readings, sendWait, from) : serveTail(ctx, device);
      case 'modbus':
        return serveModbus(ctx, device as Extract<AnyDevice, { kind: 'modbus' }>);
      case 'serial':
        return serveSerial(ctx, device as Extract<AnyDevice, { kind: 'serial' }>);
      case 'mqtt':
        return serveMqtt(ctx, device as Extract<AnyDevice, { kind: 'mqtt' }>);
      case 'diag':
        return serveDiag(ctx, device as Extract<AnyDevice, { kind: 'modbus' }>);
    }
  }
}
