// TCP relay of the failover bench's TLS baseline: bench/lib/relay.mjs (pairs consecutive
// connections and pipes them both ways), but on a given address, so that a killed relay can be
// restarted on the same port (as the killed RN is). Killing it (SIGKILL) closes both TCP
// connections of every pair from the kernel, which is how the TLS peers learn of the loss.
//   node failover-relay.mjs HOST:PORT   ->  {"event":"listening","address":"HOST:PORT"}
// Stops on SIGTERM / SIGINT or when the parent's IPC channel closes.

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
  // EADDRINUSE right after a kill: the bench retries.
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
process.on('disconnect', stop);
process.on('SIGINT', stop);
