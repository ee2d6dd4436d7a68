// What the link bounds of the WebSocket transport (ws://, wss://: mqtt.js's lib/connect/ws over the
// `ws` package, both pinned with mqtt 5.16.0). ws gathers each WebSocket message whole before a
// byte of it is read, so what the TCP transports get from the socket itself is set here.
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

import type { Duplex } from 'node:stream';
import type { IClientOptions } from 'mqtt';

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

