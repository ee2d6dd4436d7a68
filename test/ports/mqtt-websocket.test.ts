// The link over ws:// to a broker that sends each MQTT packet whole as one WebSocket message, as
// mosquitto's own websockets listener does (src/ports/mqtt-websocket.ts): a real mosquitto started
// per test on a free loopback port and stopped by its pid, behind the test's WebSocket bridge in
// 'packets' framing (test/helpers/broker-fronts.ts; Debian's mosquitto has no websockets listener).
// ws gathers each message whole, so a PUBLISH is read whole before the link sees a byte of it.
//   * held back: a consumer holds its acks while 8 MiB QoS 1 messages come. Beyond the 16 MiB bound
//     the link has read only the one message holding the PUBLISH that waits for room: before, ws's
//     stream read one more whole message into its buffer (two read past the bound, not one).

import { afterEach, describe, expect, it } from 'vitest';
import { MqttLink, type MqttLinkOptions } from '../../src/ports/mqtt.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';
import { PACE, wsBridge, type WsBridge, type WsBridgeOptions } from '../helpers/broker-fronts.js';
import { waitFor } from '../virtual-serial/harness.js';

const MiB = 1024 * 1024;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(): Promise<Mosquitto> {
  const b = await Mosquitto.start();
  cleanups.push(() => b.stop());
  return b;
}

async function bridge(b: Mosquitto, opts: WsBridgeOptions): Promise<WsBridge> {
  const f = await wsBridge(b.port, { framing: 'packets', ...opts });
  cleanups.push(() => f.close());
  return f;
}

function link(url: string, opts: Partial<MqttLinkOptions> = {}, hold = false): MqttLink {
  const l = new MqttLink({ url, backoff: { baseMs: 50, capMs: 300 }, ...opts });
  cleanups.push(() => l.close());
  if (hold) l.holdAcks();
  return l.start();
}

describe('the link over ws://, each MQTT packet one WebSocket message', () => {
  it('held back: beyond the 16 MiB bound it has read only the WebSocket message holding the PUBLISH that waits', async () => {
    const SIZE = 8 * MiB;
    const N = 6;
    // 'flood/n' QoS 1: fixed header 1 + 4 (remaining length), topic 2 + 7, packet id 2, payload.
    const PACKET = 1 + 4 + 2 + 7 + 2 + SIZE;
    const b = await broker();
    // Frames of 64 KiB, paced: the bridge has PACE bytes unsent only once the gateway stops reading.
    const front = await bridge(b, { frameBytes: 64 * 1024 });
    const gw = link(front.url, {}, true);
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('flood/#', 1);
    await Promise.all(Array.from({ length: N }, (_, i) => dev.publish('flood/n', Buffer.alloc(SIZE, i), { qos: 1 })));

    await waitFor(() => front.stuck() >= PACE, 20_000, 'the gateway to stop reading');
    // One message fits the bound (two are 16 MiB + 14 bytes); the second waits in the PublishLimit,
    // and nothing more was read (before: the third too, in ws's stream, 2 x PACKET).
    expect([gw.stats.received, gw.stats.receivePauses, gw.heldBytes, gw.readAheadBytes]).toEqual([1, 1, SIZE + 7, PACKET]);

    // Nothing lost: all come, in order, as acks make room.
    const got: number[] = [];
    while (got.length < N) {
      const m = await gw.receive();
      expect(m.payload.length).toBe(SIZE);
      got.push(m.payload[0]!);
      m.ack();
    }
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(gw.stats.receiveDropped).toBe(0);
  });
});
