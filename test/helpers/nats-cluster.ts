// A throwaway NATS cluster for the rendezvous fabric's tests (issue #16): n `nats-server`
// processes on free loopback ports (clients, routes and the HTTP monitor all on 127.0.0.1), routed
// to each other as one cluster. Each is stopped by its own pid (SIGTERM, SIGKILL after a bound);
// kill(i) is a crash (SIGKILL) and restart(i) brings that node back on the same ports. An exit hook
// reaps what a failing test left. With `noAdvertise`, a node does not tell its clients of the
// others, so a client given one node stays off NATS while that node is down. Installed by
// scripts/ensure-system-packages.sh (Debian `nats-server`; /usr/sbin is searched too, it is not on
// every PATH).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { delimiter, join } from 'node:path';
import { freeLoopbackPort } from './free-port.js';

/** Bounds against a hang, not expectations. */
const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const STDERR_KEEP = 16 * 1024;

export interface NatsNode {
  readonly name: string;
  /** nats://127.0.0.1:PORT, for clients. */
  readonly url: string;
  readonly clusterPort: number;
  readonly monitorPort: number;
  pid: number;
}

interface Proc {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  stderr: string;
}

const live = new Set<number>();
process.once('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** The nats-server binary, or undefined when it is not installed. */
export function natsServerPath(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'].filter((d) => d !== '');
  return dirs.map((d) => join(d, 'nats-server')).find((p) => existsSync(p));
}

/** GET a JSON page of a node's monitor (/varz, /routez …). */
export function monitor(node: NatsNode, page: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port: node.monitorPort, path: `/${page}`, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`monitor of ${node.name}: no answer`)));
    req.on('error', reject);
  });
}

/** Client credentials every node requires (nats-server --user / --pass). */
export interface NatsAuth {
  readonly user: string;
  readonly pass: string;
}

export interface NatsClusterOptions {
  /** Nodes do not advertise the cluster's other nodes to clients (nats-server --no_advertise). */
  readonly noAdvertise?: boolean;
}

export class NatsCluster {
  private readonly procs = new Map<number, Proc>();

  private constructor(
    private readonly bin: string,
    readonly nodes: NatsNode[],
    private auth: NatsAuth | undefined,
    private readonly o: NatsClusterOptions,
  ) {}

  /** Starts `n` routed nodes and resolves once each has a route to every other. */
  static async start(n = 3, auth?: NatsAuth, o: NatsClusterOptions = {}): Promise<NatsCluster> {
    const bin = natsServerPath();
    if (bin === undefined) throw new Error('nats-server not found (scripts/ensure-system-packages.sh installs Debian\'s nats-server)');
    // A port found free can be taken before the node binds it (often by another node's outbound
    // route, whose local port comes from the same range): then the whole cluster starts again on
    // fresh ports, a few times.
    for (let attempt = 1; ; attempt++) {
      const nodes: NatsNode[] = [];
      for (let i = 0; i < n; i++) nodes.push({ name: `n${i + 1}`, url: `nats://127.0.0.1:${await freeLoopbackPort()}`, clusterPort: await freeLoopbackPort(), monitorPort: await freeLoopbackPort(), pid: 0 });
      const c = new NatsCluster(bin, nodes, auth, o);
      try {
        for (let i = 0; i < n; i++) c.launch(i);
        await c.waitRouted(nodes.map((_, i) => i));
        return c;
      } catch (e) {
        const portTaken = [...c.procs.values()].some((p) => p.stderr.includes('address already in use'));
        await c.stop();
        if (!portTaken || attempt === 3) throw e;
      }
    }
  }

  private launch(i: number): void {
    const node = this.nodes[i]!;
    const routes = this.nodes.filter((x) => x !== node).map((x) => `nats://127.0.0.1:${x.clusterPort}`);
    const args = ['-a', '127.0.0.1', '-p', node.url.split(':').pop()!, '-n', node.name, '--cluster_name', 'uzp-test', '--cluster', `nats://127.0.0.1:${node.clusterPort}`, '--routes', routes.join(','), '-m', String(node.monitorPort)];
    if (this.auth !== undefined) args.push('--user', this.auth.user, '--pass', this.auth.pass);
    if (this.o.noAdvertise === true) args.push('--no_advertise');
    const proc = spawn(this.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const p: Proc = { proc, exited: new Promise((r) => proc.once('exit', () => r())), stderr: '' };
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (p.stderr = (p.stderr + s).slice(-STDERR_KEEP)));
    node.pid = proc.pid!;
    live.add(node.pid);
    void p.exited.then(() => live.delete(proc.pid!));
    this.procs.set(i, p);
  }

  /** Resolves once every node in `which` answers its monitor with a route to each other node in `which`. */
  async waitRouted(which: readonly number[]): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const counts = await Promise.all(which.map((i) => monitor(this.nodes[i]!, 'routez').then((r) => Number(r.num_routes ?? 0), () => -1)));
      if (counts.every((c) => c >= which.length - 1)) return;
      const dead = which.filter((i) => this.procs.get(i)?.proc.exitCode !== null);
      if (Date.now() > deadline || dead.length > 0) {
        const logs = which.map((i) => `${this.nodes[i]!.name}: ${this.procs.get(i)?.stderr.trim().split('\n').slice(-3).join(' | ')}`).join('\n');
        throw new Error(`NATS cluster not routed within ${START_TIMEOUT_MS} ms (routes ${counts.join(', ')}):\n${logs}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Node i stops reading and writing (SIGSTOP): what peers send it stays in its sockets' buffers, so
   * a kill() that follows surely loses data in flight. kill() works on a frozen node.
   */
  freeze(i: number): void {
    if (this.procs.has(i)) process.kill(this.nodes[i]!.pid, 'SIGSTOP');
  }

  /** A crash: SIGKILL to node i's pid; resolves once it is gone. */
  async kill(i: number): Promise<void> {
    const p = this.procs.get(i);
    if (p === undefined) return;
    try {
      process.kill(this.nodes[i]!.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await p.exited;
    this.procs.delete(i);
  }

  /** Node i again, on the same ports (with `auth` from now on, if given); resolves once it is routed to the nodes that are up. */
  async restart(i: number, auth?: NatsAuth): Promise<void> {
    await this.kill(i);
    if (auth !== undefined) this.auth = auth;
    this.launch(i);
    await this.waitRouted([...this.procs.keys()]);
  }

  /** SIGTERM to every node by pid, SIGKILL after a bound. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.entries()].map(async ([i, p]) => {
        const pid = this.nodes[i]!.pid;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          return;
        }
        const timer = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }, STOP_GRACE_MS);
        await p.exited;
        clearTimeout(timer);
      }),
    );
    this.procs.clear();
  }
}
