// An MQTT machine (mqtt.js client) as found on a plant network: it publishes telemetry to its
// broker and obeys command topics. Topics, under `base` (e.g. `plant/oven-1`):
//   <base>/telemetry/temperature  {"seq":N,"value":21.4,"unit":"C"}        every intervalMs
//   <base>/telemetry/state        {"seq":N,"running":true,"setpoint":22.0} every intervalMs
//   <base>/cmd/start | <base>/cmd/stop                 -> <base>/evt/ack {"command":"start","ok":true}
//   <base>/cmd/setpoint  payload: a number (°C)         -> <base>/evt/ack {"command":"setpoint","ok":true,"value":22}
//   anything else under cmd/, or a bad setpoint         -> <base>/evt/ack {"command":...,"ok":false,"error":...}
// Publishes are awaited one tick at a time (FIELD-NOTES: QoS 0 bursts with callbacks pile up
// mqtt.js `drain` listeners), and a tick is skipped while the previous one is still in flight.

import { connectAsync, type MqttClient } from 'mqtt';
import { every, systemClock, type Clock } from '../lib/clock.js';

export interface MqttDeviceOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883. */
  readonly url: string;
  /** Topic prefix of this machine. */
  readonly base: string;
  readonly clientId?: string;
  /** Telemetry interval (default 1000 ms); 0 publishes only on publishTelemetry(). */
  readonly intervalMs?: number;
  readonly qos?: 0 | 1;
  readonly clock?: Clock;
}

export interface MachineState {
  running: boolean;
  setpoint: number;
  temperature: number;
}

/** Ambient temperature the machine cools to when stopped. */
const AMBIENT = 20;

export class MqttDevice {
  readonly state: MachineState = { running: true, setpoint: 22, temperature: AMBIENT };
  /** Telemetry ticks published, and commands obeyed or refused. */
  seq = 0;
  commands = 0;
  private stopTimer: () => void = () => {};
  private busy = false;

  private constructor(
    private readonly client: MqttClient,
    private readonly opts: MqttDeviceOptions,
  ) {}

  /** Connects, subscribes to `<base>/cmd/#` and starts publishing. */
  static async start(opts: MqttDeviceOptions): Promise<MqttDevice> {
    const client = await connectAsync(opts.url, {
      clientId: opts.clientId ?? `uzp-sim-${opts.base.replace(/[^A-Za-z0-9]/g, '-')}-${process.pid}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    const dev = new MqttDevice(client, opts);
    client.on('message', (topic, payload) => void dev.onCommand(topic, payload));
    await client.subscribeAsync(`${opts.base}/cmd/#`, { qos: opts.qos ?? 0 });
    const interval = opts.intervalMs ?? 1000;
    if (interval > 0) dev.stopTimer = every(opts.clock ?? systemClock, interval, () => void dev.tick());
    return dev;
  }

  /** Publishes one telemetry tick now (also what the interval does). */
  async publishTelemetry(): Promise<void> {
    const s = this.state;
    // First-order approach to the target: the setpoint while running, ambient when stopped.
    s.temperature += ((s.running ? s.setpoint : AMBIENT) - s.temperature) * 0.2;
    const seq = this.seq++;
    const qos = this.opts.qos ?? 0;
    await this.client.publishAsync(`${this.opts.base}/telemetry/temperature`, JSON.stringify({ seq, value: Math.round(s.temperature * 10) / 10, unit: 'C' }), { qos });
    await this.client.publishAsync(`${this.opts.base}/telemetry/state`, JSON.stringify({ seq, running: s.running, setpoint: s.setpoint }), { qos });
  }

  /**
   * Stops publishing and disconnects. Forced when the broker is gone: a graceful end waits for the
   * QoS 1 publishes in flight to be acknowledged, which a dead broker never does.
   */
  async stop(): Promise<void> {
    this.stopTimer();
    await this.client.endAsync(!this.client.connected);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.publishTelemetry();
    } catch {
      // Broker gone: mqtt.js reconnects; the next tick tries again.
    } finally {
      this.busy = false;
    }
  }

  private async onCommand(topic: string, payload: Buffer): Promise<void> {
    const prefix = `${this.opts.base}/cmd/`;
    if (!topic.startsWith(prefix)) return;
    const command = topic.slice(prefix.length);
    this.commands++;
    let ack: Record<string, unknown>;
    if (command === 'start' || command === 'stop') {
      this.state.running = command === 'start';
      ack = { command, ok: true };
    } else if (command === 'setpoint') {
      const v = Number(payload.toString('utf8').trim());
      if (payload.length > 0 && Number.isFinite(v) && v >= -50 && v <= 300) {
        this.state.setpoint = v;
        ack = { command, ok: true, value: v };
      } else ack = { command, ok: false, error: 'setpoint: expected a number of °C in -50..300' };
    } else ack = { command, ok: false, error: 'unknown command' };
    try {
      await this.client.publishAsync(`${this.opts.base}/evt/ack`, JSON.stringify(ack), { qos: this.opts.qos ?? 0 });
    } catch {
      // Disconnected: the ack is lost like any QoS 0 message.
    }
  }
}
