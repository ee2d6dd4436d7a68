// The link over ws:// to a broker that sends each MQTT packet whole as one WebSocket message, as
// mosquitto's own websockets listener does (src/ports/mqtt-websocket.ts): a real mosquitto started
// per test on a free loopback port and stopped by its pid, behind the test's WebSocket bridge in
// 'packets' framing (test/helpers/broker-fronts.ts; Debian's mosquitto has no websockets listener).
// ws gathers each message whole, so a PUBLISH is read whole before the link sees a byte of it.
//   * held back: a consumer holds its acks while 8 MiB QoS 1 messages come. Beyond the 16 MiB bound
//     the link has read only the one message holding the PUBLISH that waits for room: before, ws's
//     stream read one more whole message into its buffer (two read past the bound, not one);
//   * a WebSocket message over the link's bound (the larger of maxPayloadBytes and the receive
//     byte bound, plus headers) is refused at its frame header and the connection closed with 1009,
//     and lastError and the connection-lost line say what to do; on a persistent session it comes
//     again at the next connection. Before, ws gathered messages up to its 100 MiB default;
//   * a caller's own wsOptions stay: openMqttClient's maxPayload is the one ws applies.

import { describe, expect, it } from 'vitest';
import { MQTT_RECEIVE_QUEUE_MAX_BYTES } from '../../src/ports/constants.js';
import { silentPortLog, type PortLog } from '../../src/ports/log.js';
import { openMqttClient } from '../../src/ports/mqtt-connect.js';
import type { Mosquitto } from '../../src/sim/mosquitto.js';
import { mqttFixtures } from '../helpers/mqtt-fixtures.js';
import { PACE, wsBridge, type WsBridge, type WsBridgeOptions } from '../helpers/broker-fronts.js';
import { waitFor } from '../virtual-serial/harness.js';

const MiB = 1024 * 1024;

const { cleanups, broker, link } = mqttFixtures();

async function bridge(b: Mosquitto, opts: WsBridgeOptions): Promise<WsBridge> {
  const f = await wsBridge(b.port, { framing: 'packets', ...opts });
  cleanups.push(() => f.close());
  return f;
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

  it('a message over the link bound closes the connection with 1009 at its header, says what to do, and comes again on a persistent session', async () => {
    const b = await broker();
    const front = await bridge(b, {});
    const warns: { msg: string; err: unknown }[] = [];
    const log: PortLog = { ...silentPortLog, warn: (o, msg) => warns.push({ msg, err: (o as { err?: unknown }).err }) };
    const gw = link(front.url, { maxPayloadBytes: 64 * 1024, clientId: 'gw-ws-big', clean: false, log });
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('big/#', 1);

    // Over maxPayloadBytes but within the receive bound: dropped as it came, as over TCP.
    await dev.publish('big/x', Buffer.alloc(MiB, 1), { qos: 1 });
    const cut = await gw.receive();
    expect([cut.payload.length, cut.oversized]).toEqual([0, MiB]);

    // Over the bound the link reads over WebSocket: 16 MiB (the receive bound) + headers.
    const max = MQTT_RECEIVE_QUEUE_MAX_BYTES + 5 + 128 * 1024;
    await dev.publish('big/x', Buffer.alloc(20 * MiB, 2), { qos: 1 });
    await waitFor(() => front.closeCodes.length >= 2, 20_000, 'the gateway to close two connections');
    expect(front.closeCodes.slice(0, 2)).toEqual([1009, 1009]);
    expect(gw.stats.lastError).toContain(`the broker sent a WebSocket message over ${max} bytes`);
    expect(gw.stats.lastError).toContain('raise max_payload_bytes');
    expect(warns.filter((w) => w.msg === 'mqtt: connection lost, will reconnect' && w.err === gw.stats.lastError).length).toBeGreaterThanOrEqual(1);
    expect(gw.stats.received).toBe(1);
  });

  it("openMqttClient keeps the caller's wsOptions: its maxPayload is the one ws applies", async () => {
    const b = await broker();
    const front = await bridge(b, {});
    const c = openMqttClient(front.url, { reconnectPeriod: 0, wsOptions: { maxPayload: 64 * 1024 } });
    cleanups.push(() => c.endAsync(true));
    await new Promise((r) => c.once('connect', r));
    await c.subscribeAsync('big/#', { qos: 0 });
    const dev = link(b.url);
    await dev.whenOpen();
    await dev.publish('big/x', Buffer.alloc(100 * 1024, 3), { qos: 1 });
    await waitFor(() => front.closeCodes.length >= 1, 20_000, 'the client to close');
    expect(front.closeCodes).toEqual([1009]);
  });
});
