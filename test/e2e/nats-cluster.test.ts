// What the rendezvous fabric of issue #16 will rely on, checked against a real 3-node NATS cluster
// on loopback (test/helpers/nats-cluster.ts; every node stopped by its pid):
//   - interest is routed across the cluster: a subject subscribed at one node gets what another
//     node's client publishes (JOIN routing to the RN that holds a CID);
//   - a request to a subject nobody subscribes to is answered at once with a 503 "no responders"
//     status (a JOIN for a CID no RN holds: refused now, not after a timeout);
//   - a subscriber whose connection dies takes its interest with it (a dead RN's presence vanishes
//     with its connection; nothing to expire by hand);
//   - a node killed with SIGKILL leaves the other two routed and carrying messages, and comes back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsCluster, monitor } from '../helpers/nats-cluster.js';
import { pidAlive } from '../helpers/processes.js';
import { NatsWire } from '../helpers/nats-wire.js';

let cluster: NatsCluster;
const clients: NatsWire[] = [];
const open = async (node: number): Promise<NatsWire> => {
  const w = await NatsWire.open(cluster.nodes[node]!.url);
  clients.push(w);
  return w;
};

beforeAll(async () => {
  cluster = await NatsCluster.start(3);
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  const pids = cluster?.nodes.map((n) => n.pid) ?? [];
  await cluster?.stop();
  expect(pids.filter(pidAlive)).toEqual([]);
});

/** Waits until `node` sees interest in `subject` from another node (interest propagates asynchronously). */
async function untilDelivered(from: NatsWire, to: NatsWire, subject: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    from.pub(subject, `probe ${i}`);
    try {
      await to.next((m) => m.subject === subject, 100);
      return;
    } catch {
      // interest not there yet
    }
  }
  throw new Error(`${subject}: never delivered`);
}

describe('a 3-node NATS cluster on loopback (the fabric’s substrate)', () => {
  it('forms a full mesh of routes, every port on 127.0.0.1', async () => {
    for (const n of cluster.nodes) {
      const varz = await monitor(n, 'varz');
      expect(varz.host).toBe('127.0.0.1');
      expect((await monitor(n, 'routez')).num_routes).toBe(2);
    }
  });

  it('routes a subscription at one node to a publisher at another', async () => {
    const rn1 = await open(0);
    const rn3 = await open(2);
    rn1.sub('uzp.join.aaaa');
    await rn1.flush();
    await untilDelivered(rn3, rn1, 'uzp.join.aaaa');
  });

  it('answers a request nobody subscribes to at once with 503 (no responders)', async () => {
    const c = await open(1);
    c.sub('_INBOX.t1');
    await c.flush();
    const t0 = performance.now();
    c.pub('uzp.join.nobody', 'join', '_INBOX.t1');
    const m = await c.next((x) => x.subject === '_INBOX.t1');
    expect(m.status).toBe('NATS/1.0 503');
    expect(performance.now() - t0).toBeLessThan(5000); // a hang guard: the answer is a status, not a timeout
  });

  it('a subscriber whose connection dies takes its interest with it', async () => {
    const holder = await open(0);
    const asker = await open(2);
    holder.sub('uzp.join.bbbb');
    await holder.flush();
    await untilDelivered(asker, holder, 'uzp.join.bbbb');
    holder.destroy();
    asker.sub('_INBOX.t2.*');
    await asker.flush();
    // Until the cluster has dropped the dead client's interest a request may still be routed to it
    // (and then go unanswered): ask again, each time on an inbox of its own, until the 503 comes.
    for (let i = 0; ; i++) {
      asker.pub('uzp.join.bbbb', 'join', `_INBOX.t2.${i}`);
      const got = await asker.next((x) => x.subject === `_INBOX.t2.${i}`, 500).catch(() => undefined);
      if (got?.status === 'NATS/1.0 503') break;
      if (i > 50) throw new Error('interest of a dead subscriber never went away');
    }
  });

  it('a node killed with SIGKILL leaves the other two routed and carrying messages; it comes back', async () => {
    const killed = cluster.nodes[1]!.pid;
    await cluster.kill(1);
    expect(pidAlive(killed)).toBe(false);
    await cluster.waitRouted([0, 2]);
    const a = await open(0);
    const b = await open(2);
    b.sub('uzp.join.cccc');
    await b.flush();
    await untilDelivered(a, b, 'uzp.join.cccc');
    await cluster.restart(1);
    for (const n of cluster.nodes) expect((await monitor(n, 'routez')).num_routes).toBe(2);
  });
});
