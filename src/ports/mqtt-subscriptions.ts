// The MQTT link's subscriptions: the filters it keeps, SUBSCRIBE with each filter's SUBACK answer,
// and the listeners told every answer. mqtt.js remembers subscriptions only for its own reconnect
// timer, which the link switches off (mqtt.ts), so the filters are kept here and MqttLink
// subscribes all of them again at every connection. A refused filter stays registered: the broker
// may grant it at a later connection (an ACL backend that was briefly away).

import type { MqttClient } from 'mqtt';
import { CommonCode, LocalError } from '../lib/errors.js';
import { MqttRefusedError } from './errors.js';
import { describeError, type PortLog } from './log.js';
import { mqttError, subscribeCodes, validTopicFilter, type QoS } from './mqtt-connect.js';

/**
 * One filter's answer in a SUBACK: null when granted, else the refusal. Given for subscribe() and
 * for the resubscription at every (re)connect, so a listener always knows what the broker holds now.
 */
export type GrantListener = (filter: string, refusal: MqttRefusedError | null) => void;

export class MqttSubscriptions {
  private readonly filters = new Map<string, QoS>();
  private readonly listeners = new Set<GrantListener>();

  constructor(
    private readonly protocolVersion: 4 | 5,
    private readonly log: PortLog,
  ) {}

  get size(): number {
    return this.filters.size;
  }

  /** Every registered filter, in the order first added. */
  get all(): string[] {
    return [...this.filters.keys()];
  }

  /** Registers `filter` (at `qos`, replacing an earlier qos); LocalError(USAGE) for an invalid filter. */
  add(filter: string, qos: QoS): void {
    if (!validTopicFilter(filter)) throw new LocalError(CommonCode.USAGE, `mqtt: invalid topic filter ${JSON.stringify(filter)} (# only as the last level, + as a whole level)`);
    this.filters.set(filter, qos);
  }

  delete(filter: string): void {
    this.filters.delete(filter);
  }

  /** Calls `cb` with each filter's SUBACK answer (GrantListener); returns a function that stops it. */
  onGrant(cb: GrantListener): () => void {
    this.listeners.add(cb);
    return () => void this.listeners.delete(cb);
  }

  /**
   * SUBSCRIBE `filters` on `c` and read every filter's answer (SUBACK 0x80 = failure; MQTT 5 reason
   * codes >= 0x80): the refused filters, each with its error; every answer also goes to the onGrant
   * listeners. Rejects PORT_IO when no SUBACK came (the connection closed first).
   */
  async grant(c: MqttClient, filters: string[]): Promise<Map<string, MqttRefusedError>> {
    const map: Record<string, { qos: QoS; rh?: 1 }> = {};
    // MQTT 5 retain handling 1: retained messages only for a subscription that did not exist yet.
    const v5 = this.protocolVersion === 5;
    for (const f of filters) map[f] = { qos: this.filters.get(f) ?? 0, ...(v5 ? { rh: 1 as const } : {}) };
    let codes: Map<string, number>;
    try {
      codes = await subscribeCodes(c, map);
    } catch (e) {
      throw mqttError(e, `mqtt: subscribe ${filters.join(', ')} failed`);
    }
    const refused = new Map<string, MqttRefusedError>();
    codes.forEach((code, f) => {
      const refusal = code >= 0x80 ? new MqttRefusedError(`mqtt: broker refused subscription to ${f} (reason 0x${code.toString(16)})`, code) : null;
      if (refusal) refused.set(f, refusal);
      for (const l of this.listeners) {
        try {
          l(f, refusal);
        } catch (e) {
          this.log.warn({ filter: f, err: describeError(e) }, 'mqtt: grant listener threw');
        }
      }
    });
    return refused;
  }
}
