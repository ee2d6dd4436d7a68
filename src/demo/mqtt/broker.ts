// The demo's embedded MQTT broker: used only when mosquitto is not installed. A minimal MQTT 3.1.1
// server for the demo's two clients (the MQTT machine simulator and the gateway's mqtt-bridge):
// CONNECT, SUBSCRIBE/UNSUBSCRIBE, PUBLISH QoS 0 and 1, retained messages, wills, PINGREQ, keep-alive.
// It listens on 127.0.0.1 only and runs in the demo (orchestrator) process, never in the gateway.
//
// Deliberate limits (a demo broker, not a plant's): clean sessions only (a client asking for a
// persistent session is served as clean and told sessionPresent = 0, §3.2.2.2); QoS 2 is not
// supported (the connection is closed); outgoing QoS 1 messages are not retransmitted, which TCP
// makes unnecessary while the connection lives, and a lost connection loses them with the
// session; toward a subscriber that does not read, messages beyond WRITE_HIGH_WATER are dropped
// and counted rather than buffered without bound.

import { createServer, type Server, type Socket } from 'node:net';
import { topicMatches } from '../../lib/mqtt-topics.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { CONNACK_RC, decodePacket, encodePacket, PacketSplitter, SUBACK_FAILURE, type MqttPacket, type QoS } from './codec.js';

const MAX_PACKET = 256 * 1024;
const MAX_CONNECTIONS = 64;
const MAX_SUBSCRIPTIONS = 256;
const MAX_RETAINED = 1024;
const WRITE_HIGH_WATER = 1024 * 1024;
/** §3.1.4: the server waits a reasonable time for CONNECT before closing. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface BrokerStats {
  connections: number;
  published: number;
  delivered: number;
  dropped: number;
  protocolErrors: number;
}

interface Message {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
}

class Connection {
  clientId = '';
  connected = false;
  readonly subs = new Map<string, QoS>();
  will: Message | undefined;
  private nextId = 1;
  private cancelTimer: () => void = () => {};
  private keepaliveMs = CONNECT_TIMEOUT_MS;

  constructor(
    readonly socket: Socket,
    private readonly clock: Clock,
  ) {
    this.armTimer();
  }

  send(p: MqttPacket): void {
    if (!this.socket.destroyed) this.socket.write(encodePacket(p));
  }

  /** Delivers a message at the subscription's QoS; false when dropped for a slow reader. */
  deliver(m: Message, qos: QoS, retained: boolean): boolean {
    if (this.socket.writableLength > WRITE_HIGH_WATER) return false;
    const id = qos === 1 ? this.takeId() : undefined;
    // §3.3.1.3: retain is set only on messages sent because of a new subscription.
    this.send({ type: 'publish', topic: m.topic, payload: m.payload, qos, retain: retained, dup: false, ...(id !== undefined ? { id } : {}) });
    return true;
  }

  /** Any control packet from the client restarts the keep-alive clock (§3.1.2.10). */
  armTimer(): void {
    this.cancelTimer();
    this.cancelTimer = this.keepaliveMs > 0 ? this.clock.setTimeout(() => this.socket.destroy(), this.keepaliveMs) : () => {};
  }

  setKeepalive(seconds: number): void {
    // §3.1.2.10: disconnect after one and a half times the keep-alive without a packet.
    this.keepaliveMs = seconds * 1500;
    this.armTimer();
  }

  stopTimer(): void {
    this.cancelTimer();
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = id === 0xffff ? 1 : id + 1;
    return id;
  }
}

export class EmbeddedMqttBroker {
  readonly stats: BrokerStats = { connections: 0, published: 0, delivered: 0, dropped: 0, protocolErrors: 0 };
  private readonly conns = new Set<Connection>();
  private readonly retained = new Map<string, Message>();
  private anonymous = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly clock: Clock,
  ) {}

  /**
   * Listens on 127.0.0.1:`port` (0 = a free port) and resolves once it accepts connections. The
   * clock runs the CONNECT and keep-alive timers (tests pass a fake one).
   */
  static listen(opts: { port?: number; clock?: Clock } = {}): Promise<EmbeddedMqttBroker> {
    const port = opts.port ?? 0;
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.maxConnections = MAX_CONNECTIONS;
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, () => {
        server.off('error', reject);
        const a = server.address();
        const broker = new EmbeddedMqttBroker(server, typeof a === 'object' && a !== null ? a.port : port, opts.clock ?? systemClock);
        server.on('connection', (s) => broker.accept(s));
        resolve(broker);
      });
    });
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get clients(): number {
    return [...this.conns].filter((c) => c.connected).length;
  }

  /** Closes every connection (no wills: the broker is going away) and stops listening. */
  async close(): Promise<void> {
    for (const c of this.conns) {
      c.will = undefined;
      c.stopTimer();
      c.socket.destroy();
    }
    this.conns.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(socket: Socket): void {
    this.stats.connections++;
    socket.setNoDelay(true);
    const c = new Connection(socket, this.clock);
    this.conns.add(c);
    const splitter = new PacketSplitter(MAX_PACKET);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of splitter.push(new Uint8Array(chunk))) {
          if (socket.destroyed) return;
          this.onPacket(c, decodePacket(frame));
        }
      } catch {
        // Malformed or unsupported packet: §4.8 lets the server close the connection.
        this.stats.protocolErrors++;
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      c.stopTimer();
      this.conns.delete(c);
      // §3.1.2.5: the will is published when the connection ends without DISCONNECT.
      if (c.will) this.publish(c.will);
    });
  }

  private onPacket(c: Connection, p: MqttPacket): void {
    c.armTimer();
    if (!c.connected) {
      // §3.1.0-1: the first packet must be CONNECT.
      if (p.type !== 'connect') throw new Error('first packet is not CONNECT');
      return this.onConnect(c, p);
    }
    switch (p.type) {
      case 'connect':
        throw new Error('second CONNECT (§3.1.0-2)');
      case 'publish':
        if (p.qos === 1) c.send({ type: 'puback', id: p.id! });
        return this.publish(p);
      case 'subscribe': {
        const granted = p.subscriptions.map((s) => {
          if (!c.subs.has(s.filter) && c.subs.size >= MAX_SUBSCRIPTIONS) return SUBACK_FAILURE;
          const qos: QoS = s.qos === 0 ? 0 : 1; // QoS 2 requests are granted QoS 1 (§3.9.3)
          c.subs.set(s.filter, qos);
          return qos;
        });
        c.send({ type: 'suback', id: p.id, granted });
        // §3.3.1.3: retained messages matching a new subscription are sent after the SUBACK.
        p.subscriptions.forEach((s, i) => {
          if (granted[i] === SUBACK_FAILURE) return;
          for (const m of this.retained.values()) if (topicMatches(s.filter, m.topic)) this.count(c.deliver(m, Math.min(m.qos, granted[i]!) as QoS, true));
        });
        return;
      }
      case 'unsubscribe':
        for (const f of p.filters) c.subs.delete(f);
        return c.send({ type: 'unsuback', id: p.id });
      case 'pingreq':
        return c.send({ type: 'pingresp' });
      case 'disconnect':
        c.will = undefined; // §3.14.4: a clean DISCONNECT discards the will
        c.socket.end();
        return;
      case 'puback':
        return; // our QoS 1 deliveries are not retransmitted, so there is nothing to release
      default:
        throw new Error(`unexpected ${p.type} from a client`);
    }
  }

  private onConnect(c: Connection, p: Extract<MqttPacket, { type: 'connect' }>): void {
    if (p.level !== 4) {
      c.send({ type: 'connack', sessionPresent: false, returnCode: CONNACK_RC.BAD_PROTOCOL_VERSION });
      c.socket.end();
      return;
    }
    if (p.clientId === '' && !p.cleanSession) {
      // §3.1.3-8: a zero-byte client id needs a clean session.
      c.send({ type: 'connack', sessionPresent: false, returnCode: CONNACK_RC.IDENTIFIER_REJECTED });
      c.socket.end();
      return;
    }
    c.clientId = p.clientId === '' ? `embedded-${++this.anonymous}` : p.clientId;
    // §3.1.4-2: a second client with the same id takes over; the first is disconnected.
    for (const other of this.conns) if (other !== c && other.connected && other.clientId === c.clientId) other.socket.destroy();
    c.connected = true;
    if (p.will) c.will = { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos === 0 ? 0 : 1, retain: p.will.retain };
    c.setKeepalive(p.keepalive);
    c.send({ type: 'connack', sessionPresent: false, returnCode: CONNACK_RC.ACCEPTED });
  }

  private publish(m: Message): void {
    this.stats.published++;
    if (m.retain) {
      // §3.3.1.3: a zero-length retained payload clears the topic's retained message.
      if (m.payload.length === 0) this.retained.delete(m.topic);
      else if (this.retained.has(m.topic) || this.retained.size < MAX_RETAINED) this.retained.set(m.topic, { ...m, retain: true });
    }
    for (const c of this.conns) {
      if (!c.connected) continue;
      // Overlapping subscriptions: one copy at the highest granted QoS (§3.3.5 allows this).
      let best: QoS | -1 = -1;
      for (const [f, q] of c.subs) if (q > best && topicMatches(f, m.topic)) best = q;
      if (best === -1) continue;
      this.count(c.deliver(m, Math.min(m.qos, best) as QoS, false));
    }
  }

  private count(delivered: boolean): void {
    if (delivered) this.stats.delivered++;
    else this.stats.dropped++;
  }
}
