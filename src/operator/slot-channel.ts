// Operator side of one HIL channel: open a slot in a mode, then talk to it with typed calls.
// Wraps a session Channel; replies are matched to requests by id, readings and data are events.

import { EventEmitter } from 'node:events';
import { ErrorCode, ProtocolError, StateError } from '../uzp/errors.js';
import type { Channel } from '../uzp/session/channel.js';
import type { Session } from '../uzp/session/session.js';
import { decodeHil, encodeHil, type HilMessage, type Mode } from '../gateway/hil/protocol.js';

export const REQUEST_TIMEOUT_MS = 10_000;
const MAX_PENDING = 256;

export interface Opened {
  readonly slot: string;
  readonly device: string;
  readonly driver: string;
  readonly purposes: readonly string[];
}

/** A refusal by the gateway's HIL broker, with its stable code (e.g. PURPOSE_NOT_GRANTED). */
export class HilRefusedError extends ProtocolError {
  constructor(readonly refusal: string, what: string) {
    super(ErrorCode.HANDSHAKE_REFUSED, `${what}: refused by the gateway (${refusal})`, 'policy');
  }
}

export class SlotChannel extends EventEmitter {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: HilMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private openWaiter: { resolve: (o: Opened) => void; reject: (e: Error) => void } | undefined;
  private subWaiters: { filter: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  opened: Opened | undefined;

  private constructor(private readonly ch: Channel) {
    super();
    ch.on('message', (b: Uint8Array) => this.onMessage(b));
    const end = (): void => this.fail(new StateError(ErrorCode.SESSION_CLOSED, 'the session ended'));
    ch.once('end', end);
    ch.once('abort', end);
  }

  /** Opens `slot` in `mode` on a new channel of `session`; rejects with HilRefusedError when refused. */
  static async open(session: Session, slot: string, mode: Mode): Promise<SlotChannel> {
    const sc = new SlotChannel(session.openChannel());
    const opened = new Promise<Opened>((resolve, reject) => (sc.openWaiter = { resolve, reject }));
    await sc.ch.send(encodeHil({ t: 'open', slot, mode }));
    sc.opened = await opened;
    return sc;
  }

  /** One Modbus request PDU to `unit`; resolves with the response PDU (possibly an exception PDU). */
  async modbus(unit: number, pdu: Uint8Array): Promise<{ pdu: Uint8Array; refused?: string }> {
    if (this.pending.size >= MAX_PENDING) throw new StateError(ErrorCode.BUFFER_FULL, `${MAX_PENDING} requests already pending`);
    const id = this.nextId++;
    const reply = new Promise<HilMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(ErrorCode.LINK_TIMEOUT, `no reply to request ${id} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
    await this.ch.send(encodeHil({ t: 'req', id, unit, pdu }));
    const m = await reply;
    if (m.t === 'res') return m.refused === undefined ? { pdu: m.pdu } : { pdu: m.pdu, refused: m.refused };
    throw new HilRefusedError(m.t === 'refused' ? m.code : 'UNEXPECTED', 'modbus request');
  }

  /** Serial bytes to the equipment (needs serial.write). */
  async write(d: Uint8Array): Promise<void> {
    await this.ch.send(encodeHil({ t: 'data', d }));
  }

  async subscribe(filter: string): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.subWaiters.push({ filter, resolve, reject }));
    await this.ch.send(encodeHil({ t: 'sub', filter }));
    return done;
  }

  async publish(topic: string, payload: Uint8Array, qos: 0 | 1 = 1, retain = false): Promise<void> {
    const id = this.nextId++;
    const reply = new Promise<HilMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(ErrorCode.LINK_TIMEOUT, `no puback for ${topic}`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
    await this.ch.send(encodeHil({ t: 'pub', id, topic, payload, qos, retain }));
    const m = await reply;
    if (m.t !== 'puback') throw new HilRefusedError(m.t === 'refused' ? m.code : 'UNEXPECTED', `publish ${topic}`);
  }

  close(): Promise<void> {
    return this.ch.close();
  }

  private onMessage(b: Uint8Array): void {
    let m: HilMessage;
    try {
      m = decodeHil(b);
    } catch {
      return; // a gateway bug or a corrupt frame: drop it (blocks are authenticated, so not an attack)
    }
    switch (m.t) {
      case 'opened':
        this.openWaiter?.resolve({ slot: m.slot, device: m.device, driver: m.driver, purposes: m.purposes });
        this.openWaiter = undefined;
        return;
      case 'refused':
        if (this.openWaiter) {
          this.openWaiter.reject(new HilRefusedError(m.code, 'open'));
          this.openWaiter = undefined;
        } else if (m.id !== undefined) this.settle(m.id, m);
        // A refusal without an id answers the oldest subscription (the broker handles them in order).
        else if (this.subWaiters.length > 0) this.subWaiters.shift()!.reject(new HilRefusedError(m.code, 'subscribe'));
        else this.emit('refused', m.code);
        return;
      case 'res':
      case 'puback':
        return this.settle(m.id, m);
      case 'suback': {
        const i = this.subWaiters.findIndex((w) => w.filter === m.filter);
        if (i >= 0) this.subWaiters.splice(i, 1)[0]!.resolve();
        return;
      }
      case 'reading':
        this.emit('reading', m);
        return;
      case 'data':
        this.emit('data', m.d);
        return;
      case 'msg':
        this.emit('msg', m.topic, m.payload);
        return;
      default:
        return;
    }
  }

  private settle(id: number, m: HilMessage): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(m);
  }

  private fail(e: Error): void {
    this.openWaiter?.reject(e);
    this.openWaiter = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    for (const w of this.subWaiters) w.reject(e);
    this.subWaiters = [];
    this.emit('end');
  }
}
