// The MQTT link's receive bounds over every transport it speaks (one suite, run over each), against
// a real mosquitto started per test on a free loopback port and stopped by its pid, reached
// directly or through a loopback front of the test's own (test/helpers/broker-fronts.ts: a
// WebSocket bridge, since Debian's mosquitto has no websockets listener; a SOCKS5 proxy; a TLS
// listener): mqtt://, ws://, wss://, mqtt:// and mqtts:// through a SOCKS proxy.
//   * held bytes: a consumer holds its acks while 24 MiB of 1 MiB QoS 1 messages are published: the
//     link holds at most its default bound (16 MiB, 15 messages), then takes the rest as acks make
//     room: all arrive, in order, none dropped. Before, over ws://, wss:// and SOCKS the stream was
//     mqtt.js's own and never held back: the broker's window of 20 arrived, 20 MiB held;
//   * max_payload_bytes: a payload over it comes empty with `oversized` set, dropped as it arrived
//     (before, over those transports: whole);
//   * under the link, each stream mqtt.js builds for those transports, once paused, stops reading
//     its socket: the server behind it cannot send more (otherwise the bytes the link holds back
//     would pile up in the stream, ws's or the SOCKS one, without bound).

import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Writable, type Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MQTT_RECEIVE_QUEUE_MAX_BYTES } from '../../src/ports/constants.js';
import { MqttLink, type MqttLinkOptions, type MqttMessage } from '../../src/ports/mqtt.js';
import { Mosquitto } from '../../src/sim/mosquitto.js';
import { mqttFixtures } from '../helpers/mqtt-fixtures.js';
import { socks5Proxy, tlsFront, wsBridge } from '../helpers/broker-fronts.js';
import { selfSigned, type SelfSigned } from '../helpers/self-signed.js';
import { waitFor } from '../virtual-serial/harness.js';

/** mosquitto's default max_inflight_messages: unacknowledged QoS >= 1 messages per client. */
const WINDOW = 20;
const BOUND = MQTT_RECEIVE_QUEUE_MAX_BYTES;
const SIZE = 1024 * 1024;
/** A message weighs its payload and its 7-byte topic ('flood/n'): 15 fit in 16 MiB. */
const FIT = Math.floor(BOUND / (SIZE + 7));
const N = 24;

const { cleanups, broker, link: startLink } = mqttFixtures();

let tls: SelfSigned;
beforeAll(async () => {
  tls = await selfSigned();
});
afterAll(() => tls.remove());

/** The gateway link's way to broker `b`: its URL, a SOCKS proxy to name, the CA of a TLS front. */
interface Route {
  readonly url: string;
  readonly socks?: string;
  readonly ca?: Buffer;
}

async function front<F extends { close(): Promise<void> }>(f: Promise<F>): Promise<F> {
  const x = await f;
  cleanups.push(() => x.close());
  return x;
}

const TRANSPORTS: Record<string, (b: Mosquitto) => Promise<Route>> = {
  'mqtt://': async (b) => ({ url: b.url }),
  'ws://': async (b) => ({ url: (await front(wsBridge(b.port))).url }),
  'wss://': async (b) => ({ url: (await front(wsBridge(b.port, { tls }))).url, ca: tls.cert }),
  'mqtt:// through SOCKS': async (b) => ({ url: b.url, socks: `socks5://127.0.0.1:${(await front(socks5Proxy())).port}` }),
  'mqtts:// through SOCKS': async (b) => {
    const t = await front(tlsFront(b.port, tls));
    return { url: `mqtts://127.0.0.1:${t.port}`, socks: `socks5://127.0.0.1:${(await front(socks5Proxy())).port}`, ca: tls.cert };
  },
};

/**
 * A started link over `route`. A SOCKS proxy is named as the gateway names it, in mqtt.js's
 * MQTTJS_SOCKS_PROXY (docs/CONFIG.md `broker`), read when the link starts.
 */
function link(route: Route, opts: Partial<MqttLinkOptions> = {}, hold = false): MqttLink {
  const before = process.env['MQTTJS_SOCKS_PROXY'];
  if (route.socks !== undefined) process.env['MQTTJS_SOCKS_PROXY'] = route.socks;
  try {
    return startLink(route.url, { ...(route.ca ? { ca: route.ca } : {}), ...opts }, hold);
  } finally {
    if (before === undefined) delete process.env['MQTTJS_SOCKS_PROXY'];
    else process.env['MQTTJS_SOCKS_PROXY'] = before;
  }
}

describe.each(Object.keys(TRANSPORTS))('the link over %s, to a real mosquitto', (name) => {
  it('a held consumer and 24 MiB of 1 MiB QoS 1 messages: at most the 16 MiB bound is held, and every message comes once acks resume', async () => {
    const b = await broker();
    const gw = link(await TRANSPORTS[name]!(b), {}, true);
    const dev = link({ url: b.url });
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('flood/#', 1);
    await Promise.all(Array.from({ length: N }, (_, i) => dev.publish('flood/n', Buffer.alloc(SIZE, i), { qos: 1 })));

    // The link holds back once the bound is full (or, not held back, the broker's whole window comes).
    await waitFor(() => gw.stats.receivePauses > 0 || gw.stats.received >= WINDOW, 20_000, 'the link to hold back, or the whole window');
    await waitFor(() => gw.stats.received >= FIT, 20_000, 'the messages that fit');
    expect([gw.heldBytes, gw.stats.received, gw.pendingAcks, gw.stats.receivePauses]).toEqual([FIT * (SIZE + 7), FIT, FIT, 1]);

    // A slow consumer: it takes what is queued once the link has held back again (or all came),
    // and acks each, so every round makes room.
    const got: number[] = [];
    let pauses = 0;
    while (got.length < N) {
      await waitFor(() => gw.stats.receivePauses > pauses || gw.stats.received === N, 20_000, 'the link to hold back again, or all messages');
      pauses = gw.stats.receivePauses;
      for (let m: MqttMessage | undefined = await gw.receive(); m !== undefined; m = gw.tryReceive()) {
        expect(gw.heldBytes).toBeLessThanOrEqual(BOUND);
        expect([m.payload.length, m.payload.every((x) => x === m!.payload[0])]).toEqual([SIZE, true]);
        got.push(m.payload[0]!);
        m.ack();
      }
    }
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(gw.stats.heldBytesPeak).toBe(FIT * (SIZE + 7));
    expect([gw.stats.received, gw.stats.receiveDropped, gw.heldBytes, gw.pendingAcks]).toEqual([N, 0, 0, 0]);
  });

  it('a payload over maxPayloadBytes comes empty, its size in `oversized`; the next one whole', async () => {
    const b = await broker();
    const gw = link(await TRANSPORTS[name]!(b), { maxPayloadBytes: 64 * 1024 }, true);
    const dev = link({ url: b.url });
    await Promise.all([gw.whenOpen(), dev.whenOpen()]);
    await gw.subscribe('big/#', 1);
    await dev.publish('big/x', Buffer.alloc(SIZE, 1), { qos: 1 });
    await dev.publish('big/x', Buffer.alloc(10, 2), { qos: 1 });
    const big = await gw.receive();
    expect([big.payload.length, big.oversized]).toEqual([0, SIZE]);
    big.ack();
    const small = await gw.receive();
    expect([Buffer.from(small.payload).equals(Buffer.alloc(10, 2)), small.oversized]).toEqual([true, undefined]);
    small.ack();
  });
});

// ---- under the link: mqtt.js's own streams for ws://, and through a SOCKS proxy ----

const req = createRequire(createRequire(import.meta.url).resolve('mqtt'));
const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
/** What the reader under test takes before it holds back. */
const TAKEN = 1024 * 1024;
/** Bytes a server has queued that the kernel would not take: its client stopped reading. */
const STUCK = 1024 * 1024;
/** A server stops sending after this much, whoever reads it: a stream reading on is the failure. */
const LIMIT = 64 * 1024 * 1024;

interface Flood {
  readonly port: number;
  /** Bytes written, and the most any connection holds queued, not taken by the kernel. */
  readonly sent: () => number;
  readonly stuck: () => number;
}

async function listen(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as AddressInfo).port;
}

/**
 * A server that sends each connection one chunk per event-loop turn (the reader in this process
 * gets its turns between) while that connection has less than STUCK bytes queued, until LIMIT
 * bytes are sent.
 */
async function floodServer(kind: 'tcp' | 'tls' | 'ws'): Promise<Flood> {
  let sent = 0;
  let closed = false;
  const queues: (() => number)[] = [];
  const sockets = new Set<Socket>();
  cleanups.push(() => {
    closed = true;
    sockets.forEach((s) => s.destroy());
  });
  const flood = (write: (b: Buffer) => void, queued: () => number): void => {
    queues.push(queued);
    // On while queued: the kernel may take more later (a receive window that grows).
    const tick = (): void => {
      if (closed || sent >= LIMIT) return;
      if (queued() < STUCK) {
        write(CHUNK);
        sent += CHUNK.length;
      }
      setImmediate(tick);
    };
    tick();
  };
  const onSocket = (s: Socket): void => {
    sockets.add(s);
    s.on('error', () => {});
    flood((b) => s.write(b), () => s.writableLength);
  };
  const f = { sent: () => sent, stuck: () => Math.max(0, ...queues.map((q) => q())) };
  if (kind === 'tcp') return { port: await listen(createServer(onSocket)), ...f };
  if (kind === 'tls') return { port: await listen(createTlsServer(tls, onSocket)), ...f };
  const ws = req('ws') as typeof import('ws');
  const server = createHttpServer();
  const wss = new ws.WebSocketServer({ server });
  cleanups.push(() => new Promise((r) => wss.close(r)));
  wss.on('connection', (w) => {
    w.on('error', () => {});
    flood((b) => w.send(b), () => w.bufferedAmount);
  });
  return { port: await listen(server), ...f };
}

const STREAMS: Record<string, (port: number, socks: () => Promise<string>) => Promise<Duplex>> = {
  'ws:// (mqtt.js lib/connect/ws, the `ws` package)': async (port) =>
    (req('mqtt/lib/connect/ws') as { streamBuilder: (c: object, o: object) => Duplex }).streamBuilder(new EventEmitter(), { protocol: 'ws', hostname: '127.0.0.1', port, path: '/', protocolId: 'MQTT', protocolVersion: 4 }),
  'mqtt:// through SOCKS (mqtt.js lib/connect/tcp)': async (port, socks) =>
    (req('mqtt/lib/connect/tcp') as { default: (c: object, o: object) => Duplex }).default(new EventEmitter(), { hostname: '127.0.0.1', port, socksProxy: await socks() }),
  'mqtts:// through SOCKS (mqtt.js lib/connect/tls)': async (port, socks) =>
    (req('mqtt/lib/connect/tls') as { default: (c: object, o: object) => Duplex }).default(new EventEmitter(), { hostname: '127.0.0.1', port, socksProxy: await socks(), ca: tls.cert }),
};

describe.each(Object.keys(STREAMS))('the stream mqtt.js builds for %s', (name) => {
  it('stops reading its socket while its reader holds it back: the server behind it cannot send more', async () => {
    const server = await floodServer(name.startsWith('ws') ? 'ws' : name.startsWith('mqtts') ? 'tls' : 'tcp');
    const socks = async (): Promise<string> => `socks5://127.0.0.1:${(await front(socks5Proxy())).port}`;
    const stream = await STREAMS[name]!(server.port, socks);
    cleanups.push(() => stream.destroy());
    stream.on('error', () => {});
    // A reader that takes TAKEN bytes and then holds its write callback: as the PublishLimit does.
    let taken = 0;
    stream.pipe(new Writable({ write: (chunk: Buffer, _e, done) => ((taken += chunk.length) < TAKEN ? done() : undefined) }));
    // The server's bytes stop leaving it only once the kernel buffers between are full: the client
    // stopped reading its socket. A stream that read on would take every byte, up to LIMIT.
    await waitFor(() => server.stuck() >= STUCK || server.sent() >= LIMIT, 20_000, 'the server to have bytes the client no longer reads, or to have sent all');
    expect(server.stuck()).toBeGreaterThanOrEqual(STUCK);
    expect(server.sent()).toBeLessThan(LIMIT);
    expect(taken).toBeGreaterThanOrEqual(TAKEN);
    expect(taken + stream.readableLength).toBeLessThan(TAKEN + 2 * CHUNK.length + stream.readableHighWaterMark);
  });
});
