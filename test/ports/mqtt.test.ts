// MqttLink against a real mosquitto started per test on a free loopback port and stopped by its
// pid: subscribe/publish, broker restart -> reconnect + resubscribe + QoS 1 publish made while the
// broker was down delivered afterwards, bounded in-flight publishing, receive queue bounded by count
// and by bytes, a broker gone silent behind a paused proxy noticed by the keepalive.

import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttLink, type MqttLinkOptions } from '../../src/ports/mqtt.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';
import { errorOf } from '../helpers/errors.js';
import { waitFor } from '../virtual-serial/harness.js';
import { CodedError, CommonCode } from '../../src/lib/errors.js';
import { PortErrorCode } from '../../src/ports/errors.js';

const brokers: Mosquitto[] = [];
const links: MqttLink[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const l of links.splice(0)) await l.close();
  for (const c of cleanups.splice(0)) await c();
  for (const b of brokers.splice(0)) await b.stop();
});

async function broker(port?: number): Promise<Mosquitto> {
  const b = await Mosquitto.start(port === undefined ? {} : { port });
  brokers.push(b);
  return b;
}

function link(url: string, opts: Partial<MqttLinkOptions> = {}): MqttLink {
  const l = new MqttLink({ url, backoff: { baseMs: 50, capMs: 300 }, ...opts });
  links.push(l);
  return l.start();
}

const text = (p: Uint8Array): string => Buffer.from(p).toString('utf8');

/** The code start() throws with, or 'no error' (the link is then closed after the test). */
function startError(opts: MqttLinkOptions): string {
  const l = new MqttLink(opts);
  try {
    l.start();
  } catch (e) {
    return e instanceof CodedError ? e.code : String(e);
  }
  links.push(l);
  return 'no error';
}

/**
 * A loopback TCP proxy to `port` whose pause() stops forwarding (and drops) the bytes of its open
 * connections both ways without closing them: what a network partition looks like to both ends.
 * New connections after pause() are cut at once; resume() lets new ones through again.
 */
async function pausableProxy(port: number): Promise<{ port: number; pause(): void; resume(): void }> {
  let paused = false;
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    if (paused) return void down.destroy();
    const up = connect(port, '127.0.0.1');
    for (const [from, to] of [[down, up], [up, down]] as const) {
      sockets.add(from);
      from.on('data', (d: Buffer) => void (paused || to.write(d)));
      from.on('error', () => {});
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return {
    port: (server.address() as AddressInfo).port,
    pause: () => void (paused = true),
    resume: () => void (paused = false),
  };
}

describe('MqttLink with mosquitto', () => {
  it('subscribes and receives what another client publishes', async () => {
    const b = await broker();
    const gw = link(b.url);
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('plant/+/temp', 1);
    await dev.publish('plant/boiler/temp', '71.5', { qos: 1 });
    await dev.publish('plant/boiler/pressure', '2.1', { qos: 1 }); // outside the filter
    await dev.publish('plant/pump/temp', '40.0', { qos: 1 });
    const m1 = await gw.receive();
    const m2 = await gw.receive();
    expect([m1.topic, text(m1.payload), m2.topic, text(m2.payload)]).toEqual(['plant/boiler/temp', '71.5', 'plant/pump/temp', '40.0']);
    expect(gw.tryReceive()).toBeUndefined();
    expect((await errorOf(gw.subscribe('plant/#/temp'))).code).toBe(CommonCode.USAGE);
  });

  it('reconnects after the broker restarts, resubscribes, and delivers a QoS 1 publish made while it was down', async () => {
    const b = await broker();
    const gw = link(b.url);
    await gw.whenOpen();
    await gw.subscribe('cmd/#', 1);
    const port = b.port;
    await b.stop();
    brokers.splice(brokers.indexOf(b), 1);
    await waitFor(() => gw.state !== 'open', 10_000, 'the link to notice the broker is gone');
    // Published while the broker is down: held in flight (bounded) and resent after reconnect.
    const held = gw.publish('status/gw', 'back', { qos: 1, retain: true });
    await waitFor(() => gw.stats.lastError !== null, 10_000, 'a failed reconnect attempt');

    const b2 = await broker(port);
    await gw.whenOpen();
    await held;
    await waitFor(() => gw.stats.resubscribes >= 1, 10_000, 'resubscribe');
    const dev = link(b2.url);
    await dev.whenOpen();
    await dev.subscribe('status/#', 1);
    const retained = await dev.receive();
    expect([retained.topic, text(retained.payload), retained.retain]).toEqual(['status/gw', 'back', true]);
    // The gateway's subscription was made again on the new broker: commands reach it.
    await waitFor(() => gw.state === 'open', 10_000, 'open');
    await dev.publish('cmd/valve', 'close', { qos: 1 });
    const cmd = await gw.receive();
    expect([cmd.topic, text(cmd.payload)]).toEqual(['cmd/valve', 'close']);
    expect(gw.stats.disconnects).toBe(1);
    expect(gw.stats.connects).toBe(2);
  });

  it('a persistent session (clean false, same client id) gets the QoS 1 messages published while the gateway was away; a clean one loses them', async () => {
    // What a gateway restart looks like to the broker: the client goes, comes back under its id.
    const b = await broker();
    const dev = link(b.url);
    await dev.whenOpen();
    const received = async (clean: boolean, clientId: string): Promise<string[]> => {
      const first = link(b.url, { clientId, clean });
      await first.whenOpen();
      await first.subscribe('plant/+/telemetry', 1);
      first.close();
      await waitFor(() => first.state === 'closed', 10_000, 'the first client to close');
      for (let i = 1; i <= 5; i++) await dev.publish(`plant/p${i}/telemetry`, `v${i}`, { qos: 1 });
      const again = link(b.url, { clientId, clean });
      await again.whenOpen();
      if (clean) await again.subscribe('plant/+/telemetry', 1);
      // A marker published after the reconnect tells "everything queued has arrived".
      await dev.publish('plant/marker/telemetry', 'end', { qos: 1 });
      const got: string[] = [];
      for (;;) {
        const m = await again.receive();
        if (text(m.payload) === 'end') break;
        got.push(text(m.payload));
      }
      return got;
    };
    expect(await received(false, 'uzpgw-test-persistent')).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    expect(await received(true, 'uzpgw-test-clean')).toEqual([]);
  });

  it('bounds publishes in flight while the broker is away and refuses the excess', async () => {
    const b = await broker();
    const gw = link(b.url, { publishWindow: 4, publishQueueMax: 8 });
    await gw.whenOpen();
    const port = b.port;
    await b.stop();
    brokers.splice(brokers.indexOf(b), 1);
    await waitFor(() => gw.state !== 'open', 10_000, 'disconnect');
    const results = Array.from({ length: 20 }, (_, i) => gw.publish('t/x', String(i), { qos: 1 }).then(() => 'ok', (e: CodedError) => e.code));
    expect(gw.publishing).toEqual({ active: 4, queued: 8 });
    await broker(port);
    const out = await Promise.all(results);
    expect(out.filter((x) => x === 'ok').length).toBe(12);
    expect(out.filter((x) => x === CommonCode.BUFFER_FULL).length).toBe(8);
    expect(gw.stats.publishRefused).toBe(8);
    expect(gw.stats.published).toBe(12);
  });

  it('keeps only the newest messages when the consumer falls behind', async () => {
    const b = await broker();
    const gw = link(b.url, { receiveQueueMax: 5 });
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('r/#', 1);
    for (let i = 0; i < 20; i++) await dev.publish('r/n', String(i), { qos: 1 });
    await waitFor(() => gw.stats.received === 20, 10_000, 'all 20 messages');
    expect(gw.pendingMessages).toBe(5);
    expect(gw.stats.receiveDropped).toBe(15);
    const kept: string[] = [];
    for (let m = gw.tryReceive(); m; m = gw.tryReceive()) kept.push(text(m.payload));
    expect(kept).toEqual(['15', '16', '17', '18', '19']);
  });

  it('bounds the receive queue by bytes too: a burst over the byte bound keeps the newest that fit and counts the drops', async () => {
    const b = await broker();
    // Far more messages than fit in the bytes: the byte bound is the one that holds.
    const gw = link(b.url, { receiveQueueMax: 1000, receiveQueueMaxBytes: 10_000 });
    const dev = link(b.url);
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('r/#', 1);
    for (let i = 0; i < 50; i++) await dev.publish('r/n', Buffer.alloc(1000, i), { qos: 1 });
    await waitFor(() => gw.stats.received === 50, 10_000, 'all 50 messages');
    // A message weighs its payload and topic: 1,003 bytes, so 9 fit in 10,000; 41 were dropped.
    expect([gw.pendingMessages, gw.pendingBytes, gw.stats.receiveDropped]).toEqual([9, 9 * 1003, 41]);
    const kept: number[] = [];
    for (let m = gw.tryReceive(); m; m = gw.tryReceive()) kept.push(m.payload[0]!);
    expect(kept).toEqual([41, 42, 43, 44, 45, 46, 47, 48, 49]);
    expect(gw.pendingBytes).toBe(0);
    // One message larger than the whole bound still gets in (max_payload_bytes bounds it), alone.
    await dev.publish('r/n', Buffer.alloc(1000, 1), { qos: 1 });
    await dev.publish('r/big', Buffer.alloc(20_000, 2), { qos: 1 });
    await waitFor(() => gw.stats.received === 52, 10_000, 'the large message');
    expect([gw.pendingMessages, gw.pendingBytes, gw.stats.receiveDropped]).toEqual([1, 20_005, 42]);
    expect((await gw.receive()).payload).toEqual(new Uint8Array(20_000).fill(2));
  });

  it('refuses a URL mqtt.js cannot use as a usage error', () => {
    expect(startError({ url: 'not a url' })).toBe(CommonCode.USAGE);
  });

  it('refuses keepalive 0 (off: a silent broker would never be noticed) as a usage error', () => {
    expect(startError({ url: 'mqtt://127.0.0.1:1', keepaliveS: 0 })).toBe(CommonCode.USAGE);
    expect(startError({ url: 'mqtt://127.0.0.1:1', keepaliveS: 65_536 })).toBe(CommonCode.USAGE);
  });

  it('notices a broker that goes silent without closing the connection (a partition) by its keepalive, and redials', async () => {
    const b = await broker();
    const proxy = await pausableProxy(b.port);
    const gw = link(`mqtt://127.0.0.1:${proxy.port}`, { keepaliveS: 1 });
    await gw.whenOpen();
    proxy.pause(); // no FIN, no RST: the bytes just stop, both ways
    await waitFor(() => gw.state !== 'open', 10_000, 'the link to notice the silent broker');
    expect(gw.stats.disconnects).toBe(1);
    proxy.resume();
    await waitFor(() => gw.state === 'open', 10_000, 'the link to redial');
    expect(gw.stats.connects).toBe(2);
  });

  it('refuses work after close', async () => {
    const b = await broker();
    const gw = link(b.url);
    await gw.whenOpen();
    const waiting = errorOf(gw.receive());
    await gw.close();
    expect((await waiting).code).toBe(PortErrorCode.PORT_CLOSED);
    expect((await errorOf(gw.publish('a', 'b'))).code).toBe(PortErrorCode.PORT_CLOSED);
    expect((await errorOf(gw.subscribe('a'))).code).toBe(PortErrorCode.PORT_CLOSED);
  });
});
