// Plain TCP relay for the TLS baseline: the same topology as UZP (both peers connect *outbound*
// to a middle box that only forwards bytes). Pairs consecutive connections (1st with 2nd, 3rd with
// 4th, ...) and pipes them both ways with stream backpressure. Prints one JSON line when ready:
//   node relay.mjs [HOST:PORT]   ->  {"event":"listening","address":"HOST:PORT"}
// HOST:PORT defaults to 127.0.0.1:0; the failover bench gives one so that a killed relay comes
// back on the same port (as a killed RN does). Stops on SIGTERM / SIGINT.

import { createServer } from 'node:net';

const [host, portText] = (process.argv[2] ?? '127.0.0.1:0').split(':');
let waiting = null;

const server = createServer({ noDelay: true }, (s) => {
  s.setNoDelay(true);
  s.on('error', () => s.destroy());
  if (waiting === null || waiting.destroyed) {
    waiting = s;
    return;
  }
  const a = waiting;
  waiting = null;
  a.pipe(s);
  s.pipe(a);
  a.on('close', () => s.destroy());
  s.on('close', () => a.destroy());
});

server.on('error', (e) => {
  // EADDRINUSE right after a kill: the failover bench retries.
  process.stderr.write(`relay: ${e.message}\n`);
  process.exit(1);
});
server.listen({ host, port: Number(portText) }, () => {
  const { address, port } = server.address();
  process.stdout.write(JSON.stringify({ event: 'listening', address: `${address}:${port}` }) + '\n');
});

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
// Spawned with an IPC channel by bench/lib/harness.mjs: if the bench dies, so do we.
process.on('disconnect', stop);
process.on('SIGINT', stop);
