// Plain TCP relay for the TLS baseline: the same topology as UZP (both peers connect *outbound*
// to a middle box that only forwards bytes). Pairs consecutive connections (1st with 2nd, 3rd with
// 4th, ...) and pipes them both ways with stream backpressure. Prints one JSON line when ready:
//   {"event":"listening","address":"127.0.0.1:PORT"}
// Stops on SIGTERM / SIGINT.

import { createServer } from 'node:net';

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

server.listen({ host: '127.0.0.1', port: 0 }, () => {
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
