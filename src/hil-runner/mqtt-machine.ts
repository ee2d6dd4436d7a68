// The virtual equipment of an mqtt-bridge slot under `uzpgw hil run`: a machine on the run's broker
// that publishes a JSON reading `{"seq", "value"}` every interval on one concrete topic per filter
// the slot subscribes to (a filter's `+` levels become `x`, a trailing `#` becomes `value`), so
// every filter of the config carries traffic. It reconnects on its own (a broker restart fault).

import { connectAsync, type MqttClient } from 'mqtt';

/** The topic a machine publishes for `filter`: `plant/+/temp` -> `plant/x/temp`, `plant/#` -> `plant/value`. */
export function topicFor(filter: string): string {
  return filter
    .split('/')
    .map((level) => (level === '+' ? 'x' : level === '#' ? 'value' : level))
    .join('/');
}

export class MqttMachine {
  seq = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: MqttClient,
    readonly topics: readonly string[],
  ) {}

  /** `topics`: one per subscribed filter (topicFor), as the equipment plan lists them. */
  static async start(o: { readonly url: string; readonly topics: readonly string[]; readonly intervalMs: number; readonly clientId: string }): Promise<MqttMachine> {
    const client = await connectAsync(o.url, { clientId: o.clientId, reconnectPeriod: 250, connectTimeout: 5000 });
    const m = new MqttMachine(client, [...new Set(o.topics)]);
    m.timer = setInterval(() => m.publish(), o.intervalMs);
    m.publish();
    return m;
  }

  /** One reading on every topic; dropped while the broker is away (QoS 0: a sensor does not queue). */
  private publish(): void {
    if (!this.client.connected) return;
    const seq = this.seq++;
    // A slow sine between 15 and 25, so range expectations have something to check.
    const value = Math.round((20 + 5 * Math.sin(seq / 10)) * 10) / 10;
    for (const t of this.topics) this.client.publish(t, JSON.stringify({ seq, value }), { qos: 0 });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client.endAsync(true);
  }
}
