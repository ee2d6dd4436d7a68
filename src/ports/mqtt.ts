// MqttLink: the gateway's client to an equipment broker, through mqtt.js 5.
//
// Reconnect: mqtt.js reconnects at a fixed period (the lockstep pattern FIELD-NOTES warns of), so
// its timer is off (reconnectPeriod 0) and this class redials with capped exponential backoff and
// full jitter (started over only after a connection stayed up: reconnect-pacer.ts), reusing the client's in-memory stores so QoS 1/2 publishes in flight when the
// broker vanished are resent after it returns. mqtt.js only remembers subscriptions for its own
// reconnect timer, so the link keeps the set of filters itself and subscribes them again on every
// connection, a resumed session's too (onConnect says why).
//
// Bounds: an incoming payload over maxPayloadBytes is dropped as it arrives (mqtt-publish-limit.ts);
// (mqtt-queues.ts) publishes go through a window of awaited publishAsync calls with a
// bounded wait queue (BUFFER_FULL beyond it); received messages wait in a bounded queue that
// drops the oldest (never one still owed an ack: the broker's window bounds those). Nothing throws into the event loop: mqtt.js 'error' events are logged and
// the connection is re-established.
//
// Held acks (issue #12, after holdAcks()): a QoS >= 1 message is acknowledged only when its
// consumer calls ack(). mqtt.js sends a QoS 1 PUBACK in the callback of client.handleMessage, but
// that callback is also what lets it parse the next incoming packet (one at a time: mqtt.js README
// "handleMessage"); deferring it would stall PINGRESP, SUBACK and our own publishes' PUBACKs
// behind each unacknowledged message, one message per commit. For QoS 2, handleMessage's callback
// only sends PUBCOMP, at PUBREL: PUBREC has gone out on arrival and the broker has dropped the
// message, so a crash before the message is safe loses it (mqtt.js's incoming store is in memory).
// So held messages are taken when their PUBLISH arrives ('packetreceive'), mqtt.js's callbacks run
// at once, and the PUBACK / PUBREC they send is held (mqtt-queues.ts holdAckPackets) until ack().
// The broker keeps at most its in-flight window of our messages unacknowledged and resends them
// on the persistent session after a reconnect; QoS 2's PUBREL and PUBCOMP then flow as mqtt.js does.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff, type BackoffOptions } from '../lib/backoff.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { MQTT_CONNECT_TIMEOUT_MS, MQTT_KEEPALIVE_S, MQTT_PUBLISH_QUEUE_MAX, MQTT_PUBLISH_WINDOW, MQTT_RECEIVE_QUEUE_MAX, PORT_BACKOFF_BASE_MS, PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS } from './constants.js';
import { MqttRefusedError, PortErrorCode, PortIoError } from './errors.js';
import { describeError, silentPortLog, type PortLog } from './log.js';
import { openMqttClient, reasonCodeOf, subscribeCodes, validTopicFilter } from './mqtt-connect.js';
import { HeldAcks, holdAckPackets, PublishWindow, ReceiveQueue } from './mqtt-queues.js';
import { ReconnectPacer } from './reconnect-pacer.js';
import { limitIncomingPublishes, PublishLimit } from './mqtt-publish-limit.js';
import { CodedError, CommonCode, LocalError, StateError } from '../lib/errors.js';

type MqttState = 'connecting' | 'open' | 'waiting' | 'closed';
export type QoS = 0 | 1 | 2;

export interface MqttLinkOptions {
  /** mqtt://host:port (or mqtts://, ws://). */
  readonly url: string;
  readonly clientId?: string;
  readonly username?: string;
  readonly password?: string;
  /** CA certificate(s), PEM, that the broker's certificate must chain to (mqtts://, wss://); default: node's CA store. */
  readonly ca?: string | Buffer;
  /** Clean session (default true): subscriptions are re-made on every connect. */
  readonly clean?: boolean;
  readonly protocolVersion?: 4 | 5;
  readonly keepaliveS?: number;
  readonly connectTimeoutMs?: number;
  readonly publishWindow?: number;
  readonly publishQueueMax?: number;
  readonly receiveQueueMax?: number;
  /**
   * Incoming PUBLISH payloads over this many bytes are dropped as they arrive, never held
   * (mqtt-publish-limit.ts; mqtt:// and mqtts:// only): the message comes with an empty payload and
   * `oversized` set, and is acknowledged as usual. Default: no bound (up to MQTT's 256 MB).
   */
  readonly maxPayloadBytes?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly clock?: Clock;
  readonly log?: PortLog;
}

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

const noAck = (): void => {};

interface MqttStats {
  connects: number;
  disconnects: number;
  published: number;
  publishFailed: number;
  publishRefused: number;
  received: number;
  receiveDropped: number;
  /** Held acks that became no-ops because their connection closed (the broker redelivers those messages). */
  acksForgotten: number;
  /** Connections closed by redeliver() so the broker would send unacknowledged messages again. */
  redeliveries: number;
  resubscribes: number;
  lastError: string | null;
}

/**
 * One filter's answer in a SUBACK: null when granted, else the refusal. Given for subscribe() and
 * for the resubscription at every (re)connect, so a listener always knows what the broker holds now.
 */
export type GrantListener = (filter: string, refusal: MqttRefusedError | null) => void;

export class MqttLink extends EventEmitter<{ state: [state: MqttState, reason: string] }> {
  readonly stats: MqttStats = { connects: 0, disconnects: 0, published: 0, publishFailed: 0, publishRefused: 0, received: 0, receiveDropped: 0, acksForgotten: 0, redeliveries: 0, resubscribes: 0, lastError: null };
  private _state: MqttState = 'waiting';
  private client: MqttClient | null = null;
  private readonly subscriptions = new Map<string, QoS>();
  private readonly grantListeners = new Set<GrantListener>();
  /** The current connection's PublishLimit (maxPayloadBytes), and the PUBLISH packets it cut. */
  private limit: PublishLimit | null = null;
  private readonly cut = new WeakMap<object, number>();
  private readonly window: PublishWindow;
  private readonly inbox: ReceiveQueue<MqttMessage>;
  private readonly acks = new HeldAcks();
  private holding = false;
  private readonly pacer: ReconnectPacer;
  private readonly clock: Clock;
  private readonly log: PortLog;
  private cancelRetry: () => void = () => {};

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    this.window = new PublishWindow(opts.publishWindow ?? MQTT_PUBLISH_WINDOW, opts.publishQueueMax ?? MQTT_PUBLISH_QUEUE_MAX);
    this.inbox = new ReceiveQueue<MqttMessage>(opts.receiveQueueMax ?? MQTT_RECEIVE_QUEUE_MAX, (m) => this.acks.owes(m.ack));
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentPortLog;
    // The backoff starts over only after a connection stayed up as long as the longest wait: a
    // broker that accepts and drops at once (two clients sharing a client id) is backed off too.
    const backoff = new Backoff({ baseMs: PORT_BACKOFF_BASE_MS, capMs: PORT_BACKOFF_CAP_MS, ...opts.backoff });
    this.pacer = new ReconnectPacer(backoff, this.clock, opts.backoff?.capMs ?? PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS, (folded) =>
      this.log.warn({ url: this.opts.url, state: this._state, folded, connects: this.stats.connects, err: this.stats.lastError }, `mqtt: connections to ${this.opts.url} end soon after they open (${folded} lost line(s) folded); now ${this._state}`),
    );
  }

  get state(): MqttState {
    return this._state;
  }

  /** Publishes in flight (window) and waiting for a slot. */
  get publishing(): { active: number; queued: number } {
    return { active: this.window.active, queued: this.window.queued };
  }

  get pendingMessages(): number {
    return this.inbox.length;
  }

  /** QoS >= 1 messages of the current connection whose ack the consumer has not given yet. */
  get pendingAcks(): number {
    return this.acks.size;
  }

  /**
   * From now on a QoS >= 1 message is acknowledged to the broker only when its consumer calls the
   * message's ack() (see the header), and such messages are never dropped by the receive queue's
   * bound. Call before start() so a persistent session's backlog is held too. Without it every
   * message is acknowledged on arrival, as mqtt.js does.
   */
  holdAcks(): void {
    this.holding = true;
  }

  /**
   * Some messages of this connection will never be acknowledged (their consumer lost them: a
   * reading the log dropped unstored). The broker keeps them but sends them again only to a new
   * connection of the persistent session, and until then they take its in-flight window: once they
   * fill it the link receives nothing more. So the connection is closed and the usual reconnect
   * (with backoff) follows; the other held acks are forgotten, and their messages come again too
   * (at least once). Does nothing unless connected: a later connection resends them anyway.
   */
  redeliver(): void {
    const c = this.client;
    if (c === null || this._state !== 'open') return;
    this.stats.redeliveries++;
    this.log.warn({ url: this.opts.url, pendingAcks: this.acks.size }, 'mqtt: messages were lost before they were stored; reconnecting so the broker sends them again');
    // As a lost connection: mqtt.js sees its stream close, and onClose() redials.
    c.stream.destroy();
  }

  start(): this {
    if (this.client || this._state === 'closed') return this;
    const o = this.opts;
    const options: IClientOptions = {
      reconnectPeriod: 0,
      resubscribe: false,
      // Without this, mqtt-packet fills a table of 65,536 two-byte Buffers (one per packet id) at the
      // first packet: ~8 MB of heap for the process's life, against a 2-byte allocation per packet.
      writeCache: false,
      connectTimeout: o.connectTimeoutMs ?? MQTT_CONNECT_TIMEOUT_MS,
      keepalive: o.keepaliveS ?? MQTT_KEEPALIVE_S,
      clean: o.clean ?? true,
      protocolVersion: o.protocolVersion ?? 4,
      ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
    };
    const max = o.maxPayloadBytes;
    // A new PublishLimit for every connection: its record of PUBLISH packets is that stream's.
    const wrap = max === undefined ? undefined : (s: Socket) => limitIncomingPublishes(s, (this.limit = new PublishLimit(max, o.protocolVersion ?? 4)));
    let c: MqttClient;
    try {
      c = openMqttClient(o.url, options, wrap);
    } catch (e) {
      // mqtt.js validates the URL and options synchronously (unknown protocol, bad port...).
      throw new LocalError(CommonCode.USAGE, `mqtt: cannot connect to ${JSON.stringify(o.url)}: ${describeError(e)} (expected e.g. mqtt://host:1883)`, { cause: e });
    }
    try {
      holdAckPackets(c, this.acks, () => this.client === c && c.connected);
    } catch (e) {
      c.end(true);
      throw e;
    }
    this.setState('connecting', `connecting to ${o.url}`);
    this.client = c;
    c.on('connect', () => void this.onConnect(c));
    c.on('close', () => this.onClose(c));
    c.on('error', (e) => {
      this.stats.lastError = describeError(e);
      this.log.debug({ url: o.url, err: describeError(e) }, 'mqtt: client error');
    });
    // Held: taken at PUBLISH (QoS 2's 'message' comes only at PUBREL, after PUBREC); else as mqtt.js hands them over.
    c.on('packetreceive', (p) => {
      if (p.cmd !== 'publish') return;
      // In step with the PublishLimit: one entry per PUBLISH, in the order mqtt.js parses them.
      const dropped = this.limit?.publishes.shift() ?? null;
      if (dropped !== null) this.cut.set(p, dropped);
      if (p.qos > 0 && this.holding) this.onMessage(p.topic, typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload, p.qos, p.retain, p.messageId, this.cut.get(p));
    });
    c.on('message', (topic, payload, packet) => {
      if (!(packet.qos > 0 && this.holding)) this.onMessage(topic, payload, packet.qos, packet.retain, undefined, this.cut.get(packet));
    });
    return this;
  }

  /** Resolves once connected; rejects with PORT_CLOSED if closed first. */
  whenOpen(): Promise<void> {
    if (this._state === 'open') return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const on = (s: MqttState): void => {
        if (s === 'open') (this.off('state', on), resolve());
        else if (s === 'closed') (this.off('state', on), reject(closedError()));
      };
      this.on('state', on);
    });
  }

  /**
   * Subscribes `filter` now (if connected) and after every reconnect. Rejects with
   * MqttRefusedError (MQTT_REFUSED) if the broker refuses it now; the filter stays registered and
   * is subscribed again at every reconnect, where the broker may grant it (an ACL backend that was
   * briefly away): unsubscribe() drops it. LocalError(USAGE) for an invalid filter. Every answer,
   * here and at each reconnect, also goes to onGrant() listeners.
   */
  async subscribe(filter: string, qos: QoS = 0): Promise<void> {
    if (this._state === 'closed') throw closedError();
    if (!validTopicFilter(filter)) throw new LocalError(CommonCode.USAGE, `mqtt: invalid topic filter ${JSON.stringify(filter)} (# only as the last level, + as a whole level)`);
    this.subscriptions.set(filter, qos);
    const c = this.client;
    if (this._state !== 'open' || !c) return; // made on connect
    const refusal = (await this.grant(c, [filter])).get(filter);
    if (refusal) throw refusal;
  }

  /** Calls `cb` with each filter's SUBACK answer (GrantListener); returns a function that stops it. */
  onGrant(cb: GrantListener): () => void {
    this.grantListeners.add(cb);
    return () => void this.grantListeners.delete(cb);
  }

  async unsubscribe(filter: string): Promise<void> {
    this.subscriptions.delete(filter);
    const c = this.client;
    if (this._state === 'open' && c) await c.unsubscribeAsync(filter).catch((e: unknown) => this.log.debug({ filter, err: describeError(e) }, 'mqtt: unsubscribe failed'));
  }

  /**
   * Publishes through the window; resolves when mqtt.js has sent it (QoS 0) or the broker
   * acknowledged it (QoS 1/2). While the broker is away QoS 1/2 publishes wait in flight and are
   * resent after reconnect. Rejects BUFFER_FULL when window and queue are full, PORT_CLOSED after
   * close(), MqttRefusedError / PORT_IO when the broker or the connection fails it.
   */
  publish(topic: string, payload: Uint8Array | string, opts: { qos?: QoS; retain?: boolean } = {}): Promise<void> {
    if (this._state === 'closed' || !this.client) return Promise.reject(this._state === 'closed' ? closedError() : notStarted());
    const c = this.client;
    const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    const p = this.window.submit(async () => {
      try {
        await c.publishAsync(topic, body, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
        this.stats.published++;
      } catch (e) {
        this.stats.publishFailed++;
        throw toTyped(e, `mqtt: publish to ${topic} failed`);
      }
    });
    p.catch((e: unknown) => {
      if (e instanceof StateError && e.code === CommonCode.BUFFER_FULL) {
        this.stats.publishRefused++;
        this.log.warn({ topic, refused: this.window.refused }, 'mqtt: publish refused, window and queue full');
      }
    });
    return p;
  }

  /** The next received message (waits); rejects with PORT_CLOSED once closed. */
  receive(): Promise<MqttMessage> {
    return this.inbox.shift();
  }

  tryReceive(): MqttMessage | undefined {
    return this.inbox.tryShift();
  }

  async *messages(): AsyncGenerator<MqttMessage> {
    for (;;) {
      try {
        yield await this.inbox.shift();
      } catch {
        return;
      }
    }
  }

  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this.cancelRetry();
    this.pacer.close();
    const c = this.client;
    this.setState('closed', 'closed by caller');
    this.window.rejectWaiting(closedError());
    this.inbox.close(closedError());
    this.forgetAcks();
    // mqtt.js writes through a corked stream that it uncorks on the next tick: acks released just
    // before close() (the gateway's last commit on stop) reach the socket only then, and a forced
    // end would discard them, so the broker would send those messages again to the next run.
    if (c) {
      await new Promise((r) => setImmediate(r));
      await c.endAsync(true).catch(() => {});
    }
  }

  // ---- connection life cycle ----

  private async onConnect(c: MqttClient): Promise<void> {
    if (this.client !== c || this._state === 'closed') return;
    this.pacer.up();
    this.stats.connects++;
    this.setState('open', `connected to ${this.opts.url}`);
    if (this.subscriptions.size === 0) return;
    // Also on a session the broker kept: a kept session may hold none of our filters (an older
    // gateway unsubscribed them at every stop; another client used the id), and trusting it left
    // the link subscribed to nothing, for good. Subscribing again replaces a subscription; MQTT 5
    // sends retained messages only for one that did not exist (retain handling 1), 3.1.1 sends them
    // again (§3.8.4): a retained message may come twice after a reconnect, a reading is never lost.
    this.stats.resubscribes++;
    const filters = [...this.subscriptions.keys()];
    try {
      const refused = await this.grant(c, filters);
      // Kept: subscribed again at the next connection, which the broker may grant.
      if (refused.size > 0) this.log.warn({ filters: [...refused.keys()], reasonCodes: [...refused.values()].map((r) => r.reasonCode) }, 'mqtt: broker refused subscription(s); asked again at the next connection');
    } catch (e) {
      this.log.warn({ filters, err: describeError(e) }, 'mqtt: resubscribe failed');
    }
  }

  private onClose(c: MqttClient): void {
    if (this.client !== c || this._state === 'closed') return;
    this.forgetAcks();
    if (this._state === 'open') this.stats.disconnects++;
    const delay = this.pacer.down();
    const folded = this.pacer.line('down');
    this.log[folded === null ? 'debug' : 'warn']({ url: this.opts.url, retryMs: delay, err: this.stats.lastError, ...(folded ? { folded } : {}) }, 'mqtt: connection lost, will reconnect');
    this.setState('waiting', `connection closed; retry in ${delay} ms`);
    this.cancelRetry();
    this.cancelRetry = this.clock.setTimeout(() => {
      if (this.client !== c || this._state === 'closed') return;
      this.setState('connecting', `reconnecting to ${this.opts.url}`);
      // Keep the stores: QoS 1/2 packets in flight are resent once the broker is back.
      c.reconnect({ incomingStore: c.incomingStore, outgoingStore: c.outgoingStore });
    }, delay);
  }

  private onMessage(topic: string, payload: Buffer, qos: QoS, retain: boolean, messageId: number | undefined, oversized: number | undefined): void {
    this.stats.received++;
    // Before mqtt.js handles the PUBLISH and sends its ack: held from here (holdAckPackets).
    const ack = messageId !== undefined ? this.acks.hold(messageId) : noAck;
    if (this.inbox.push({ topic, payload: new Uint8Array(payload), qos, retain, ack, ...(oversized !== undefined ? { oversized } : {}) })) {
      this.stats.receiveDropped++;
      if (this.stats.receiveDropped === 1 || this.stats.receiveDropped % 1000 === 0) {
        this.log.warn({ dropped: this.stats.receiveDropped, max: this.inbox.max }, 'mqtt: receive queue full, oldest messages dropped');
      }
    }
  }

  /** The connection is gone: acks still owed would be no-ops (the broker redelivers on the session). */
  private forgetAcks(): void {
    this.stats.acksForgotten += this.acks.size;
    this.acks.reset();
  }

  /**
   * SUBSCRIBE and read every filter's answer (SUBACK 0x80 = failure; MQTT 5 reason codes >= 0x80):
   * the refused filters, each with its error; every answer also goes to the onGrant listeners.
   * Rejects PORT_IO when no SUBACK came (the connection closed first).
   */
  private async grant(c: MqttClient, filters: string[]): Promise<Map<string, MqttRefusedError>> {
    const map: Record<string, { qos: QoS; rh?: 1 }> = {};
    const v5 = (this.opts.protocolVersion ?? 4) === 5;
    for (const f of filters) map[f] = { qos: this.subscriptions.get(f) ?? 0, ...(v5 ? { rh: 1 as const } : {}) };
    let codes: Map<string, number>;
    try {
      codes = await subscribeCodes(c, map);
    } catch (e) {
      throw toTyped(e, `mqtt: subscribe ${filters.join(', ')} failed`);
    }
    const refused = new Map<string, MqttRefusedError>();
    codes.forEach((code, f) => {
      const refusal = code >= 0x80 ? new MqttRefusedError(`mqtt: broker refused subscription to ${f} (reason 0x${code.toString(16)})`, code) : null;
      if (refusal) refused.set(f, refusal);
      for (const l of this.grantListeners) {
        try {
          l(f, refusal);
        } catch (e) {
          this.log.warn({ filter: f, err: describeError(e) }, 'mqtt: grant listener threw');
        }
      }
    });
    return refused;
  }

  private setState(s: MqttState, reason: string): void {
    this._state = s;
    this.log.debug({ url: this.opts.url, state: s, reason }, 'mqtt: state');
    try {
      this.emit('state', s, reason);
    } catch (e) {
      this.log.warn({ err: describeError(e) }, 'mqtt: state listener threw');
    }
  }
}

function closedError(): StateError {
  return new StateError(PortErrorCode.PORT_CLOSED, 'mqtt: link closed');
}

function notStarted(): StateError {
  return new StateError(PortErrorCode.PORT_CLOSED, 'mqtt: link not started (call start())');
}

function toTyped(e: unknown, what: string): CodedError {
  if (e instanceof CodedError) return e;
  const code = reasonCodeOf(e);
  if (code !== undefined && code >= 0x80) return new MqttRefusedError(`${what}: ${(e as Error).message} (reason 0x${code.toString(16)})`, code);
  return new PortIoError(`${what}: ${describeError(e)}`, { cause: e });
}
