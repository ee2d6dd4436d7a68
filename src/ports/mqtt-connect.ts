// Opening an mqtt.js client with only the transport the broker URL names. mqtt.js's own connect()
// loads every transport it has at the first call: WebSocket (the `ws` package, node:http, https,
// tls, zlib), TLS and SOCKS (node:dns). A gateway bridging plain mqtt:// brokers paid ~4 MB of RSS
// for code it never ran (docs/BENCH.md "gateway-rss", thirteenth stop). Here mqtt:// and
// tcp:// build a node:net stream, mqtts:// loads node:tls on first use, and ws:// / wss:// hand the
// URL to mqtt.js's connect(), which loads the rest then (so does a SOCKS proxy). Options mean what they mean to mqtt.js's
// connect(): the URL gives host, port and credentials (user:password@), options override them.
//
// Every transport's stream goes through the caller's `wrap` before mqtt.js reads it (the receive
// side's byte bound stops reading it: mqtt-receive.ts), mqtt.js's own WebSocket and SOCKS streams
// too: their client is made with manualConnect and its stream builder wrapped before it connects.
// A WebSocket stream is first made to read no message ahead of a reader that holds back, the
// caller's wsOptions kept (mqtt-websocket.ts).
//
// mqtt.js is CommonJS and loaded with require (one copy however it is loaded; start() stays sync).
// Also here: what the link reads of mqtt.js's answers (topic filter check, reason codes, SUBACK
// codes) and the typed error it turns a failure into.

import { createRequire } from 'node:module';
import { createConnection, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IClientOptions, MqttClient } from 'mqtt';
import { CodedError } from '../lib/errors.js';
import { describeError } from './log.js';
import { MqttRefusedError, PortIoError } from './errors.js';
import { stopWithReader, webSocketOptions } from './mqtt-websocket.js';

export type QoS = 0 | 1 | 2;

const req = createRequire(import.meta.url);

type ClientCtor = new (streamBuilder: (client: MqttClient) => Socket, options: IClientOptions) => MqttClient;

let clientCtor: ClientCtor | undefined;
let validations: { validateTopic(topic: string): boolean } | undefined;
let shared:
  | {
      ErrorWithReasonCode: new (...a: never[]) => Error & { code: number };
      ErrorWithSubackPacket: new (...a: never[]) => Error & { packet?: { granted?: unknown } };
    }
  | undefined;

/** Default ports per scheme, as mqtt.js's transports use them. */
const DEFAULT_PORT: Readonly<Record<string, number>> = { mqtt: 1883, tcp: 1883, mqtts: 8883, tls: 8883, ssl: 8883 };

/** Gets each new connection's stream before mqtt.js does, and gives mqtt.js the stream to read. */
export type StreamWrap = <S extends Duplex>(s: S) => S;

/**
 * An mqtt.js client for `url`, connecting at once. Throws (synchronously, as mqtt.js's connect()
 * does) on a URL without a known scheme or with a bad port. `wrap` gets each new stream before
 * mqtt.js does, whatever the transport (TCP, TLS, WebSocket, through a SOCKS proxy).
 */
export function openMqttClient(url: string, options: IClientOptions, wrap: StreamWrap = (s) => s): MqttClient {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(url)}`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  // WebSockets, and any connection through a SOCKS proxy (the socksProxy option, or mqtt.js's
  // MQTTJS_SOCKS_PROXY environment variable): mqtt.js's own connect() does them.
  const socks = options.socksProxy !== undefined ? options.socksProxy !== '' : (process.env['MQTTJS_SOCKS_PROXY'] ?? '') !== '';
  if (scheme === 'ws' || scheme === 'wss') {
    return mqttJsConnect(url, webSocketOptions(options), <S extends Duplex>(s: S): S => wrap(stopWithReader(s)));
  }
  if (socks) return mqttJsConnect(url, options, wrap);
  const port = DEFAULT_PORT[scheme];
  if (port === undefined) throw new Error(`unknown protocol ${JSON.stringify(scheme)} (mqtt, mqtts, ws or wss)`);
  // As mqtt.js: a persistent session under a random client id would never be found again.
  if (options.clean === false && options.clientId === undefined) throw new Error('Missing clientId for unclean clients');
  const o: IClientOptions = { ...options };
  // As mqtt.js: user:password in the URL, unless the options name them.
  if (u.username !== '' && o.username === undefined) o.username = decodeURIComponent(u.username);
  if (u.password !== '' && o.password === undefined) o.password = decodeURIComponent(u.password);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const p = u.port === '' ? port : Number(u.port);
  o.protocol = scheme as IClientOptions['protocol'];
  o.host = host;
  o.port = p;
  const tls = port === 8883;
  const client = new (mqttClientCtor())(() => wrap(tls ? tlsStream(host, p, o) : netStream(host, p)), o);
  // As mqtt.js's connect(): an 'error' with no listener of the caller's must not end the process.
  client.on('error', () => {});
  return client;
}

/** MQTT topic filter rules (# only last, + a whole level), mqtt.js's own check. */
export function validTopicFilter(filter: string): boolean {
  validations ??= req('mqtt/lib/validations') as NonNullable<typeof validations>;
  return validations.validateTopic(filter);
}

/** The broker's reason code when `e` is mqtt.js's error carrying one (SUBACK 0x80, MQTT 5 codes). */
export function reasonCodeOf(e: unknown): number | undefined {
  shared ??= req('mqtt/lib/shared') as NonNullable<typeof shared>;
  if (e instanceof shared.ErrorWithReasonCode) return e.code;
  return subackCodesOf(e)?.find((g) => g >= 0x80);
}

/**
 * SUBSCRIBE `map` and give each filter's SUBACK code (>= 0x80: refused). mqtt.js 5 rejects the
 * whole SUBSCRIBE once any filter is refused, with the SUBACK attached; that is read here. Rejects
 * with mqtt.js's error when no SUBACK came (the connection closed first).
 */
export async function subscribeCodes(c: MqttClient, map: Record<string, { qos: QoS; rh?: 1 }>): Promise<Map<string, number>> {
  // mqtt.js sends the filters in this order, and the SUBACK's codes follow it.
  const order = Object.keys(map);
  let codes: number[];
  try {
    const grants = await c.subscribeAsync(map);
    codes = order.map((f) => grants.find((g) => g.topic === f)?.qos ?? 0);
  } catch (e) {
    const suback = subackCodesOf(e);
    if (suback === undefined || suback.length !== order.length) throw e;
    codes = suback;
  }
  return new Map(order.map((f, i) => [f, codes[i]!]));
}

/**
 * `e` (a failed publish or subscribe) as a typed error: MqttRefusedError (MQTT_REFUSED) when the
 * broker refused with a reason code >= 0x80, else PortIoError (PORT_IO: the connection failed it).
 */
export function mqttError(e: unknown, what: string): CodedError {
  if (e instanceof CodedError) return e;
  const code = reasonCodeOf(e);
  if (code !== undefined && code >= 0x80) return new MqttRefusedError(`${what}: ${(e as Error).message} (reason 0x${code.toString(16)})`, code);
  return new PortIoError(`${what}: ${describeError(e)}`, { cause: e });
}

/**
 * The SUBACK's return codes when `e` is mqtt.js 5's ErrorWithSubackPacket (one code per filter, in
 * the order subscribed, granted ones too). The same class without a packet is a connection that
 * closed before the SUBACK.
 */
function subackCodesOf(e: unknown): number[] | undefined {
  shared ??= req('mqtt/lib/shared') as NonNullable<typeof shared>;
  if (!(e instanceof shared.ErrorWithSubackPacket)) return undefined;
  const g = e.packet?.granted;
  return Array.isArray(g) && g.every((x) => typeof x === 'number') ? (g as number[]) : undefined;
}

/**
 * mqtt.js's own connect() (its WebSocket and SOCKS transports, options as it reads them), with
 * `wrap` between each stream its transport builds and the client: without it those streams were
 * read as fast as the broker sent, and the receive side's byte bound held nothing back (the broker's
 * in-flight window of max_payload_bytes messages was the bound). connect() hands its stream builder
 * to the client, which calls it at connect() and at every reconnect(): the client is made without
 * connecting (manualConnect, mqtt.js's documented option), its builder wrapped (a plain field of
 * mqtt 5.16.0, pinned; private in its types), then connected as connect() would have.
 */
function mqttJsConnect(url: string, options: IClientOptions, wrap: StreamWrap): MqttClient {
  const client = (req('mqtt') as typeof import('mqtt')).connect(url, { ...options, manualConnect: true });
  const internals = client as unknown as { streamBuilder?: (c: MqttClient) => Duplex };
  const build = internals.streamBuilder;
  // Not connected yet: nothing of it to close.
  if (typeof build !== 'function') throw new Error('this mqtt.js has no streamBuilder to wrap; the WebSocket and SOCKS transports are written against mqtt 5.16.0');
  internals.streamBuilder = (c) => wrap(build(c));
  // Back to the caller's value, which end() reads too (as the TCP / TLS client above does).
  if (options.manualConnect === undefined) delete client.options.manualConnect;
  else client.options.manualConnect = options.manualConnect;
  if (options.manualConnect !== true) client.connect();
  return client;
}

function mqttClientCtor(): ClientCtor {
  return (clientCtor ??= (req('mqtt/lib/client') as { default: ClientCtor }).default);
}

function netStream(host: string, port: number): Socket {
  return createConnection({ host, port });
}

/** As mqtt.js's tls transport: SNI from a host name, certificates checked unless told otherwise. */
function tlsStream(host: string, port: number, o: IClientOptions): Socket {
  const tls = process.getBuiltinModule('node:tls');
  const rejectUnauthorized = o.rejectUnauthorized !== false;
  return tls.connect({
    host,
    port,
    rejectUnauthorized,
    ...(isIP(host) === 0 ? { servername: o.servername ?? host } : {}),
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.cert !== undefined ? { cert: o.cert } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
  });
}
