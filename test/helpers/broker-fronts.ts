// What may stand between the gateway and a real broker, each a loopback server of the test's own
// that passes bytes on unchanged, with backpressure both ways (pipe), as the real one would:
//   * socks5Proxy: a SOCKS5 proxy (RFC 1928: no authentication, CONNECT to an IPv4 address);
//   * wsBridge: a WebSocket listener (ws://, or wss:// given a certificate) in front of a TCP one.
//     mosquitto as Debian 12 builds it has no websockets support (`listener N` + `protocol
//     websockets` exits "Unable to start any listening sockets"), so ws:// reaches a plain listener
//     through this. By default each chunk from the broker goes as one binary WebSocket message (MQTT
//     3.1.1 §6, MQTT 5 §6: a message may hold part of a packet, or several), as a bridge that pipes
//     bytes does; or each MQTT packet whole as one message, as mosquitto's own websockets listener
//     sends them (one lws_write per packet), so a PUBLISH is one message ws gathers whole. Built
//     from the `ws` package mqtt.js itself uses for ws://;
//   * tlsFront: a TLS listener (mqtts://) in front of a TCP one.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { connect as connectTcp, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Transform, Writable, type Duplex, type TransformCallback } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';

export interface Front {
  readonly port: number;
  close(): Promise<void>;
}

/** A minimal SOCKS5 proxy recording its targets. */
export async function socks5Proxy(): Promise<Front & { readonly targets: string[] }> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    client.once('data', (hello) => {
      if (hello[0] !== 5) return void client.destroy();
      client.write(Buffer.from([5, 0])); // version 5, no authentication
      client.once('data', (req) => {
        if (req[0] !== 5 || req[1] !== 1 || req[3] !== 1) return void client.destroy(); // CONNECT, IPv4 only
        const host = [...req.subarray(4, 8)].join('.');
        const port = req.readUInt16BE(8);
        targets.push(`${host}:${port}`);
        const upstream = connectTcp({ host, port }, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])); // succeeded
          client.pipe(upstream);
          upstream.pipe(client);
        });
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
    });
  });
  return { ...(await listening(server, sockets)), targets };
}

export interface WsBridgeOptions {
  /** wss://localhost:port with this certificate. */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  /** Each chunk from the broker as one message (default), or each MQTT packet whole as one message. */
  readonly framing?: 'chunks' | 'packets';
  /**
   * 'packets': the most bytes of one WebSocket frame (default: a packet in one frame). Smaller, a
   * packet goes as one message in several frames (RFC 6455 §5.4), one frame per event-loop turn
   * while less than PACE bytes wait unsent: so `stuck()` reaches PACE only once the client stops
   * reading (the kernel's buffers between are full), never while it reads.
   */
  readonly frameBytes?: number;
}

/** A 'packets' bridge sends no more frames while this many bytes wait for the kernel to take them. */
export const PACE = 1024 * 1024;

export interface WsBridge extends Front {
  readonly url: string;
  /** Close codes the clients sent (RFC 6455 §7.4: 1009, a message too big to process). */
  readonly closeCodes: number[];
  /** The most bytes any connection has waiting to be sent (ws's bufferedAmount). */
  stuck(): number;
}

/** ws://127.0.0.1:port (wss://localhost:port with `tls`) in front of the TCP listener at `target`. */
export async function wsBridge(target: number, opts: WsBridgeOptions = {}): Promise<WsBridge> {
  const ws = createRequire(createRequire(import.meta.url).resolve('mqtt'))('ws') as typeof import('ws');
  const streams = new Set<Duplex>();
  const clients = new Set<import('ws').WebSocket>();
  const closeCodes: number[] = [];
  const server = opts.tls === undefined ? createHttpServer() : createHttpsServer(opts.tls);
  const wss = new ws.WebSocketServer({ server });
  wss.on('connection', (socket) => {
    clients.add(socket);
    socket.on('close', (code) => (clients.delete(socket), closeCodes.push(code)));
    const broker = connectTcp({ host: '127.0.0.1', port: target });
    const down = opts.framing === 'packets' ? (): unknown => broker.pipe(new MqttPackets()).pipe(packetSender(socket, opts.frameBytes ?? Infinity)) : undefined;
    relay(ws.createWebSocketStream(socket), broker, streams, down);
  });
  const front = await listening(server, streams);
  return {
    port: front.port,
    url: opts.tls === undefined ? `ws://127.0.0.1:${front.port}` : `wss://localhost:${front.port}`,
    closeCodes,
    stuck: () => Math.max(0, ...[...clients].map((c) => c.bufferedAmount)),
    close: async () => {
      await new Promise((r) => wss.close(r));
      await front.close();
    },
  };
}

/** Cuts the broker's bytes into whole MQTT packets (§2.2: fixed header, remaining length), one chunk each. */
class MqttPackets extends Transform {
  private pending: Buffer[] = [];
  private have = 0;

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.have += chunk.length;
    for (;;) {
      // The fixed header (at most 5 bytes) in the first buffer.
      if (this.pending.length > 1 && this.pending[0]!.length < 5) this.pending = [Buffer.concat(this.pending)];
      const size = packetSize(this.pending[0]);
      if (size === undefined || this.have < size) break;
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.push(all.subarray(0, size));
      this.pending = all.length > size ? [all.subarray(size)] : [];
      this.have = all.length - size;
    }
    done();
  }
}

function packetSize(b: Buffer | undefined): number | undefined {
  let remaining = 0;
  for (let i = 1; i <= 4 && b !== undefined && i < b.length; i++) {
    remaining += (b[i]! & 0x7f) * 128 ** (i - 1);
    if ((b[i]! & 0x80) === 0) return 1 + i + remaining;
  }
  return undefined;
}

/** Sends each packet written to it as one binary WebSocket message, in frames of at most `frameBytes`. */
function packetSender(socket: import('ws').WebSocket, frameBytes: number): Writable {
  return new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(packet: Buffer, _enc, done) {
      let at = 0;
      const frame = (): void => {
        if (socket.readyState !== socket.OPEN) return done();
        if (socket.bufferedAmount < PACE) {
          const end = Math.min(at + frameBytes, packet.length);
          socket.send(packet.subarray(at, end), { binary: true, fin: end === packet.length });
          if ((at = end) === packet.length) return done();
        }
        setImmediate(frame);
      };
      frame();
    },
  });
}

/** A TLS listener (certificate for localhost / 127.0.0.1) in front of the TCP listener at `target`. */
export async function tlsFront(target: number, tls: { readonly key: Buffer; readonly cert: Buffer }): Promise<Front> {
  const streams = new Set<Duplex>();
  const server = createTlsServer(tls, (s) => relay(s, connectTcp({ host: '127.0.0.1', port: target }), streams));
  return listening(server, streams);
}

/** Bytes both ways between `a` and `b` (`down` instead of b.pipe(a)); either one closing or failing closes both. */
function relay(a: Duplex, b: Duplex, open: Set<Duplex>, down = (): unknown => b.pipe(a)): void {
  const end = (): void => {
    a.destroy();
    b.destroy();
    open.delete(a);
    open.delete(b);
  };
  open.add(a).add(b);
  a.pipe(b);
  down();
  for (const s of [a, b]) s.on('error', end).on('close', end);
}

async function listening(server: Server | ReturnType<typeof createHttpServer>, open: Set<Duplex>): Promise<Front> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of open) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
