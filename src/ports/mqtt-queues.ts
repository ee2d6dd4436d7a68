// The two bounded queues of the MQTT port and its held acks, pure so they can be tested without a broker.
//
// PublishWindow: at most `window` publishes awaited at once (FIELD-NOTES: mqtt.js piles up a
// `drain` listener per callback-style publish in a burst; windows of awaited publishAsync avoid
// it), at most `queueMax` more waiting for a slot; beyond that publish is refused at once with
// BUFFER_FULL, counted. Nothing grows without bound while the broker is away.
//
// ReceiveQueue: messages held for a slow consumer, bounded by count and by bytes; over either bound
// the oldest is dropped and counted (DERP's per-client queue does the same), so the newest readings
// survive a stall. The bytes counted are the queue's own and those the bound says are held
// elsewhere (`outside`: the messages owed an ack that the consumer has taken), so the bound is on
// everything the link holds. The newest item always gets in under the byte bound, however large
// (its size is bounded where it was read: max_payload_bytes), so at most maxBytes plus one item
// are held. Items `keep` says are still owed an acknowledgement (QoS >= 1 whose PUBACK/PUBREC
// waits for the consumer, see HeldAcks) are never dropped: the broker has not been told we have
// them. The broker sends no more than its in-flight window of them per connection (mosquitto's
// max_inflight_messages, default 20; before 2.0.13, e.g. Debian 12's 2.0.11, up to its queue,
// mosquitto#2306), which bounds their count but not their bytes (window x max_payload_bytes): the
// link keeps their bytes within this bound by reading no more PUBLISH packets from the socket
// while they fill it (mqtt-receive.ts), not by dropping them.
//
// HeldAcks: the acknowledgements of received QoS >= 1 messages (PUBACK, QoS 2 PUBREC), held until
// the consumer has the message safe (issue #12: ack only what is durable). One generation per
// connection: an ack whose connection has closed is a no-op, because the broker redelivers the
// message on the persistent session, and acking on a later connection could acknowledge a
// different message that reuses the packet id. holdAckPackets() routes mqtt.js's own sends
// through it (why there and not in handleMessage: mqtt-receive.ts header).

import { CommonCode, LocalError, StateError } from '../lib/errors.js';

interface Waiting {
  readonly run: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class PublishWindow {
  private inFlight = 0;
  private readonly waiting: Waiting[] = [];
  /** Publishes refused because the window and the queue were full. */
  refused = 0;

  constructor(
    readonly window: number,
    readonly queueMax: number,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `run` when a window slot is free; settles with it. */
  submit(run: () => Promise<void>): Promise<void> {
    if (this.inFlight < this.window) return this.start(run);
    if (this.waiting.length >= this.queueMax) {
      this.refused++;
      return Promise.reject(new StateError(CommonCode.BUFFER_FULL, `mqtt: ${this.inFlight} publishes in flight and ${this.waiting.length} queued (limit ${this.queueMax}); publish refused`));
    }
    return new Promise((resolve, reject) => this.waiting.push({ run, resolve, reject }));
  }

  /** Refuses everything still waiting (on close). */
  rejectWaiting(e: unknown): void {
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private start(run: () => Promise<void>): Promise<void> {
    this.inFlight++;
    let p: Promise<void>;
    try {
      p = run();
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.finally(() => {
      this.inFlight--;
      const next = this.waiting.shift();
      if (next) this.start(next.run).then(next.resolve, next.reject);
    });
  }
}

/**
 * The byte bound of a ReceiveQueue: at most `max` bytes, each item weighing `of(item)`, together
 * with the `outside()` bytes held elsewhere against the same bound (default none).
 */
export interface ByteBound<T> {
  readonly max: number;
  readonly of: (item: T) => number;
  readonly outside?: () => number;
}

export class ReceiveQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  private closedWith: unknown = null;
  private held = 0;
  /** Messages dropped (oldest first) because the consumer fell behind. */
  dropped = 0;

  /**
   * `keep(item)` true: never dropped by either bound (an acknowledgement is owed; see the header).
   * Without `bytes`, bounded by count only. `onTaken(item)` runs as each item goes to the consumer.
   */
  constructor(
    readonly max: number,
    private readonly keep: (item: T) => boolean = () => false,
    private readonly bytes: ByteBound<T> = { max: Infinity, of: () => 0 },
    private readonly onTaken: (item: T) => void = () => {},
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** Bytes of the items queued, as the byte bound weighs them. */
  get byteLength(): number {
    return this.held;
  }

  get maxBytes(): number {
    return this.bytes.max;
  }

  /**
   * Adds `item`; returns how many items had to be dropped to bring the queue within its bounds: the
   * oldest ones `keep` lets go, `item` itself too when only the count is over. With only kept items
   * queued the queue grows past its bounds.
   */
  push(item: T): number {
    if (this.closedWith !== null) return 0;
    const w = this.waiters.shift();
    if (w) {
      this.onTaken(item);
      w.resolve(item);
      return 0;
    }
    this.items.push(item);
    this.held += this.bytes.of(item);
    const outside = this.bytes.outside ?? (() => 0);
    let n = 0;
    for (let i = 0; i < this.items.length && (this.items.length > this.max || this.held + outside() > this.bytes.max); ) {
      // Over the byte bound only: the newest item stays (see the header).
      if (this.items.length <= this.max && i === this.items.length - 1) break;
      if (this.keep(this.items[i]!)) {
        i++;
        continue;
      }
      this.held -= this.bytes.of(this.items.splice(i, 1)[0]!);
      n++;
    }
    this.dropped += n;
    return n;
  }

  tryShift(): T | undefined {
    return this.taken(this.items.shift());
  }

  /** The next item, waiting if none; rejects with the close error once closed and empty. */
  shift(): Promise<T> {
    const item = this.taken(this.items.shift());
    if (item !== undefined) return Promise.resolve(item);
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  close(e: unknown): void {
    this.closedWith = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  private taken(item: T | undefined): T | undefined {
    if (item === undefined) return item;
    this.held -= this.bytes.of(item);
    this.onTaken(item);
    return item;
  }
}

interface Held {
  /** mqtt.js's own send of the ack, once it asked for it (capture()). */
  send: (() => void) | undefined;
  acked: boolean;
}

/** What an owed ack stands for: its message's bytes, and whether the consumer has taken it. */
interface Owed {
  readonly bytes: number;
  taken: boolean;
}

export class HeldAcks {
  /** By packet id, on the current connection only. */
  private readonly held = new Map<number, Held>();
  /** ack functions not called yet on the current connection (what ReceiveQueue must keep). */
  private readonly owed = new Map<() => void, Owed>();
  private owedBytes = 0;
  private takenOwedBytes = 0;

  /** `released` runs after an ack() that freed bytes: room for the link to read more (mqtt-receive.ts). */
  constructor(private readonly released: () => void = () => {}) {}

  /** Acks owed to the broker on the current connection. */
  get size(): number {
    return this.held.size;
  }

  /** Bytes of the messages whose ack is owed on the current connection, queued or taken. */
  get bytes(): number {
    return this.owedBytes;
  }

  /** Bytes of those the consumer has taken (see taken()): held outside the receive queue. */
  get takenBytes(): number {
    return this.takenOwedBytes;
  }

  /**
   * A message of `bytes` bytes with packet id `id` arrived on the current connection: returns its
   * ack(), which sends the acknowledgement once (the first call; later calls and calls after
   * reset() do nothing).
   */
  hold(id: number, bytes = 0): () => void {
    const h: Held = { send: undefined, acked: false };
    this.held.set(id, h);
    const ack = (): void => {
      if (h.acked) return;
      h.acked = true;
      const o = this.owed.get(ack);
      this.owed.delete(ack);
      // Connection gone (reset) or the packet id reused since: nothing to acknowledge here.
      if (this.held.get(id) === h && h.send !== undefined) {
        this.held.delete(id);
        h.send();
      }
      if (o === undefined) return;
      this.owedBytes -= o.bytes;
      if (o.taken) this.takenOwedBytes -= o.bytes;
      this.released();
    };
    this.owed.set(ack, { bytes, taken: false });
    this.owedBytes += bytes;
    return ack;
  }

  /** True while `ack` is owed on the current connection. */
  owes(ack: () => void): boolean {
    return this.owed.has(ack);
  }

  /** The consumer has taken the message of `ack` out of the receive queue (nothing if not owed). */
  taken(ack: () => void): void {
    const o = this.owed.get(ack);
    if (o === undefined || o.taken) return;
    o.taken = true;
    this.takenOwedBytes += o.bytes;
  }

  /**
   * mqtt.js is about to acknowledge packet `id` with `send`: true when the ack is held (`send`
   * runs at ack()), false when it should go now (not held, or already acked).
   */
  capture(id: number, send: () => void): boolean {
    const h = this.held.get(id);
    if (h === undefined || h.send !== undefined) return false;
    if (h.acked) {
      this.held.delete(id);
      return false;
    }
    h.send = send;
    return true;
  }

  /** The connection closed: every ack still owed becomes a no-op (the broker redelivers those messages). */
  reset(): void {
    this.held.clear();
    this.owed.clear();
    this.owedBytes = 0;
    this.takenOwedBytes = 0;
  }
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/**
 * Wraps `client._sendPacket` (mqtt.js 5.16.0, pinned) so that a PUBACK or PUBREC `acks` holds
 * is captured: mqtt.js's callback (its packet pump) runs at once, the packet goes out at ack(),
 * and then only if `live()` (the client is still connected). Every other packet goes as before.
 * Throws if the client has no _sendPacket (an mqtt.js this was not written against).
 */
export function holdAckPackets(client: object, acks: HeldAcks, live: () => boolean): void {
  const internals = client as { _sendPacket?: SendPacket };
  const send = internals._sendPacket;
  if (typeof send !== 'function') throw new LocalError(CommonCode.USAGE, 'mqtt: this mqtt.js has no _sendPacket; held acks are written against mqtt 5.16.0');
  internals._sendPacket = (packet, cb, ...rest) => {
    const id = packet.messageId;
    if ((packet.cmd === 'puback' || packet.cmd === 'pubrec') && id !== undefined) {
      const later = (): void => {
        if (live()) send.call(client, packet, undefined, ...rest);
      };
      if (acks.capture(id, later)) return void cb?.();
    }
    send.call(client, packet, cb, ...rest);
  };
}
