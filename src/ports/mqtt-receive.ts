// The MQTT link's receive side: every PUBLISH from the broker, from the socket to the consumer's
// receive(). An incoming payload over maxPayloadBytes is dropped as it arrives (PublishLimit,
// mqtt-publish-limit.ts); the message waits in a queue bounded by count and by bytes (payload and
// topic) that drops the oldest (never one still owed an ack; mqtt-queues.ts).
//
// The byte bound covers every message the link holds: those queued, and those owed an ack that
// the consumer has taken (heldBytes). Messages owed an ack cannot be dropped, and the broker's
// in-flight window bounds only their count (their bytes reach window x max_payload_bytes: 20 x
// 256 MiB on a default mosquitto), so their bytes are bounded by backpressure: a held QoS >= 1 PUBLISH
// that would take the owed bytes (with those of the held PUBLISH packets passed to mqtt.js and not
// yet parsed) over the bound is not passed on, and the socket is not read, until acks make room
// (PublishRoom; one message alone always passes). TCP then stops the broker. While it waits,
// mqtt.js reads no PINGRESP either: a consumer that holds its acks past about 1.5 x keepalive
// makes the link reconnect, and the broker sends the unacknowledged messages again (at least
// once, as redeliver()). The same over every transport: the PublishLimit sits under mqtt.js's own
// WebSocket and SOCKS streams too (mqtt-connect.ts), and holding those back stops the reading of
// the socket under them: ws's stream pauses its WebSocket, which pauses its TCP socket (what was
// read past that is the one WebSocket message holding the PUBLISH that waits, which ws gathers
// whole, and a socket read or two of the next: mqtt-websocket.ts; readAheadBytes); the SOCKS stream pauses
// its socket, and TLS over it stops reading it. Before, over WebSocket and SOCKS the broker's
// window was the bound (20 messages of up to max_payload_bytes), never held back.
//
// Held acks (issue #12, after hold()): a QoS >= 1 message is acknowledged only when its consumer
// calls ack(). mqtt.js sends a QoS 1 PUBACK in the callback of client.handleMessage, but that
// callback is also what lets it parse the next incoming packet (one at a time: mqtt.js README
// "handleMessage"); deferring it would stall PINGRESP, SUBACK and our own publishes' PUBACKs behind
// each unacknowledged message, one message per commit. For QoS 2, handleMessage's callback only
// sends PUBCOMP, at PUBREL: PUBREC has gone out on arrival and the broker has dropped the message,
// so a crash before the message is safe loses it (mqtt.js's incoming store is in memory). So held
// messages are taken when their PUBLISH arrives ('packetreceive'), mqtt.js's callbacks run at once,
// and the PUBACK / PUBREC they send is held (mqtt-queues.ts holdAckPackets) until ack(). The broker
// keeps at most its in-flight window of our messages unacknowledged and resends them on the
// persistent session after a reconnect; QoS 2's PUBREL and PUBCOMP then flow as mqtt.js does.

import type { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';
import type { PortLog } from './log.js';
import type { QoS } from './mqtt-connect.js';
import { limitIncomingPublishes, PublishLimit, type PublishRoom } from './mqtt-publish-limit.js';
import { HeldAcks, holdAckPackets, ReceiveQueue } from './mqtt-queues.js';

export interface MqttMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
  /** Set when the payload was over maxPayloadBytes: its size; the payload here is then empty. */
  readonly oversized?: number;
  /**
   * Acknowledges the message to the broker (PUBACK / QoS 2 PUBREC) when the link holds acks
   * (holdAcks()) and the message is QoS >= 1; otherwise, or once its connection has closed (the
   * broker redelivers it), does nothing. Call once the message is safe; extra calls do nothing.
   */
  readonly ack: () => void;
}

/** The counters of MqttLink.stats that the receive side keeps. */
export interface ReceiveStats {
  received: number;
  receiveDropped: number;
  /** Held acks that became no-ops because their connection closed (the broker redelivers those messages). */
  acksForgotten: number;
  /** Times the link stopped reading the socket because the messages owed an ack filled the byte bound. */
  receivePauses: number;
  /** The most bytes (payload and topic) of received messages the link has held at once (heldBytes). */
  heldBytesPeak: number;
}

const noAck = (): void => {};
const EMPTY = Buffer.alloc(0);

export class MqttInbox {
  private readonly queue: ReceiveQueue<MqttMessage>;
  private readonly acks = new HeldAcks(() => this.roomFreed());
  private holding = false;
  /** The current connection's PublishLimit (maxPayloadBytes, room), the stream it reads, and the PUBLISH packets it cut. */
  private limit: PublishLimit | null = null;
  private source: Duplex | null = null;
  private readonly cut = new WeakMap<object, number>();
  /** Bytes the room let pass to mqtt.js for each PUBLISH not yet parsed, in order (0: not held). */
  private passed: number[] = [];
  private passedBytes = 0;
  /** The room said no to a PUBLISH that still waits. */
  private full = false;
  private retryQueued = false;
  private readonly room: PublishRoom = { admit: (qos, bytes) => this.admit(qos, bytes) };

  constructor(
    max: number,
    private readonly maxBytes: number,
    private readonly stats: ReceiveStats,
    private readonly log: PortLog,
  ) {
    this.queue = new ReceiveQueue<MqttMessage>(max, (m) => this.acks.owes(m.ack), { max: maxBytes, of: messageBytes, outside: () => this.acks.takenBytes }, (m) => this.acks.taken(m.ack));
  }

  /** Messages waiting for the consumer. */
  get length(): number {
    return this.queue.length;
  }

  /** Their bytes (payload and topic). */
  get bytes(): number {
    return this.queue.byteLength;
  }

  /** Bytes of every message held: queued, or owed an ack and taken by the consumer. */
  get heldBytes(): number {
    return this.queue.byteLength + this.acks.takenBytes;
  }

  /** QoS >= 1 messages of the current connection whose ack the consumer has not given yet. */
  get pendingAcks(): number {
    return this.acks.size;
  }

  /**
   * Bytes read from the connection and not passed on to mqtt.js yet: in the transport's stream's
   * buffer, and in the PublishLimit's input (the chunk it is reading counted whole). While it holds
   * back: over TCP at most a socket read or two, over WebSocket the message it holds (see the header).
   */
  get readAheadBytes(): number {
    return (this.source?.readableLength ?? 0) + (this.limit?.writableLength ?? 0);
  }

  /** From now on QoS >= 1 messages are acknowledged at their ack() (MqttLink.holdAcks). */
  hold(): void {
    this.holding = true;
  }

  /**
   * A new connection's stream (TCP, TLS, WebSocket, through a SOCKS proxy), with its incoming
   * PUBLISH payloads over `maxPayloadBytes` dropped as they arrive and its held PUBLISH packets held
   * back while the byte bound is full (header): a new PublishLimit for every connection, its record
   * of PUBLISH packets is that stream's.
   */
  limitStream<S extends Duplex>(s: S, maxPayloadBytes: number, protocolVersion: 4 | 5): S {
    this.limit?.destroy();
    [this.source, this.passed, this.passedBytes, this.full] = [s, [], 0, false];
    return limitIncomingPublishes(s, (this.limit = new PublishLimit(maxPayloadBytes, protocolVersion, this.room)));
  }

  /**
   * Takes the messages of client `c` from now on, its acks held while `live()` (the client is the
   * link's current one and connected). Throws if mqtt.js cannot hold acks (holdAckPackets).
   */
  attach(c: MqttClient, live: () => boolean): void {
    holdAckPackets(c, this.acks, live);
    // Held: taken at PUBLISH (QoS 2's 'message' comes only at PUBREL, after PUBREC); else as mqtt.js hands them over.
    c.on('packetreceive', (p) => {
      if (p.cmd !== 'publish') return;
      // In step with the PublishLimit: one entry per PUBLISH, in the order mqtt.js parses them.
      const dropped = this.limit?.publishes.shift() ?? null;
      if (dropped !== null) this.cut.set(p, dropped);
      this.passedBytes -= this.passed.shift() ?? 0;
      if (p.qos > 0 && this.holding) {
        this.take(p.topic, typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload, p.qos, p.retain, p.messageId, this.cut.get(p));
        // The message is ours now (copied). mqtt.js keeps a QoS 2 PUBLISH in its incoming store
        // until PUBREL, which comes only after the PUBREC that waits for ack(): without this the
        // payload was held twice, the second copy counted nowhere. mqtt.js uses it for nothing
        // else here (its 'message' event, which the link ignores for held messages).
        p.payload = EMPTY;
      }
      this.roomFreed(); // its bytes now count as owed, at most those that passed
    });
    c.on('message', (topic, payload, packet) => {
      if (!(packet.qos > 0 && this.holding)) this.take(topic, payload, packet.qos, packet.retain, undefined, this.cut.get(packet));
    });
  }

  /** The next message (waits); rejects with the close error once closed. */
  shift(): Promise<MqttMessage> {
    return this.queue.shift();
  }

  tryShift(): MqttMessage | undefined {
    return this.queue.tryShift();
  }

  close(e: unknown): void {
    this.queue.close(e);
  }

  /**
   * The connection is gone: acks still owed would be no-ops (the broker redelivers on the
   * session), and what its stream still held back is of no use.
   */
  forgetAcks(): void {
    this.stats.acksForgotten += this.acks.size;
    this.acks.reset();
    this.limit?.destroy();
    [this.limit, this.source, this.passed, this.passedBytes, this.full] = [null, null, [], 0, false];
  }

  /**
   * PublishRoom.admit for the current stream. Only a PUBLISH whose ack will be held waits: the
   * others are acknowledged on arrival and the queue's bounds drop them. It passes while the bytes
   * owed and passed stay within the bound, or alone.
   */
  private admit(qos: number, bytes: number): boolean {
    const held = this.holding && qos > 0;
    const owed = this.acks.bytes + this.passedBytes;
    if (held && owed > 0 && owed + bytes > this.maxBytes) {
      if (!this.full) this.stats.receivePauses++;
      this.full = true;
      return false;
    }
    this.full = false;
    this.passed.push(held ? bytes : 0);
    this.passedBytes += held ? bytes : 0;
    return true;
  }

  /** Owed bytes went down: the PUBLISH waiting for room is asked again, once the caller's acks are all given. */
  private roomFreed(): void {
    if (!this.full || this.retryQueued) return;
    this.retryQueued = true;
    queueMicrotask(() => {
      this.retryQueued = false;
      this.limit?.tryAgain();
    });
  }

  private take(topic: string, payload: Buffer, qos: QoS, retain: boolean, messageId: number | undefined, oversized: number | undefined): void {
    this.stats.received++;
    // Before mqtt.js handles the PUBLISH and sends its ack: held from here (holdAckPackets).
    const m = { topic, payload: new Uint8Array(payload), qos, retain, ack: noAck, ...(oversized !== undefined ? { oversized } : {}) };
    if (messageId !== undefined) m.ack = this.acks.hold(messageId, messageBytes(m));
    const n = this.queue.push(m);
    this.stats.heldBytesPeak = Math.max(this.stats.heldBytesPeak, this.heldBytes);
    if (n === 0) return;
    const before = this.stats.receiveDropped;
    this.stats.receiveDropped += n;
    // Folded: the first drop, then one line per 1,000 (one push may drop several under the byte bound).
    if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.stats.receiveDropped / 1000)) {
      this.log.warn({ dropped: this.stats.receiveDropped, max: this.queue.max, maxBytes: this.queue.maxBytes }, 'mqtt: receive queue full (messages or bytes), oldest messages dropped');
    }
  }
}

/** What a queued message weighs against the byte bound: its payload and its topic. */
function messageBytes(m: MqttMessage): number {
  return m.payload.byteLength + Buffer.byteLength(m.topic);
}
