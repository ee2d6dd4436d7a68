// Operator side of one HIL channel: open a slot in a mode, then talk to it with typed calls.
// Wraps a session Channel; replies are matched to requests by id, readings and data are events.

import { EventEmitter } from 'node:events';
import { ErrorCode, ProtocolError } from '../uzp/errors.js';
import type { Channel } from '../uzp/session/channel.js';
import type { Session } from '../uzp/session/session.js';
import { decodeHil, encodeHil, type HilMessage, type Mode } from '../hil/messages.js';
import { CommonCode, StateError } from '../lib/errors.js';
import type { DiagReport } from '../hil/diag-report.js';
import { OpenedMismatchError } from './errors.js';

const REQUEST_TIMEOUT_MS = 10_000;
const MAX_PENDING = 256;

interface Opened {
  readonly slot: string;
  readonly mode: Mode;
  readonly device: string;
  readonly driver: string;
  readonly purposes: readonly string[];
}

/** A reading of the gateway's log by its (boot epoch, seq): where a tail starts. */
export interface TailFrom {
  readonly epoch: number;
  readonly seq: number;
}

/** A refusal by the gateway's HIL broker, with its stable code (e.g. PURPOSE_NOT_GRANTED). */
export class HilRefusedError extends ProtocolError {
  constructor(
    readonly refusal: string,
    readonly what: string,
    /** With TOPIC_NOT_BRIDGED: the filters the bridge carries. */
    readonly bridged?: readonly string[],
  ) {
    super(ErrorCode.HANDSHAKE_REFUSED, `${what}: refused by the gateway (${refusal})`, 'policy');
  }
}

type StreamEvent = 'reading' | 'data' | 'msg';
/**
 * The one stream event each mode carries: only it is held until its first listener (a reading may
 * share a block with `opened`). Another kind is a gateway out of step, and held it would be kept
 * for a listener that never comes: it is dropped and counted.
 */
const CARRIES: Readonly<Record<Mode, StreamEvent | undefined>> = { tail: 'reading', serial: 'data', mqtt: 'msg', modbus: undefined, diag: undefined };
/** At most this many held, and this many bytes (each may be up to 1 MiB); beyond, the oldest go (counted in `heldDropped`). */
const MAX_HELD = 1024;
const MAX_HELD_BYTES = 4 * 1024 * 1024;

export class SlotChannel extends EventEmitter {
  private nextId = 1;
  /** Modbus requests whose send has not completed yet (not yet in `pending`). */
  private sending = 0;
  /** Events that arrived before anyone listened: the `opened` message and the first readings can
   *  arrive in one block, and the caller attaches its listeners only after open() resolves. */
  private held: { readonly args: unknown[]; readonly bytes: number }[] = [];
  private heldBytes = 0;
  /** Stream messages not held: beyond the bounds, or of a kind the mode does not carry. */
  heldDropped = 0;
  private readonly pending = new Map<number, { resolve: (m: HilMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private openWaiter: { resolve: (o: Opened) => void; reject: (e: Error) => void } | undefined;
  private subWaiters: { filter: string; resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private ended: Error | undefined;
  opened: Opened | undefined;

  private constructor(
    private readonly ch: Channel,
    private readonly carries: StreamEvent | undefined,
  ) {
    super();
    ch.on('message', (b: Uint8Array) => this.onMessage(b));
    const end = (): void => this.fail(new StateError(ErrorCode.SESSION_CLOSED, 'the session ended'));
    ch.once('end', end);
    ch.once('abort', end);
    this.on('newListener', (event: string | symbol) => {
      if (event !== this.carries || this.held.length === 0) return;
      const queued = this.held;
      this.held = [];
      this.heldBytes = 0;
      // After the listener is in place (newListener fires before it is added), in arrival order.
      queueMicrotask(() => {
        for (const { args } of queued) this.emit(event, ...args);
      });
    });
  }

  /** Emits a stream event, or holds it (`bytes`: its encoded size) until a listener for it exists. */
  private stream(event: StreamEvent, bytes: number, ...args: unknown[]): void {
    if (this.listenerCount(event) > 0) {
      this.emit(event, ...args);
      return;
    }
    if (event !== this.carries) {
      this.heldDropped++;
      return;
    }
    this.held.push({ args, bytes });
    this.heldBytes += bytes;
    while (this.held.length > MAX_HELD || this.heldBytes > MAX_HELD_BYTES) {
      this.heldBytes -= this.held.shift()!.bytes;
      this.heldDropped++;
    }
  }

  /**
   * Opens `slot` in `mode` on a new channel of `session`; rejects with HilRefusedError when refused.
   * `from` (tail only): start at that reading of the gateway's log instead of the next one.
   */
  static async open(session: Session, slot: string, mode: Mode, from?: TailFrom): Promise<SlotChannel> {
    const sc = new SlotChannel(session.openChannel(), CARRIES[mode]);
    // Waiters are registered only once the message is queued: a send that throws leaves no promise
    // behind to reject unobserved later. Replies cannot arrive before the request was queued.
    await sc.ch.send(encodeHil({ t: 'open', slot, mode, ...(from !== undefined ? { from_epoch: from.epoch, from_seq: from.seq } : {}) }));
    // Bounded as every other request: a gateway that never answers must not hang the operator.
    let timer: NodeJS.Timeout | undefined;
    try {
      sc.opened = await new Promise<Opened>((resolve, reject) => {
        if (sc.ended) return reject(sc.ended);
        sc.openWaiter = { resolve, reject };
        timer = setTimeout(() => {
          sc.openWaiter = undefined;
          void sc.ch.close().catch(() => undefined);
          reject(new ProtocolError(ErrorCode.LINK_TIMEOUT, `no answer to opening ${slot} within ${REQUEST_TIMEOUT_MS} ms`));
        }, REQUEST_TIMEOUT_MS);
      });
    } finally {
      clearTimeout(timer);
    }
    // An `opened` for another slot or mode than asked is no answer to this open: what the channel
    // would carry is not what the caller expects (and not what its Grant check was for).
    if (sc.opened.slot !== slot || sc.opened.mode !== mode) {
      await sc.ch.close().catch(() => undefined);
      throw new OpenedMismatchError(slot, mode, sc.opened.slot, sc.opened.mode);
    }
    return sc;
  }

  /** One Modbus request PDU to `unit`; resolves with the response PDU (possibly an exception PDU). */
  async modbus(unit: number, pdu: Uint8Array): Promise<{ pdu: Uint8Array; refused?: string }> {
    // Counted as in flight from before the send: the send may wait for room, and calls made
    // meanwhile must see this one, or many concurrent calls all pass the check and overshoot it.
    if (this.pending.size + this.sending >= MAX_PENDING) throw new StateError(CommonCode.BUFFER_FULL, `${MAX_PENDING} requests already pending`);
    const id = this.nextId++;
    this.sending++;
    let replied: Promise<HilMessage>;
    try {
      await this.sendChecked({ t: 'req', id, unit, pdu });
      replied = this.awaitReply(id, `no reply to request ${id}`);
    } finally {
      this.sending--;
    }
    const m = await replied;
    if (m.t === 'res') return m.refused === undefined ? { pdu: m.pdu } : { pdu: m.pdu, refused: m.refused };
    throw new HilRefusedError(m.t === 'refused' ? m.code : 'UNEXPECTED', 'modbus request');
  }

  /** Serial bytes to the equipment (needs serial.write). */
  async write(d: Uint8Array): Promise<void> {
    await this.ch.send(encodeHil({ t: 'data', d }));
  }

  /** The slot's per-slave diagnostics now (diag mode, needs diag.read). */
  async diag(): Promise<DiagReport> {
    const id = this.nextId++;
    await this.sendChecked({ t: 'diagq', id });
    const m = await this.awaitReply(id, `no diagnostics for request ${id}`);
    if (m.t === 'diag') return m.d;
    throw new HilRefusedError(m.t === 'refused' ? m.code : 'UNEXPECTED', 'diagnostics');
  }

  async subscribe(filter: string): Promise<void> {
    await this.sendChecked({ t: 'sub', filter });
    return new Promise<void>((resolve, reject) => {
      if (this.ended) return reject(this.ended);
      const timer = setTimeout(() => {
        this.subWaiters = this.subWaiters.filter((w) => w.timer !== timer);
        reject(new ProtocolError(ErrorCode.LINK_TIMEOUT, `no answer to subscribe ${filter} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.subWaiters.push({ filter, resolve, reject, timer });
    });
  }

  async publish(topic: string, payload: Uint8Array, qos: 0 | 1 = 1, retain = false): Promise<void> {
    const id = this.nextId++;
    await this.sendChecked({ t: 'pub', id, topic, payload, qos, retain });
    const m = await this.awaitReply(id, `no puback for ${topic}`);
    if (m.t !== 'puback') throw new HilRefusedError(m.t === 'refused' ? m.code : 'UNEXPECTED', `publish ${topic}`, m.t === 'refused' ? m.bridged : undefined);
  }

  close(): Promise<void> {
    return this.ch.close();
  }

  private async sendChecked(m: HilMessage): Promise<void> {
    if (this.ended) throw this.ended;
    await this.ch.send(encodeHil(m));
  }

  private awaitReply(id: number, what: string): Promise<HilMessage> {
    return new Promise<HilMessage>((resolve, reject) => {
      if (this.ended) return reject(this.ended);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(ErrorCode.LINK_TIMEOUT, `${what} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
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
        this.openWaiter?.resolve({ slot: m.slot, mode: m.mode, device: m.device, driver: m.driver, purposes: m.purposes });
        this.openWaiter = undefined;
        return;
      case 'refused':
        if (this.openWaiter) {
          this.openWaiter.reject(new HilRefusedError(m.code, 'open'));
          this.openWaiter = undefined;
        } else if (m.id !== undefined) this.settle(m.id, m);
        else if (m.filter !== undefined) this.settleSub(m.filter, new HilRefusedError(m.code, `subscribe ${m.filter}`, m.bridged));
        else this.emit('refused', m.code);
        return;
      case 'res':
      case 'puback':
      case 'diag':
        return this.settle(m.id, m);
      case 'suback':
        return this.settleSub(m.filter);
      case 'reading':
        return this.stream('reading', b.length, m);
      case 'data':
        return this.stream('data', b.length, m.d);
      case 'msg':
        return this.stream('msg', b.length, m.topic, m.payload);
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

  private settleSub(filter: string, error?: Error): void {
    const i = this.subWaiters.findIndex((w) => w.filter === filter);
    if (i < 0) return;
    const w = this.subWaiters.splice(i, 1)[0]!;
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve();
  }

  private fail(e: Error): void {
    if (this.ended) return;
    this.ended = e;
    this.openWaiter?.reject(e);
    this.openWaiter = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    for (const w of this.subWaiters) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.subWaiters = [];
    this.emit('end');
  }
}
