// TLS 1.3 baseline of the rn-memory bench: a node:tls server holding idle mutually authenticated
// connections (Ed25519 certificates from bench/lib/certs.mjs), i.e. what a user would run instead
// of an RN to keep N endpoints connected. Reads and discards data, as the RN reads its links.
//   node tls-server.mjs PKI_DIR     ->  {"event":"listening","address":"127.0.0.1:PORT"}
// Stops on SIGTERM / SIGINT.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';

const dir = process.argv[2];
const pem = (f) => readFileSync(join(dir, f), 'utf8');
const sockets = new Set();

const server = createServer(
  { key: pem('server.key'), cert: pem('server.crt'), ca: [pem('ca.crt')], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
  (s) => {
    sockets.add(s);
    s.on('data', () => {});
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
  },
);
server.on('tlsClientError', () => {});

server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const { address, port } = server.address();
  process.stdout.write(JSON.stringify({ event: 'listening', address: `${address}:${port}` }) + '\n');
});

const stop = () => {
  for (const s of sockets) s.destroy();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
// Spawned with an IPC channel by bench/lib/harness.mjs: if the bench dies, so do we.
process.on('disconnect', stop);
process.on('SIGINT', stop);
