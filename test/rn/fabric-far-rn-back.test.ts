// A far RN found absent that comes back (src/rn/fabric/far-rns.ts, far-rn-owed.ts; docs/PROFILE.md
// §Fabric "Liveness of the far RN"): two in-process Fabrics on a real 2-node nats-server cluster,
// each RN on its own node only (the nodes do not advertise each other), so when the egress RN's
// node crashes the egress is off NATS until the node is back. The ingress finds it absent and ends
// its half of their stitch (its EP hears UNSTITCH 4); nothing it sends then can reach the egress.
// Before, the egress, back on NATS, kept its half for good: its probes and data for it were dropped
// at the ingress as for a stitch it does not know, and since a new stitch joins the two RNs the
// ingress probes it, so it never found the ingress silent either — its EP stayed stitched on a dead
// path. Now the ingress tells it (UNSTITCH 3) with the first batch it hears from it; and if that
// UNSTITCH is lost (NATS is at most once), the egress's next probe for the stitch is answered that
// the ingress does not have it (probe-answers.ts), and the egress ends it all the same.

import { afterEach, describe, expect, it } from 'vitest';
import { decodeHops, HopType, splitHopBatch } from '../../src/rn/fabric/messages.js';
import { HOP_TAG_LENGTH } from '../../src/rn/fabric/hop-keys.js';
import { toHex } from '../../src/uzp/bytes.js';
import { UnstitchCode } from '../../src/uzp/link/constants.js';
import { accepting, eventsOf, join, link, rn, stitchAcross, unstitches, until } from '../helpers/fabric-pair.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Two RNs, each on its own node of a 2-node cluster; a stitch across, and the egress's node crashed: the ingress found it absent. */
async function lostAndBack(o: { dropUnstitch?: boolean } = {}) {
  const nats = await NatsCluster.start(2, undefined, { noAdvertise: true });
  cleanups.push(() => nats.stop());
  const ingress = rn();
  const egress = rn();
  const fabrics = [];
  for (const [r, node] of [[ingress, 0], [egress, 1]] as const) {
    const f = await join(r, nats.nodes[node]!.url, 'back', [ingress, egress]);
    cleanups.push(() => f.close());
    fabrics.push(f);
  }
  // NATS losing every UNSTITCH the ingress sends from now on (at most once: any message can be lost).
  if (o.dropUnstitch === true) {
    const f = fabrics[0] as unknown as { publishHop(rn: Uint8Array, bytes: Uint8Array, reply?: string): void };
    const publish = f.publishHop.bind(f);
    f.publishHop = (to, bytes, reply) => {
      if (!decodeHops(splitHopBatch(bytes, HOP_TAG_LENGTH).messages).some((h) => h.type === HopType.UNSTITCH)) publish(to, bytes, reply);
    };
  }
  const target = accepting(egress);
  const operator = link();
  ingress.sb.attach(operator);
  const first = await stitchAcross(ingress, operator, target);

  // The egress RN's NATS node crashes: the ingress finds it absent and ends its half.
  await nats.kill(1);
  await until(() => unstitches(operator).length > 0, 'the ingress ending its half');
  expect(unstitches(operator)).toEqual([{ stitchId: first.ingress, code: UnstitchCode.FAR_RN_GONE }]);
  expect(eventsOf(ingress, 'fabric_rn_lost')).toEqual([expect.objectContaining({ rn: toHex(egress.cid), reason: 'absent', stitches: 1 })]);
  expect(egress.sb.stitchCount).toBe(1);

  // The node is back, and so is the egress RN on it; business as usual: a new stitch between the two.
  await nats.restart(1);
  const second = await stitchAcross(ingress, operator, target);
  return { ingress, egress, target, first, second };
}

describe('a far RN found absent that comes back', () => {
  it('is told its stitches with this RN ended (UNSTITCH 3, with the first batch heard from it), also while another stitch joins the two RNs', async () => {
    const { ingress, egress, target, first, second } = await lostAndBack();
    await until(() => unstitches(target).length > 0, 'the egress ending its half of the first stitch');
    expect(unstitches(target)).toEqual([{ stitchId: first.egress, code: UnstitchCode.RN }]);
    expect(eventsOf(ingress, 'fabric_rn_back')).toEqual([{ event: 'fabric_rn_back', rn: toHex(egress.cid), stitches: 1 }]);
    // The new stitch is untouched on both sides.
    expect([ingress.sb.remoteOf(second.ingress), egress.sb.remoteOf(second.egress)].every((r) => r !== undefined)).toBe(true);
    expect([ingress.sb.stitchCount, egress.sb.stitchCount]).toEqual([1, 1]);
  }, 60_000);

  it('whose UNSTITCH is lost on the way ends its half all the same: its probe for it is answered that this RN does not have it', async () => {
    const { ingress, egress, target, first, second } = await lostAndBack({ dropUnstitch: true });
    await until(() => unstitches(target).length > 0, 'the egress ending its half of the first stitch');
    // Told, and the UNSTITCH lost: the egress ended its half on the answer to its probe.
    expect(eventsOf(ingress, 'fabric_rn_back')).toEqual([expect.objectContaining({ rn: toHex(egress.cid), stitches: 1 })]);
    expect(unstitches(target)).toEqual([{ stitchId: first.egress, code: UnstitchCode.FAR_RN_GONE }]);
    expect(eventsOf(egress, 'fabric_stitches_unknown')).toEqual([expect.objectContaining({ rn: toHex(ingress.cid), stitches: 1 })]);
    expect([ingress.sb.remoteOf(second.ingress), egress.sb.remoteOf(second.egress)].every((r) => r !== undefined)).toBe(true);
    expect([ingress.sb.stitchCount, egress.sb.stitchCount]).toEqual([1, 1]);
  }, 60_000);
});
