// A NATS cluster for the fabric bench (issue #16): `nats-server` nodes on free loopback ports,
// routed to each other, tracked by the harness (stopped by pid). Debian's nats-server, installed
// by scripts/ensure-system-packages.sh (it lives in /usr/sbin, not always on PATH).

import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { sleep, spawnProgram } from './harness.mjs';

function natsServer() {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']) {
    const p = join(dir, 'nats-server');
    if (existsSync(p)) return p;
  }
  throw new Error('nats-server not found (scripts/ensure-system-packages.sh installs Debian\'s nats-server)');
}

export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function routes(monitorPort) {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port: monitorPort, path: '/routez' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(Number(JSON.parse(body).num_routes ?? 0));
        } catch {
          resolve(-1);
        }
      });
    }).on('error', () => resolve(-1));
  });
}

/** Starts `n` routed nodes; resolves with their client URLs once every node routes to the others. */
export async function startNatsCluster(n) {
  const bin = natsServer();
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  const procs = nodes.map((node, i) =>
    spawnProgram(`nats-${i}`, bin, ['-a', '127.0.0.1', '-p', String(node.client), '-n', `n${i}`, '--cluster_name', 'uzp-bench', '--cluster', `nats://127.0.0.1:${node.cluster}`, '--routes', nodes.filter((x) => x !== node).map((x) => `nats://127.0.0.1:${x.cluster}`).join(','), '-m', String(node.monitor)]),
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const counts = await Promise.all(nodes.map((x) => routes(x.monitor)));
    if (counts.every((c) => c >= n - 1)) break;
    if (Date.now() > deadline || procs.some((p) => p.exitCode !== null)) throw new Error(`NATS cluster not routed (routes ${counts.join(', ')}): ${procs.map((p) => p.stderrTail.slice(-300)).join(' | ')}`);
    await sleep(100);
  }
  return { urls: nodes.map((x) => `nats://127.0.0.1:${x.client}`), procs };
}
