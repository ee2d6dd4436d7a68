// What the MqttLink tests against a real mosquitto share: a list of things to stop after each test
// (last made, first stopped), a broker, and a started link with quick reconnects, optionally
// holding its acks (MqttLink.holdAcks).

import { afterEach } from 'vitest';
import { MqttLink, type MqttLinkOptions } from '../../src/ports/mqtt.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';

export interface MqttFixtures {
  /** Stopped after each test, the last pushed first. */
  readonly cleanups: (() => unknown)[];
  broker(): Promise<Mosquitto>;
  link(url: string, opts?: Partial<MqttLinkOptions>, hold?: boolean): MqttLink;
}

/** Call at a test file's top level: registers the afterEach that runs the cleanups. */
export function mqttFixtures(): MqttFixtures {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    cleanups,
    async broker() {
      const b = await Mosquitto.start();
      cleanups.push(() => b.stop());
      return b;
    },
    link(url, opts = {}, hold = false) {
      const l = new MqttLink({ url, backoff: { baseMs: 50, capMs: 300 }, ...opts });
      cleanups.push(() => l.close());
      if (hold) l.holdAcks();
      return l.start();
    },
  };
}
