// This RN's NATS connection closed for good (fabric.ts watch(): the client gave up, not close()):
// two in-process RNs on a real nats-server. Before, the fabric was dropped from the switchboard but
// the halves of the stitches across stayed up, their EPs stitched on a path nothing crosses any
// more (never told, for a session without PoR). Now each ends as for a far RN gone: the EP hears
// UNSTITCH 4 and its continuity re-stitches; one log line for all of them (fabric_lost). The far
// RN ends its halves when it finds this one absent, or, as RnServer joins again at once, on this
// RN's answer to its next probe (UNKNOWN: the stitches went with the old connection).
// And what anybody on the cluster publishes to this RN's probe reply subjects is dropped unread.

import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../../src/uzp/bytes.js';
import { UnstitchCode } from '../../src/uzp/link/constants.js';
import { connect } from '@nats-io/transport-node';
import type { Fabric } from '../../src/rn/fabric/fabric.js';
import { accepting, eventsOf, join, link, rn, stitchAcross, unstitches, until } from '../helpers/fabric-pair.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the NATS connection closed for good', () => {
  it('ends every stitch across here (UNSTITCH 4 to each EP), in one log line; the far RN finds this one absent and ends its halves', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const url = nats.nodes[0]!.url;
    const ingress = rn();
    const egress = rn();
    const f = await join(ingress, url, 'lost', [ingress, egress]);
    cleanups.push(() => f.close());
    cleanups.push(await join(egress, url, 'lost', [ingress, egress]).then((e) => () => e.close()));
    const target = accepting(egress);
    const operator = link();
    ingress.sb.attach(operator);
    const made = [await stitchAcross(ingress, operator, target), await stitchAcross(ingress, operator, target)];

    // As the client does after errors it will not retry: closed, not by the fabric (test/rn/fabric-rejoin.test.ts).
    await (f as unknown as { nc: { close(): Promise<void> } }).nc.close();
    await until(() => eventsOf(ingress, 'fabric_lost').length > 0, 'the loss logged');
    expect(unstitches(operator).sort((a, b) => a.stitchId - b.stitchId)).toEqual(made.map((s) => ({ stitchId: s.ingress, code: UnstitchCode.FAR_RN_GONE })).sort((a, b) => a.stitchId - b.stitchId));
    expect(eventsOf(ingress, 'fabric_lost')).toEqual([expect.objectContaining({ stitches: made.length })]);
    expect(ingress.sb.stitchCount).toBe(0);
    expect(ingress.stats.fabric.offStitches).toBe(made.length);
    // Its hop subscription went with the connection: the egress finds it absent.
    await until(() => unstitches(target).length === made.length, 'the egress ending its halves');
    expect(eventsOf(egress, 'fabric_rn_lost')).toEqual([expect.objectContaining({ rn: toHex(ingress.cid), reason: 'absent', stitches: made.length })]);
  }, 60_000);

  it('and joined again at once, as RnServer does: the far RN ends its halves on this RN\'s answers to its probes (UNKNOWN)', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const url = nats.nodes[0]!.url;
    const ingress = rn();
    const egress = rn();
    let current: Fabric | undefined;
    const start = async (): Promise<Fabric> => (current = await join(ingress, url, 'rejoin', [ingress, egress], () => void start()));
    await start();
    cleanups.push(() => current?.close());
    cleanups.push(await join(egress, url, 'rejoin', [ingress, egress]).then((e) => () => e.close()));
    const target = accepting(egress);
    const operator = link();
    ingress.sb.attach(operator);
    const made = [await stitchAcross(ingress, operator, target), await stitchAcross(ingress, operator, target)];
    const first = current!;
    await (first as unknown as { nc: { close(): Promise<void> } }).nc.close();
    await until(() => current !== first && current !== undefined, 'joined again');
    await until(() => unstitches(target).length === made.length, 'the egress ending its halves');
    expect(unstitches(operator)).toHaveLength(made.length);
    // Never absent (back on NATS within ms): told by the answers.
    expect(eventsOf(egress, 'fabric_rn_lost')).toEqual([]);
    expect(eventsOf(egress, 'fabric_stitches_unknown').reduce((n, e) => n + (e.stitches as number), 0)).toBe(made.length);
  }, 60_000);
});

describe("an RN's probe reply subjects", () => {
  it('take only answers to probes in flight: junk under any other token is counted, not logged, nor its tag computed', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const url = nats.nodes[0]!.url;
    const a = rn();
    const f = await join(a, url, 'junk', [a]);
    cleanups.push(() => f.close());
    const nc = await connect({ servers: [url] });
    cleanups.push(() => nc.close());
    const N = 200;
    for (let i = 0; i < N; i++) nc.publish(`uzp.junk.reply.${toHex(a.cid)}.probe.x${i}`, Uint8Array.of(0x00, 1, 2, 3));
    await nc.flush();
    await until(() => a.stats.fabric.hopRefused === N, 'the junk counted');
    // Before: one fabric_message_failed error line each (anybody on the cluster may publish there).
    expect(eventsOf(a, 'fabric_message_failed')).toEqual([]);
    expect(a.stats.fabric.malformed).toBe(0);
  }, 60_000);
});
