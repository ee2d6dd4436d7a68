// mqtt-bridge: the equipment's MQTT broker bridged into the HIL. The bridge subscribes the
// configured `subscribe` filters once, at start, on the gateway's MqttLink (which resubscribes
// after every reconnect); every message becomes one reading `{ topic, payload }` (with
// `retain: true` when the broker sent its retained message) and one onMessage call. Operators
// never widen what the gateway takes from the equipment broker: an operator
// subscription must lie inside a configured filter (filter containment, MQTT §4.7, as the Grant
// check does it), and is then served from the bridge's own subscriptions without a new SUBSCRIBE,
// so overlapping filters never deliver one message twice. Publishing is allowed only to topics a
// configured `publish` filter matches, and payloads are bounded by maxPayloadBytes both ways.
// The HIL broker has already checked the operator's Grant (draft §4.3); these are the device's
// own limits, which hold whatever a Grant says.
// Acks (issue #12 "nothing lost"): the bridge holds its link's acks (MqttLink.holdAcks). A QoS >= 1
// message that becomes a reading is acknowledged to the broker when the reading is settled
// (Reading.settled; the gateway's reading recorder settles it once the reading log has it on disk)
// with durableAck, else right after the reading went to its listeners; an oversized message is
// acknowledged at once, and one arriving while stopped too unless durableAck holds it for the
// broker to send again (the subscriptions outlive stop(): see there). A reading the log dropped
// unstored (Reading.lost) makes the link reconnect, so the broker sends its message again.

import type { MqttBridgeDevice } from './config.js';
import type { PortLog } from '../ports/log.js';
import type { MqttLink } from '../ports/mqtt.js';
import { filterWithin, isTopicFilter, isTopicName, topicMatches } from '../lib/mqtt-topics.js';
import type { CborValue } from '../uzp/cbor.js';
import type { MqttDevice, Reading, Unsubscribe } from '../hil/device.js';
import { Listeners, ReadingStream } from './readings.js';
import { CodedError, CommonCode, LocalError } from '../lib/errors.js';
import { DeviceError, DeviceErrorCode } from './errors.js';
import { PortErrorCode } from '../ports/errors.js';

export interface MqttBridgeOptions {
  /** Reading timestamps, Unix ms (default Date.now). */
  readonly now?: () => number;
  readonly log?: PortLog;
  /**
   * True: a QoS >= 1 message is acknowledged only when its reading's `settled` is called (the
   * gateway's reading recorder does, once the reading is durable). False (default): right after
   * the reading was emitted, so a bridge used without a recorder never stalls its broker.
   */
  readonly durableAck?: boolean;
}

export interface MqttBridgeStats {
  messages: number;
  /** Incoming messages over maxPayloadBytes, dropped whole. */
  oversized: number;
  /**
   * Incoming messages on a topic no configured, granted filter matches, acknowledged and dropped:
   * a persistent session keeps the subscriptions of earlier runs (a wider filter before the config
   * was narrowed), and the broker delivers on them.
   */
  unbridged: number;
  published: number;
  refused: number;
}

/** The MqttLink surface the bridge uses (the composition root owns the link's life cycle). */
export type BridgeLink = Pick<MqttLink, 'subscribe' | 'unsubscribe' | 'publish' | 'messages' | 'holdAcks' | 'redeliver' | 'onGrant'>;

export class MqttBridge implements MqttDevice {
  readonly driver = 'mqtt-bridge' as const;
  readonly kind = 'mqtt' as const;
  readonly id: string;
  readonly stats: MqttBridgeStats = { messages: 0, oversized: 0, unbridged: 0, published: 0, refused: 0 };
  /** Stamps slot, device, seq and ts (no listeners of its own: `out` delivers, with `settled`). */
  private readonly readings: ReadingStream;
  private readonly out: Listeners<[Reading]>;
  private readonly listeners: Listeners<[string, Uint8Array]>;
  /**
   * Configured filters the broker refused at its latest answer, with the error (operators get it
   * too). Kept by the link's SUBACK answers (onGrant) at start and at every reconnect, so a filter
   * granted later is bridged again, and a refusal at a reconnect is known, not only logged.
   */
  private readonly refusedFilters = new Map<string, CodedError>();
  /** Reading.lost of every durable reading: one function, so the recorder calls it once per commit. */
  private readonly lost = (): void => this.link.redeliver();
  private running = false;
  private pump: Promise<void> | null = null;

  constructor(
    readonly slot: string,
    private readonly cfg: MqttBridgeDevice,
    private readonly link: BridgeLink,
    private readonly opts: MqttBridgeOptions = {},
  ) {
    this.id = cfg.id;
    this.readings = new ReadingStream({ slot, device: cfg.id, kind: 'mqtt', ...(opts.now ? { now: opts.now } : {}), ...(opts.log ? { log: opts.log } : {}) });
    this.listeners = new Listeners(`${slot}/${cfg.id} messages`, opts.log);
    this.out = new Listeners(`${slot}/${cfg.id} readings`, opts.log);
    link.holdAcks();
    link.onGrant((filter, refusal) => this.granted(filter, refusal));
  }

  onReading(cb: (r: Reading) => void): Unsubscribe {
    return this.out.on(cb);
  }

  onMessage(cb: (topic: string, payload: Uint8Array) => void): Unsubscribe {
    return this.listeners.on(cb);
  }

  /**
   * Subscribes the configured filters and starts taking messages. Resolves once every filter is
   * answered (or, while the broker is away, registered for the next connect); a filter the broker
   * refuses (now or at a reconnect: granted()) is logged, remembered until the broker grants it,
   * and refuses operator subscriptions inside it.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.pump ??= this.consume();
    await Promise.all(
      this.cfg.subscribe.map((f) =>
        this.link.subscribe(f, this.cfg.qos).catch((e: unknown) => {
          const code = e instanceof CodedError ? e.code : undefined;
          // A refusal was recorded by granted(); no SUBACK at all (the connection closed first, or
          // the link did) is no answer: the link asks again at the next connection.
          if (code === PortErrorCode.MQTT_REFUSED || code === PortErrorCode.PORT_IO || code === PortErrorCode.PORT_CLOSED) return;
          const err = e instanceof CodedError ? e : new LocalError(CommonCode.USAGE, String(e));
          this.refusedFilters.set(f, err);
          this.opts.log?.warn({ slot: this.slot, device: this.id, filter: f, err: err.message }, 'mqtt-bridge: subscription refused');
        }),
      ),
    );
  }

  /** The broker's answer to one of our filters, at start or at a reconnect (MqttLink.onGrant). */
  private granted(filter: string, refusal: CodedError | null): void {
    if (!this.cfg.subscribe.includes(filter)) return;
    const log = { slot: this.slot, device: this.id, filter };
    if (refusal !== null) {
      if (!this.refusedFilters.has(filter)) this.opts.log?.warn({ ...log, err: refusal.message }, 'mqtt-bridge: subscription refused');
      this.refusedFilters.set(filter, refusal);
    } else if (this.refusedFilters.delete(filter)) {
      this.opts.log?.info(log, 'mqtt-bridge: subscription granted after a refusal');
    }
  }

  /**
   * Messages still arriving are no longer delivered. The subscriptions stay: on a persistent session
   * (the default for QoS >= 1) they are the session's, which keeps them and queues our messages
   * while the gateway restarts; an UNSUBSCRIBE here removed them, and the next run, resuming the
   * session, subscribed nothing and received nothing. The link stays open (the caller's).
   */
  async stop(): Promise<void> {
    this.running = false;
  }

  get bridged(): { readonly subscribe: readonly string[]; readonly publish: readonly string[] } {
    return { subscribe: this.cfg.subscribe, publish: this.cfg.publish };
  }

  status(): { slot: string; device: string; running: boolean; readings: number; refusedFilters: string[] } & MqttBridgeStats {
    return { slot: this.slot, device: this.id, running: this.running, readings: this.readings.count, refusedFilters: [...this.refusedFilters.keys()], ...this.stats };
  }

  /**
   * An operator subscription: must be a valid filter inside one of the configured `subscribe`
   * filters (else TOPIC_NOT_BRIDGED). The bridge already receives those messages, so nothing is
   * sent to the broker; the HIL broker delivers the matching ones to the operator's channel.
   */
  async subscribe(filter: string): Promise<void> {
    if (!isTopicFilter(filter)) throw new LocalError(CommonCode.USAGE, `${this.id}: invalid topic filter ${JSON.stringify(filter)} (+ a whole level, # the whole last level)`);
    const outer = this.cfg.subscribe.find((f) => filterWithin(filter, f) && !this.refusedFilters.has(f));
    if (outer === undefined) {
      const refusedOuter = this.cfg.subscribe.find((f) => filterWithin(filter, f));
      if (refusedOuter !== undefined) throw this.refusedFilters.get(refusedOuter)!;
      this.stats.refused++;
      throw new DeviceError(DeviceErrorCode.TOPIC_NOT_BRIDGED, `${this.id}: ${JSON.stringify(filter)} is not inside the bridged filters (${this.cfg.subscribe.join(', ') || 'none'})`);
    }
  }

  /** Publishes to the equipment broker: the topic must match a configured `publish` filter, the payload fit maxPayloadBytes. */
  async publish(topic: string, payload: Uint8Array, qos: 0 | 1, retain: boolean): Promise<void> {
    if (!isTopicName(topic)) throw new LocalError(CommonCode.USAGE, `${this.id}: invalid topic name ${JSON.stringify(topic)} (no wildcards, not empty)`);
    if (!this.cfg.publish.some((f) => topicMatches(f, topic))) {
      this.stats.refused++;
      throw new DeviceError(DeviceErrorCode.TOPIC_NOT_BRIDGED, `${this.id}: publishing to ${JSON.stringify(topic)} is not allowed (publish filters: ${this.cfg.publish.join(', ') || 'none'})`);
    }
    if (payload.length > this.cfg.maxPayloadBytes) {
      this.stats.refused++;
      throw new DeviceError(DeviceErrorCode.PAYLOAD_TOO_LARGE, `${this.id}: payload of ${payload.length} bytes exceeds max_payload_bytes ${this.cfg.maxPayloadBytes}`);
    }
    await this.link.publish(topic, payload, { qos, retain });
    this.stats.published++;
  }

  /**
   * Whether a configured filter the broker has not refused matches `topic`. The broker's session is
   * no guide: it keeps every filter an earlier run subscribed (the link never unsubscribes filters
   * it was not told about), so a narrowed config would still bridge the old, wider filter.
   */
  private bridges(topic: string): boolean {
    return this.cfg.subscribe.some((f) => !this.refusedFilters.has(f) && topicMatches(f, topic));
  }

  /** The single consumer of the link's bounded receive queue; ends when the link closes. */
  private async consume(): Promise<void> {
    for await (const m of this.link.messages()) {
      if (!this.bridges(m.topic)) {
        // Never a reading, stopped or not: acknowledged so the broker does not send it again.
        this.stats.unbridged++;
        if (this.stats.unbridged === 1 || this.stats.unbridged % 1000 === 0) this.opts.log?.warn({ slot: this.slot, device: this.id, topic: m.topic, unbridged: this.stats.unbridged }, 'mqtt-bridge: message outside the configured filters dropped (a subscription left in the broker session?)');
        m.ack();
        continue;
      }
      if (!this.running) {
        // Stopped: a durably acknowledged message is left unacknowledged, so the broker sends it
        // again to the next run (acknowledged here, it was lost); any other is dropped.
        if (!(this.opts.durableAck === true && m.qos > 0)) m.ack();
        continue;
      }
      // Cut by the link as it arrived (MqttLinkOptions.maxPayloadBytes), or over the bound here.
      if (m.oversized !== undefined || m.payload.length > this.cfg.maxPayloadBytes) {
        this.stats.oversized++;
        if (this.stats.oversized === 1 || this.stats.oversized % 1000 === 0) this.opts.log?.warn({ slot: this.slot, device: this.id, topic: m.topic, bytes: m.oversized ?? m.payload.length, oversized: this.stats.oversized }, 'mqtt-bridge: oversized message dropped');
        m.ack();
        continue;
      }
      this.stats.messages++;
      this.listeners.emit(m.topic, m.payload);
      // A retained message is the broker's last-known value, sent because we subscribed (MQTT 3.1.1
      // §3.3.1.3; MQTT 5 the same, retain-as-published being off): marked, so a consumer can tell
      // it from a fresh one. Absent on live messages, whose value is unchanged.
      const value = { topic: m.topic, payload: payloadValue(m.payload), ...(m.retain ? { retain: true } : {}) };
      const r = this.readings.emit(value, { kind: 'mqtt', topic: m.topic });
      const durable = this.opts.durableAck === true && m.qos > 0;
      // A clean session's broker forgets what we did not acknowledge when we reconnect (MQTT 3.1.1 §3.1.2.4).
      this.out.emit(durable ? { ...r, settled: m.ack, lost: this.lost, ...(this.cfg.cleanSession ? {} : { resent: true as const }) } : r);
      if (!durable) m.ack();
    }
  }
}

// ignoreBOM: by default the decoder drops a leading U+FEFF, so the text shown was not the bytes sent.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The payload as text when it is well-formed UTF-8 without control characters other than tab, CR
 * and LF (what JSON or a number looks like); else the bytes as they came.
 */
export function payloadValue(p: Uint8Array): CborValue {
  let text: string;
  try {
    text = STRICT_UTF8.decode(p);
  } catch {
    return p;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? p : text;
}
