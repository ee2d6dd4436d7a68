// The bytes of received messages owed a held ack (QoS >= 1 while the consumer has not acked them)
// stay within the link's byte bound, against a real mosquitto started per test on a free loopback
// port and stopped by its pid. The broker's in-flight window bounds only how many such messages it
// sends (mosquitto's max_inflight_messages, default 20), so 20 messages of 100 KiB were 2 MiB held
// under a 1 MiB bound; the link now stops reading the socket while they fill the bound, and
// nothing is lost: every message arrives once the consumer acks.
//   * a flood of large QoS 1 messages toward a consumer that holds them, then takes and acks them
//     one at a time: heldBytes and its peak never pass the bound, all arrive, in order, none dropped;
//   * a consumer that holds its acks past 1.5 keepalives while the link holds back: mqtt.js, which
//     reads no PINGRESP meanwhile, reconnects; the broker sends the messages again, none is lost;
//   * QoS 2: mqtt.js keeps a held message's PUBLISH in its incoming store until PUBREL (which waits
//     for our PUBREC, i.e. the ack): it keeps it without the payload, which was a second copy
//     counted nowhere.

import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { silentPortLog } from '../../src/ports/log.js';
import type { MqttMessage } from '../../src/ports/mqtt.js';
import { MqttInbox } from '../../src/ports/mqtt-receive.js';
import { mqttFixtures } from '../helpers/mqtt-fixtures.js';
import { waitFor } from '../virtual-serial/harness.js';

/** mosquitto's default max_inflight_messages: unacknowledged QoS >= 1 messages per client. */
const WINDOW = 20;
const BOUND = 1024 * 1024;
const SIZE = 100 * 1024;
const N = 60;

const { cleanups, broker, link } = mqttFixtures();

async function stored(c: MqttClient): Promise<{ payload: Buffer }[]> {
  const out: { payload: Buffer }[] = [];
  const s = c.incomingStore.createStream();
  await new Promise((r) => s.on('data', (p: { payload: Buffer }) => out.push(p)).on('end', r));
  return out;
}

describe('held messages against a real mosquitto', () => {
  it('a flood of large QoS 1 messages to a held consumer: the held bytes stay within the bound, and every message comes once the consumer acks', async () => {
    const b = await broker();
    const gw = link(b.url, { receiveQueueMaxBytes: BOUND }, true);
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('flood/#', 1);
    // The broker takes them all (its queue for us holds 1000); it sends us its window of them.
    await Promise.all(Array.from({ length: N }, (_, i) => dev.publish('flood/n', Buffer.alloc(SIZE, i), { qos: 1 })));

    // The consumer holds everything: the link stops reading once the bound is full (or, without
    // backpressure, the broker's whole window arrives).
    await waitFor(() => gw.stats.receivePauses > 0 || gw.stats.received >= WINDOW, 10_000, 'the link to hold back, or the whole window');
    await waitFor(() => gw.stats.received >= 10, 10_000, 'the messages that fit');
    // A message weighs 100 KiB and its 7-byte topic: 10 fit in 1 MiB (as packets, 11 bytes over the payload each).
    expect([gw.pendingBytes, gw.heldBytes]).toEqual([10 * (SIZE + 7), 10 * (SIZE + 7)]);
    expect([gw.stats.received, gw.pendingAcks, gw.stats.receivePauses]).toEqual([10, 10, 1]);

    // Now a slow consumer: it takes what is queued only once the link has held back again (or all
    // came), and acks each; at least one per round, so every round makes room.
    const got: number[] = [];
    let pauses = 0;
    while (got.length < N) {
      await waitFor(() => gw.stats.receivePauses > pauses || gw.stats.received === N, 10_000, 'the link to hold back again, or all messages');
      pauses = gw.stats.receivePauses;
      expect(gw.heldBytes).toBeLessThanOrEqual(BOUND);
      for (let m: MqttMessage | undefined = await gw.receive(); m !== undefined; m = gw.tryReceive()) {
        expect(gw.heldBytes).toBeLessThanOrEqual(BOUND);
        expect([m.payload.length, m.payload.every((x) => x === m!.payload[0])]).toEqual([SIZE, true]);
        got.push(m.payload[0]!);
        m.ack();
      }
    }
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(gw.stats.heldBytesPeak).toBe(10 * (SIZE + 7));
    // It held back at least once more after the consumer made room.
    expect(gw.stats.receivePauses).toBeGreaterThan(1);
    expect([gw.stats.received, gw.stats.receiveDropped, gw.heldBytes, gw.pendingAcks]).toEqual([N, 0, 0, 0]);
  });

  it('a consumer that keeps its acks past the keepalive: the link, holding back, reconnects and the broker sends the messages again', async () => {
    const b = await broker();
    const gw = link(b.url, { receiveQueueMaxBytes: BOUND, keepaliveS: 1, clientId: 'held-bytes-keepalive', clean: false }, true);
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('flood/#', 1);
    await Promise.all(Array.from({ length: 20 }, (_, i) => dev.publish('flood/n', Buffer.alloc(SIZE, i), { qos: 1 })));
    await waitFor(() => gw.stats.receivePauses > 0, 10_000, 'the link to hold back');
    // No PINGRESP is read while it holds back: mqtt.js gives the broker up after 1.5 keepalives.
    await waitFor(() => gw.stats.connects === 2 && gw.state === 'open', 10_000, 'the link to reconnect');
    expect(gw.stats.acksForgotten).toBe(10);
    // The broker sends them again on the kept session (the first connection's copies, queued and
    // no longer owed an ack, make room for them under the bound), then the rest: every message arrives.
    const got = new Set<number>();
    while (got.size < 20) {
      const m = await gw.receive();
      expect(gw.heldBytes).toBeLessThanOrEqual(BOUND);
      got.add(m.payload[0]!);
      m.ack();
    }
    expect(gw.stats.heldBytesPeak).toBeLessThanOrEqual(BOUND);
  });

  it('QoS 2: mqtt.js keeps a held message in its incoming store until PUBREL without its payload', async () => {
    const b = await broker();
    const c = await connectAsync(b.url, { clientId: 'held-bytes-qos2', reconnectPeriod: 0 });
    cleanups.push(() => c.endAsync(true));
    const inbox = new MqttInbox(100, BOUND, { received: 0, receiveDropped: 0, acksForgotten: 0, receivePauses: 0, heldBytesPeak: 0 }, silentPortLog);
    inbox.hold();
    inbox.attach(c, () => c.connected);
    await c.subscribeAsync('q2/#', { qos: 2 });
    const dev = link(b.url);
    await dev.whenOpen();
    await dev.publish('q2/x', Buffer.alloc(SIZE, 7), { qos: 2 });

    const m = await inbox.shift();
    expect(Buffer.from(m.payload).equals(Buffer.alloc(SIZE, 7))).toBe(true);
    expect((await stored(c)).map((p) => p.payload.length)).toEqual([0]);
    // Acked: PUBREC goes, the broker's PUBREL comes, and mqtt.js lets the stored packet go before its PUBCOMP.
    const pubcomp = new Promise<void>((r) => c.on('packetsend', (p) => void (p.cmd === 'pubcomp' && r())));
    m.ack();
    await pubcomp;
    expect(await stored(c)).toEqual([]);
  });
});
