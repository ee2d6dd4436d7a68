// The MQTT link's receive side: every PUBLISH from the broker, from the socket to the consumer's
// receive(). An incoming payload over maxPayloadBytes is dropped as it arrives (PublishLimit,
// mqtt-publish-limit.ts); the message waits in a queue bounded by count and by bytes (payload and
// topic) that drops the oldest (never one still owed an ack: the broker's window bounds those;
// mqtt-queues.ts).
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

import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import type { PortLog } from './log.js';
import type { QoS } from './mqtt-connect.js';
import { limitIncomingPublishes, PublishLimit } from './mqtt-publish-limit.js';
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
}

const noAck = (): void => {};

export class MqttInbox {
  private readonly queue: ReceiveQueue<MqttMessage>;
  private readonly acks = new HeldAcks();
  private holding = false;
  /** The current connection's PublishLimit (maxPayloadBytes), and the PUBLISH packets it cut. */
  private limit: PublishLimit | null = null;
  private readonly cut = new WeakMap<object, number>();

  constructor(
    max: number,
    maxBytes: number,
    private readonly stats: ReceiveStats,
    private readonly log: PortLog,
  ) {
    this.queue = new ReceiveQueue<MqttMessage>(max, (m) => this.acks.owes(m.ack), { max: maxBytes, of: messageBytes });
  }

  /** Messages waiting for the consumer. */
  get length(): number {
    return this.queue.length;
  }

  /** Their bytes (payload and topic). */
  get bytes(): number {
    return this.queue.byteLength;
  }

  /** QoS >= 1 messages of the current connection whose ack the consumer has not given yet. */
  get pendingAcks(): number {
    return this.acks.size;
  }

  /** From now on QoS >= 1 messages are acknowledged at their ack() (MqttLink.holdAcks). */
  hold(): void {
    this.holding = true;
  }

  /**
   * A new connection's TCP / TLS stream, with its incoming PUBLISH payloads over `maxPayloadBytes`
   * dropped as they arrive: a new PublishLimit for every connection, its record of PUBLISH packets
   * is that stream's.
   */
  limitStream(s: Socket, maxPayloadBytes: number, protocolVersion: 4 | 5): Socket {
    return limitIncomingPublishes(s, (this.limit = new PublishLimit(maxPayloadBytes, protocolVersion)));
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
      if (p.qos > 0 && this.holding) this.take(p.topic, typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload, p.qos, p.retain, p.messageId, this.cut.get(p));
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

  /** The connection is gone: acks still owed would be no-ops (the broker redelivers on the session). */
  forgetAcks(): void {
    this.stats.acksForgotten += this.acks.size;
    this.acks.reset();
  }

  private take(topic: string, payload: Buffer, qos: QoS, retain: boolean, messageId: number | undefined, oversized: number | undefined): void {
    this.stats.received++;
    // Before mqtt.js handles the PUBLISH and sends its ack: held from here (holdAckPackets).
    const ack = messageId !== undefined ? this.acks.hold(messageId) : noAck;
    const n = this.queue.push({ topic, payload: new Uint8Array(payload), qos, retain, ack, ...(oversized !== undefined ? { oversized } : {}) });
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
