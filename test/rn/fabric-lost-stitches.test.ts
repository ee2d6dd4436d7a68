// This RN's NATS connection closed for good (fabric.ts watch(): the client gave up, not close()):
// two in-process RNs on a real nats-server. Before, the fabric was dropped from the switchboard but
// the halves of the stitches across stayed up, their EPs stitched on a path nothing crosses any
// more (never told, for a session without PoR). Now each ends as for a far RN gone: the EP hears
// UNSTITCH 4 and its continuity re-stitches; one log line for all of them (fabric_lost).

import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../../src/uzp/bytes.js';
import { UnstitchCode } from '../../src/uzp/link/constants.js';
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
});
