// What may stand between the gateway and a real broker, each a loopback server of the test's own
// that passes bytes on unchanged, with backpressure both ways (pipe), as the real one would:
//   * socks5Proxy: a SOCKS5 proxy (RFC 1928: no authentication, CONNECT to an IPv4 address);
//   * wsBridge: a WebSocket listener (ws://, or wss:// given a certificate) in front of a TCP one.
//     mosquitto as Debian 12 builds it has no websockets support (`listener N` + `protocol
//     websockets` exits "Unable to start any listening sockets"), so ws:// reaches a plain listener
//     through this. Each chunk from the broker goes as one binary WebSocket message (MQTT 3.1.1
//     §6: a message may hold part of a packet, or several). Built from the `ws` package mqtt.js
//     itself uses for ws://;
//   * tlsFront: a TLS listener (mqtts://) in front of a TCP one.

import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { connect as connectTcp, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
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

/** ws://127.0.0.1:port (wss://localhost:port with `tls`) in front of the TCP listener at `target`. */
export async function wsBridge(target: number, tls?: { readonly key: Buffer; readonly cert: Buffer }): Promise<Front & { readonly url: string }> {
  const ws = createRequire(createRequire(import.meta.url).resolve('mqtt'))('ws') as typeof import('ws');
  const streams = new Set<Duplex>();
  const server = tls === undefined ? createHttpServer() : createHttpsServer(tls);
  const wss = new ws.WebSocketServer({ server });
  wss.on('connection', (socket) => relay(ws.createWebSocketStream(socket), connectTcp({ host: '127.0.0.1', port: target }), streams));
  const front = await listening(server, streams);
  return {
    port: front.port,
    url: tls === undefined ? `ws://127.0.0.1:${front.port}` : `wss://localhost:${front.port}`,
    close: async () => {
      await new Promise((r) => wss.close(r));
      await front.close();
    },
  };
}

/** A TLS listener (certificate for localhost / 127.0.0.1) in front of the TCP listener at `target`. */
export async function tlsFront(target: number, tls: { readonly key: Buffer; readonly cert: Buffer }): Promise<Front> {
  const streams = new Set<Duplex>();
  const server = createTlsServer(tls, (s) => relay(s, connectTcp({ host: '127.0.0.1', port: target }), streams));
  return listening(server, streams);
}

/** Bytes both ways between `a` and `b`; either one closing or failing closes both. */
function relay(a: Duplex, b: Duplex, open: Set<Duplex>): void {
  const end = (): void => {
    a.destroy();
    b.destroy();
    open.delete(a);
    open.delete(b);
  };
  open.add(a).add(b);
  a.pipe(b);
  b.pipe(a);
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
