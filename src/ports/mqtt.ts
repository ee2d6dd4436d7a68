// MqttLink: the gateway's client to an equipment broker, through mqtt.js 5: the connection's life
// cycle, and the API over its three parts (subscriptions: mqtt-subscriptions.ts; publishing window:
// mqtt-queues.ts; receive side, held acks included: mqtt-receive.ts).
//
// Reconnect: mqtt.js reconnects at a fixed period (the lockstep pattern FIELD-NOTES warns of), so
// its timer is off (reconnectPeriod 0) and this class redials with capped exponential backoff and
// full jitter (started over only after a connection stayed up: reconnect-pacer.ts), reusing the
// client's in-memory stores so QoS 1/2 publishes in flight when the broker vanished are resent
// after it returns. The link subscribes its filters again on every connection, a resumed session's
// too (onConnect says why).
//
// Bounds: publishes go through a window of awaited publishAsync calls with a bounded wait queue
// (BUFFER_FULL beyond it); received messages are bounded as mqtt-receive.ts says (held ones by
// backpressure on the socket). Nothing throws
// into the event loop: mqtt.js 'error' events are logged and the connection is re-established.

import { EventEmitter } from 'node:events';
import type { IClientOptions, MqttClient } from 'mqtt';
import { Backoff, type BackoffOptions } from '../lib/backoff.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { MQTT_CONNECT_TIMEOUT_MS, MQTT_KEEPALIVE_S, MQTT_PUBLISH_QUEUE_MAX, MQTT_PUBLISH_WINDOW, MQTT_RECEIVE_QUEUE_MAX, MQTT_RECEIVE_QUEUE_MAX_BYTES, PORT_BACKOFF_BASE_MS, PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS } from './constants.js';
import { PortErrorCode } from './errors.js';
import { describeError, silentPortLog, type PortLog } from './log.js';
import { mqttError, openMqttClient, type QoS, type StreamWrap } from './mqtt-connect.js';
import { PublishWindow } from './mqtt-queues.js';
import { MqttInbox, type MqttMessage, type ReceiveStats } from './mqtt-receive.js';
import { webSocketMessageMax, webSocketRefusal } from './mqtt-websocket.js';
import { MqttSubscriptions, type GrantListener } from './mqtt-subscriptions.js';
import { ReconnectPacer } from './reconnect-pacer.js';
import { CommonCode, LocalError, StateError } from '../lib/errors.js';

export type { GrantListener, MqttMessage, QoS };

type MqttState = 'connecting' | 'open' | 'waiting' | 'closed';

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
  /**
   * Seconds between MQTT pings on an idle connection (default 30); a broker that stops answering
   * is noticed after ~1.5 times this and redialled. 1..65535: 0 (keepalive off) is refused with
   * USAGE, it would leave a broker lost without a TCP reset unnoticed for good.
   */
  readonly keepaliveS?: number;
  readonly connectTimeoutMs?: number;
  readonly publishWindow?: number;
  readonly publishQueueMax?: number;
  readonly receiveQueueMax?: number;
  /**
   * Bytes (payload and topic) of the received messages held, queued or owed a held ack (default
   * 16 MiB): the oldest are dropped beyond, as for receiveQueueMax, except those owed an ack, whose
   * bytes are kept within it by reading no more from the broker until acks make room (mqtt-receive.ts).
   */
  readonly receiveQueueMaxBytes?: number;
  /**
   * Incoming PUBLISH payloads over this many bytes are dropped as they arrive, never passed to
   * mqtt.js (mqtt-publish-limit.ts; over ws:// / wss:// once the WebSocket message carrying them is
   * whole: ws gathers each message): the message comes with an empty payload and `oversized` set,
   * and is acknowledged as usual. Default: no bound (up to MQTT's 256 MB). Over ws:// / wss:// a
   * WebSocket message over the larger of this and receiveQueueMaxBytes (plus headers) closes the
   * connection instead (1009; mqtt-websocket.ts).
   */
  readonly maxPayloadBytes?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly clock?: Clock;
  readonly log?: PortLog;
}

interface MqttStats extends ReceiveStats {
  connects: number;
  disconnects: number;
  published: number;
  publishFailed: number;
  publishRefused: number;
  /** Connections closed by redeliver() so the broker would send unacknowledged messages again. */
  redeliveries: number;
  resubscribes: number;
  lastError: string | null;
}

export class MqttLink extends EventEmitter<{ state: [state: MqttState, reason: string] }> {
  readonly stats: MqttStats = { connects: 0, disconnects: 0, published: 0, publishFailed: 0, publishRefused: 0, received: 0, receiveDropped: 0, acksForgotten: 0, receivePauses: 0, heldBytesPeak: 0, redeliveries: 0, resubscribes: 0, lastError: null };
  private _state: MqttState = 'waiting';
  private client: MqttClient | null = null;
  private readonly subscriptions: MqttSubscriptions;
  private readonly window: PublishWindow;
  private readonly inbox: MqttInbox;
  private readonly pacer: ReconnectPacer;
  private readonly clock: Clock;
  private readonly log: PortLog;
  private cancelRetry: () => void = () => {};

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentPortLog;
    this.window = new PublishWindow(opts.publishWindow ?? MQTT_PUBLISH_WINDOW, opts.publishQueueMax ?? MQTT_PUBLISH_QUEUE_MAX);
    this.inbox = new MqttInbox(opts.receiveQueueMax ?? MQTT_RECEIVE_QUEUE_MAX, opts.receiveQueueMaxBytes ?? MQTT_RECEIVE_QUEUE_MAX_BYTES, this.stats, this.log);
    this.subscriptions = new MqttSubscriptions(opts.protocolVersion ?? 4, this.log);
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

  /** Bytes (payload and topic) of the messages waiting for the consumer. */
  get pendingBytes(): number {
    return this.inbox.bytes;
  }

  /**
   * Bytes (payload and topic) of every received message the link holds: waiting for the consumer,
   * or taken by it and owed a held ack. At most receiveQueueMaxBytes plus the newest message
   * (stats.heldBytesPeak: the most so far).
   */
  get heldBytes(): number {
    return this.inbox.heldBytes;
  }

  /** QoS >= 1 messages of the current connection whose ack the consumer has not given yet. */
  get pendingAcks(): number {
    return this.inbox.pendingAcks;
  }

  /** Bytes read from the broker that mqtt.js has not been given yet (MqttInbox.readAheadBytes). */
  get readAheadBytes(): number {
    return this.inbox.readAheadBytes;
  }

  /**
   * From now on a QoS >= 1 message is acknowledged to the broker only when its consumer calls the
   * message's ack() (see the header), and such messages are never dropped by the receive queue's
   * bound. Call before start() so a persistent session's backlog is held too. Without it every
   * message is acknowledged on arrival, as mqtt.js does.
   */
  holdAcks(): void {
    this.inbox.hold();
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
    this.log.warn({ url: this.opts.url, pendingAcks: this.inbox.pendingAcks }, 'mqtt: messages were lost before they were stored; reconnecting so the broker sends them again');
    // As a lost connection: mqtt.js sees its stream close, and onClose() redials.
    c.stream.destroy();
  }

  start(): this {
    if (this.client || this._state === 'closed') return this;
    const o = this.opts;
    const keepalive = o.keepaliveS ?? MQTT_KEEPALIVE_S;
    if (!Number.isInteger(keepalive) || keepalive < 1 || keepalive > 65_535) {
      throw new LocalError(CommonCode.USAGE, `mqtt: keepaliveS ${keepalive} is not 1..65535 (0 turns MQTT keepalive off, and a broker lost without a TCP reset would never be noticed; the default is ${MQTT_KEEPALIVE_S})`);
    }
    const wsMax = webSocketMessageMax(o.maxPayloadBytes, o.receiveQueueMaxBytes ?? MQTT_RECEIVE_QUEUE_MAX_BYTES);
    const options: IClientOptions = {
      reconnectPeriod: 0,
      resubscribe: false,
      // Without this, mqtt-packet fills a table of 65,536 two-byte Buffers (one per packet id) at the
      // first packet: ~8 MB of heap for the process's life, against a 2-byte allocation per packet.
      writeCache: false,
      connectTimeout: o.connectTimeoutMs ?? MQTT_CONNECT_TIMEOUT_MS,
      keepalive,
      clean: o.clean ?? true,
      protocolVersion: o.protocolVersion ?? 4,
      ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      // ws:// and wss:// only: the largest WebSocket message read (mqtt-websocket.ts).
      wsOptions: { maxPayload: wsMax },
    };
    // Always between socket and mqtt.js: without maxPayloadBytes it still holds back held PUBLISH packets.
    const wrap: StreamWrap = (s) => this.inbox.limitStream(s, o.maxPayloadBytes ?? Infinity, o.protocolVersion ?? 4);
    let c: MqttClient;
    try {
      c = openMqttClient(o.url, options, wrap);
    } catch (e) {
      // mqtt.js validates the URL and options synchronously (unknown protocol, bad port...).
      throw new LocalError(CommonCode.USAGE, `mqtt: cannot connect to ${JSON.stringify(o.url)}: ${describeError(e)} (expected e.g. mqtt://host:1883)`, { cause: e });
    }
    try {
      this.inbox.attach(c, () => this.client === c && c.connected);
    } catch (e) {
      c.end(true);
      throw e;
    }
    this.setState('connecting', `connecting to ${o.url}`);
    this.client = c;
    c.on('connect', () => void this.onConnect(c));
    c.on('close', () => this.onClose(c));
    c.on('error', (e) => {
      // Said again by the connection-lost line that follows (warn, folded while connections flap).
      this.stats.lastError = webSocketRefusal(e, wsMax) ?? describeError(e);
      this.log.debug({ url: o.url, err: describeError(e) }, 'mqtt: client error');
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
    this.subscriptions.add(filter, qos);
    const c = this.client;
    if (this._state !== 'open' || !c) return; // made on connect
    const refusal = (await this.subscriptions.grant(c, [filter])).get(filter);
    if (refusal) throw refusal;
  }

  /** Calls `cb` with each filter's SUBACK answer (GrantListener); returns a function that stops it. */
  onGrant(cb: GrantListener): () => void {
    return this.subscriptions.onGrant(cb);
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
        throw mqttError(e, `mqtt: publish to ${topic} failed`);
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
    this.inbox.forgetAcks();
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
    const filters = this.subscriptions.all;
    try {
      const refused = await this.subscriptions.grant(c, filters);
      // Kept: subscribed again at the next connection, which the broker may grant.
      if (refused.size > 0) this.log.warn({ filters: [...refused.keys()], reasonCodes: [...refused.values()].map((r) => r.reasonCode) }, 'mqtt: broker refused subscription(s); asked again at the next connection');
    } catch (e) {
      this.log.warn({ filters, err: describeError(e) }, 'mqtt: resubscribe failed');
    }
  }

  private onClose(c: MqttClient): void {
    if (this.client !== c || this._state === 'closed') return;
    this.inbox.forgetAcks();
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
