// The HIL broker (draft §4.3): serves authenticated operator sessions on behalf of the attached
// equipment. Each session is bound to the gateway identity (the session's own handshake) and each
// channel to one slot and its device id; the Grant is enforced on *every* frame in both directions,
// and every action and refusal is one audit line. The broker never calls a device with anything the
// Grant did not allow, so the gateway cannot generalise a slot's authority.

import type { Grant, Valid } from '../../uzp/artefacts/types.js';
import type { Channel } from '../../uzp/session/channel.js';
import type { Session } from '../../uzp/session/session.js';
import type { AnyDevice } from '../../hil/device.js';
import type { AuditLog } from './audit.js';
import { SlotAuthority, type HilPurpose } from './authority.js';
import { decodeHil, encodeHil, type HilMessage } from '../../hil/messages.js';
import { serveModbus, serveMqtt, serveSerial, serveTail, type ChannelContext } from './modes.js';
import { sessionBinding } from '../../attest/binding.js';
import type { RefusalCode } from '../../hil/refusals.js';
import { isCodedError } from '../../lib/errors.js';

/** The purposes that make each mode usable, by device kind (any one suffices to open). */
const MODE_PURPOSES: Record<string, Record<string, readonly HilPurpose[]>> = {
  tail: { modbus: ['modbus.read'], serial: ['serial.read'], mqtt: ['mqtt.subscribe'] },
  modbus: { modbus: ['modbus.read', 'modbus.write'] },
  serial: { serial: ['serial.read', 'serial.write'] },
  mqtt: { mqtt: ['mqtt.subscribe', 'mqtt.publish'] },
};

export interface BrokerOptions {
  readonly devices: ReadonlyMap<string, AnyDevice>;
  readonly audit: AuditLog;
  /** Modbus requests in flight per channel; beyond, the operator gets exception 0x06 (busy). */
  readonly maxPendingRequests?: number;
  /** Produces evidence for (nonce, session binding); absent: attestation requests are refused. */
  readonly attest?: (nonce: Uint8Array, binding: Uint8Array) => Promise<Uint8Array>;
}

export interface BrokerStats {
  sessions: number;
  channels: number;
  refusals: number;
  readingsDropped: number;
}

/** setTimeout's ceiling (2^31 - 1 ms); longer Grant lifetimes re-arm. */
const MAX_TIMER_MS = 2_147_483_647;

export class HilBroker {
  readonly stats: BrokerStats = { sessions: 0, channels: 0, refusals: 0, readingsDropped: 0 };
  private readonly live = new Map<Session, Valid<Grant>>();

  constructor(private readonly o: BrokerOptions) {}

  /**
   * Serve one authenticated operator session under its (responder-validated) Grant. Authority
   * ends with the Grant: the session is closed when the Grant expires (draft §9: a Grant is
   * evaluated for freshness, not only at the handshake), and on revalidate() after a revocation.
   */
  serve(session: Session, grant: Valid<Grant>, now: () => number = Date.now): void {
    this.stats.sessions++;
    this.live.set(session, grant);
    const operator = session.peerCid;
    const audit = { operator, grant: grant.objectId };
    this.o.audit.record(audit, { action: 'session', decision: 'allowed', slot_scope: grant.body.scope.slot ?? null });
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      const left = grant.expiresAt * 1000 - now();
      if (left <= 0) return this.end(session, 'GRANT_EXPIRED');
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    session.on('channel', (ch: Channel) => this.onChannel(ch, grant, operator, session));
    session.once('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      this.live.delete(session);
      this.stats.sessions--;
      this.o.audit.record(audit, { action: 'session.close', decision: 'allowed' });
    });
  }

  /**
   * Re-checks every live session (after a revocation list was reloaded): sessions whose Grant or
   * operator `stillValid` refuses are closed and audited. Returns how many were closed.
   */
  revalidate(stillValid: (grant: Valid<Grant>, operator: Uint8Array) => boolean): number {
    let closed = 0;
    for (const [session, grant] of [...this.live]) {
      if (stillValid(grant, session.peerCid)) continue;
      this.end(session, 'REVOKED');
      closed++;
    }
    return closed;
  }

  private end(session: Session, code: Extract<RefusalCode, 'GRANT_EXPIRED' | 'REVOKED'>): void {
    const grant = this.live.get(session);
    if (grant !== undefined) {
      this.o.audit.record({ operator: session.peerCid, grant: grant.objectId }, { action: 'session.end', decision: 'refused', code, reason: code === 'REVOKED' ? 'the Grant or the operator was revoked' : 'the Grant expired' });
    }
    this.live.delete(session);
    session.close(0, code.toLowerCase().replace('_', ' '));
  }

  /**
   * Sends evidence unasked on a channel we open: the operator put an attestation request (its nonce)
   * into CH1's extension slot, so the evidence is on its way as soon as the session exists.
   */
  pushEvidence(session: Session, nonce: Uint8Array): void {
    const grant = this.live.get(session);
    if (grant === undefined) return;
    let ch: Channel;
    try {
      ch = session.openChannel();
    } catch {
      return; // session closing or out of channels: the operator can still ask on a channel of its own
    }
    void this.sendEvidence(ch, nonce, session, { operator: session.peerCid, grant: grant.objectId }, 'attest.early');
  }

  private async sendEvidence(ch: Channel, nonce: Uint8Array, session: Session, ctx: Parameters<AuditLog['record']>[0], action: string): Promise<void> {
    const send = (m: HilMessage): boolean => {
      try {
        return ch.trySend(encodeHil(m));
      } catch {
        return false; // the session is closing
      }
    };
    if (this.o.attest === undefined) {
      this.refuse(send, ctx, action, 'ATTEST_UNAVAILABLE', 'this gateway has no attester');
    } else {
      try {
        const e = await this.o.attest(nonce, sessionBinding(session, nonce));
        this.o.audit.record(ctx, { action, decision: 'allowed' });
        // Evidence can be several blocks long: wait for window space rather than drop it.
        await ch.send(encodeHil({ t: 'evidence', e })).catch(() => undefined);
      } catch (err) {
        this.refuse(send, ctx, action, 'ATTEST_UNAVAILABLE', isCodedError(err) ? err.message : String(err));
      }
    }
    ch.close().catch(() => undefined);
  }

  private onChannel(ch: Channel, grant: Valid<Grant>, operator: Uint8Array, session: Session): void {
    this.stats.channels++;
    let opened: { cleanup: () => void; onMessage: (m: HilMessage) => void } | undefined;
    const send = (m: HilMessage): boolean => {
      try {
        return ch.trySend(encodeHil(m));
      } catch {
        return false; // the session is closing: nothing more to say
      }
    };
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      opened?.cleanup();
      opened = undefined;
      this.stats.channels--;
    };
    // The operator closed its half: close ours too, so both sessions can forget the channel.
    ch.once('end', () => {
      end();
      ch.close().catch(() => undefined);
    });
    ch.once('abort', end);
    ch.on('message', (bytes: Uint8Array) => {
      let m: HilMessage;
      try {
        m = decodeHil(bytes);
      } catch (e) {
        // Malformed frames from an authenticated operator: refuse and audit, never crash.
        this.stats.refusals++;
        this.o.audit.record({ operator, grant: grant.objectId }, { action: 'frame', decision: 'refused', code: 'BAD_MESSAGE', reason: isCodedError(e) ? e.message : String(e) });
        send({ t: 'refused', code: 'BAD_MESSAGE' });
        return;
      }
      if (opened !== undefined) return opened.onMessage(m);
      if (m.t === 'attest') {
        // Any holder of a Grant for this gateway may ask what it is running; the request is audited.
        opened = { cleanup: () => undefined, onMessage: () => undefined };
        void this.sendEvidence(ch, m.nonce, session, { operator, grant: grant.objectId }, 'attest');
        return;
      }
      if (m.t !== 'open') {
        this.refuse(send, { operator, grant: grant.objectId }, m.t, 'NOT_OPEN', 'the first message on a channel must be open');
        return;
      }
      opened = this.open(m, grant, operator, send);
    });
  }

  private open(
    m: Extract<HilMessage, { t: 'open' }>,
    grant: Valid<Grant>,
    operator: Uint8Array,
    send: (m: HilMessage) => boolean,
  ): { cleanup: () => void; onMessage: (m: HilMessage) => void } | undefined {
    const device = this.o.devices.get(m.slot);
    // Authority first, with the device id when the slot exists: an operator without the slot in its
    // Grant learns nothing about whether the slot exists.
    const authority = new SlotAuthority(grant, { slot: m.slot, device: device?.id ?? '' });
    const ctx0 = { operator, grant: grant.objectId, slot: m.slot, device: device?.id };
    const slotOk = authority.checkSlot();
    if (!slotOk.allowed) return void this.refuse(send, ctx0, `open.${m.mode}`, slotOk.code, slotOk.reason);
    if (device === undefined) return void this.refuse(send, ctx0, `open.${m.mode}`, 'SLOT_UNAVAILABLE', 'no device is configured on this slot');
    const needed = MODE_PURPOSES[m.mode]![device.kind];
    if (needed === undefined) return void this.refuse(send, ctx0, `open.${m.mode}`, 'MODE_NOT_SUPPORTED', `a ${device.driver} device has no ${m.mode} mode`);
    const granted = needed.filter((p) => authority.has(p));
    if (granted.length === 0) return void this.refuse(send, ctx0, `open.${m.mode}`, 'PURPOSE_NOT_GRANTED', `${m.mode} needs one of ${needed.join(', ')}`);
    this.o.audit.record(ctx0, { action: `open.${m.mode}`, decision: 'allowed', purposes: granted });
    send({ t: 'opened', slot: m.slot, device: device.id, driver: device.driver, mode: m.mode, purposes: granted });
    const ctx: ChannelContext = {
      authority,
      audit: (entry) => {
        if (entry.decision !== 'allowed') this.stats.refusals++;
        this.o.audit.record(ctx0, entry);
      },
      send,
      dropped: () => {
        this.stats.readingsDropped++;
      },
      maxPending: this.o.maxPendingRequests ?? 64,
    };
    switch (m.mode) {
      case 'tail':
        return serveTail(ctx, device);
      case 'modbus':
        return serveModbus(ctx, device as Extract<AnyDevice, { kind: 'modbus' }>);
      case 'serial':
        return serveSerial(ctx, device as Extract<AnyDevice, { kind: 'serial' }>);
      case 'mqtt':
        return serveMqtt(ctx, device as Extract<AnyDevice, { kind: 'mqtt' }>);
    }
  }

  private refuse(send: (m: HilMessage) => boolean, ctx: Parameters<AuditLog['record']>[0], action: string, code: RefusalCode, reason: string): void {
    this.stats.refusals++;
    this.o.audit.record(ctx, { action, decision: 'refused', code, reason });
    send({ t: 'refused', code });
  }
}
