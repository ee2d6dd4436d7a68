// What the link bounds of the WebSocket transport (ws://, wss://: mqtt.js's lib/connect/ws over the
// `ws` package, both pinned with mqtt 5.16.0). ws gathers each WebSocket message whole before a
// byte of it is read, so two things the TCP transports get from the socket itself are set here.
//
// How far the stream reads ahead of a link that holds back. ws's createWebSocketStream pauses its
// WebSocket (and so its TCP socket) only when push() answers false, and Node answers true to a push
// it hands straight to a flowing reader, even when that reader paused the stream while taking it;
// with a readable highWaterMark above 0 it also asks for more while its buffer is empty. So when
// the PublishLimit held a PUBLISH back, the next WebSocket message still came and waited in the
// stream's buffer: two whole messages read past the bound, not one. Here the stream's highWaterMark
// is 0 (mqtt.js passes wsOptions to createWebSocketStream as well as to the WebSocket, whose TCP
// socket then stops after one read once paused) and its push() says false while its reader has
// paused it: what is read past the link's bound is the one message the PublishLimit holds, and
// what ws and its socket had read of the next, a socket read or two. Both are needed: either alone
// leaves the next message in the stream's buffer (measured, 8 MiB messages).
//
// The largest WebSocket message (ws's maxPayload, 100 MiB by default): ws refuses one as soon as a
// frame header shows it is over (a message in one frame: before reading any of it) and closes the
// connection with 1009 (RFC 6455 §7.4.1). A broker may send each MQTT packet as one message
// (mosquitto's libwebsockets listener writes each packet with one lws_write), pack several into one
// or split one (MQTT 3.1.1 §6.0, MQTT 5 §6: "a single WebSocket data frame can contain multiple or
// partial MQTT Control Packets"; a bridge that pipes bytes sends each socket read). So the bound
// fits a PUBLISH sent as one message: max_payload_bytes, or the receive byte bound when larger (a
// PUBLISH between the two still comes, dropped as oversized, as over TCP), plus its headers; a
// broker packing more than that into one message is refused too. A larger message closes the
// connection; on a persistent session a QoS 1/2 one comes again at every reconnect, so the link's
// error says what to do (webSocketRefusal), and its connection-lost line carries it.

import type { Duplex } from 'node:stream';
import type { IClientOptions } from 'mqtt';
import { VARIABLE_HEADER_MAX } from './mqtt-publish-limit.js';

/** MQTT's largest packet: remaining length 268,435,455 (§2.2.3) and a 5-byte fixed header. */
const MQTT_PACKET_MAX = 268_435_455 + 5;
/** ws's code for a message over maxPayload, closed with 1009 (Message Too Big). */
const TOO_BIG = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/**
 * The largest WebSocket message the link reads: the larger of `maxPayloadBytes` (undefined: no
 * bound, MQTT's own) and `receiveBytes`, plus a PUBLISH's headers (fixed header, and the variable
 * header the PublishLimit parses: topic, packet id, MQTT 5 properties).
 */
export function webSocketMessageMax(maxPayloadBytes: number | undefined, receiveBytes: number): number {
  return Math.min(MQTT_PACKET_MAX, Math.max(maxPayloadBytes ?? MQTT_PACKET_MAX, receiveBytes) + 5 + VARIABLE_HEADER_MAX);
}

/** `options` with the stream's read-ahead off; what the caller's wsOptions say wins. */
export function webSocketOptions(options: IClientOptions): IClientOptions {
  return { ...options, wsOptions: { readableHighWaterMark: 0, ...options.wsOptions } };
}

/** ws's stream `s`, its push() answering false while its reader has paused it (see the header). */
export function stopWithReader<S extends Duplex>(s: S): S {
  const push = s.push.bind(s);
  s.push = ((chunk: unknown, encoding?: BufferEncoding) => push(chunk, encoding) && s.readableFlowing !== false) as S['push'];
  return s;
}

/**
 * When `e` is ws's refusal of a message over `maxMessage` bytes: what happened and what to do, for
 * the link's lastError and its connection-lost line. Otherwise undefined.
 */
export function webSocketRefusal(e: unknown, maxMessage: number): string | undefined {
  if ((e as { code?: unknown } | null)?.code !== TOO_BIG) return undefined;
  return (
    `the broker sent a WebSocket message over ${maxMessage} bytes (the larger of max_payload_bytes and the receive byte bound, plus headers); ` +
    'the connection was closed with 1009 (Message Too Big). On a persistent session a QoS 1/2 message that large comes again at every reconnect: ' +
    'raise max_payload_bytes to at least its size, or reach the broker over mqtt:// or mqtts://, where a payload over max_payload_bytes is dropped as it arrives'
  );
}
