// A far RN restarted faster than it can be found absent (docs/PROFILE.md §Fabric "Liveness of the far
// RN", stitches P does not have): two in-process RNs on a real nats-server; the egress RN leaves the fabric and a
// new one with the same identity and no stitches joins it a few ms later (`uzpgw rn` processes
// killed and started again took 244 ms here, test/e2e/fabric-rn-lost.test.ts). Nobody receives its
// hop subject for those ms: never two probes a second apart, so it is never found absent. Before,
// the ingress kept its half of every stitch with it: its probes for them were dropped at the new
// RN as for stitches it does not know, and were found silent only after 20 s — or never, once a
// new stitch joins the two RNs, since the new RN then probes the ingress. Now the new RN answers
// the probe that it does not have that stitch, the ingress checks every stitch with it at once, and
// ends those it does not have (UNSTITCH 4 to its EP, one log line).

import { afterEach, describe, expect, it } from 'vitest';
import { Switchboard } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { UnstitchCode } from '../../src/uzp/link/constants.js';
import { accepting, eventsOf, join, link, rn, stitchAcross, unstitches, until } from '../helpers/fabric-pair.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a far RN restarted at once', () => {
  it('answers that it does not have the stitches the ingress still holds with it: the ingress ends them all, at once, also while a new stitch joins the two RNs', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const url = nats.nodes[0]!.url;
    const ingress = rn();
    const egress = rn();
    cleanups.push(await join(ingress, url, 'restart', [ingress, egress]).then((f) => () => f.close()));
    const before = await join(egress, url, 'restart', [ingress, egress]);
    let target = accepting(egress);
    const operator = link();
    ingress.sb.attach(operator);
    const old = [await stitchAcross(ingress, operator, target), await stitchAcross(ingress, operator, target), await stitchAcross(ingress, operator, target)];

    // The egress RN restarts: gone from NATS, and back with nothing, a few ms later.
    await before.close();
    egress.sb = new Switchboard({ trust: {} as never, stats: egress.stats, log: egress.log });
    cleanups.push(await join(egress, url, 'restart', [ingress, egress]).then((f) => () => f.close()));
    target = accepting(egress);
    const fresh = await stitchAcross(ingress, operator, target);

    await until(() => unstitches(operator).length === old.length, 'the ingress ending its halves of the old stitches');
    expect(unstitches(operator).sort((a, b) => a.stitchId - b.stitchId)).toEqual(old.map((s) => ({ stitchId: s.ingress, code: UnstitchCode.FAR_RN_GONE })).sort((a, b) => a.stitchId - b.stitchId));
    // One line for all of them; the RN was never found gone, nor silent.
    expect(eventsOf(ingress, 'fabric_stitches_unknown')).toEqual([expect.objectContaining({ rn: toHex(egress.cid), stitches: old.length })]);
    expect(eventsOf(ingress, 'fabric_rn_lost')).toEqual([]);
    expect(ingress.stats.fabric.unknownStitches).toBe(old.length);
    // The stitch made with the new RN is untouched.
    expect(ingress.sb.remoteOf(fresh.ingress)).toBeDefined();
    expect(egress.sb.remoteOf(fresh.egress)).toBeDefined();
    expect([ingress.sb.stitchCount, egress.sb.stitchCount]).toEqual([1, 1]);
  }, 60_000);
});
