// A far RN found absent that comes back (src/rn/fabric/far-rns.ts, far-rn-owed.ts; docs/PROFILE.md
// §Fabric "Liveness of the far RN"): two in-process Fabrics on a real 2-node nats-server cluster,
// each RN on its own node only (the nodes do not advertise each other), so when the egress RN's
// node crashes the egress is off NATS until the node is back. The ingress finds it absent and ends
// its half of their stitch (its EP hears UNSTITCH 4); nothing it sends then can reach the egress.
// Before, the egress, back on NATS, kept its half for good: its probes and data for it were dropped
// at the ingress as for a stitch it does not know, and since a new stitch joins the two RNs the
// ingress probes it, so it never found the ingress silent either — its EP stayed stitched on a dead
// path. Now the ingress tells it (UNSTITCH 3) with the first batch it hears from it.

import { afterEach, describe, expect, it } from 'vitest';
import { Fabric } from '../../src/rn/fabric/fabric.js';
import type { RnLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { cidOf } from '../../src/uzp/identity/cid.js';
import { ControlKind, UnstitchCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Bounds against a hang, not expectations. */
const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error(`timed out: ${what}`);
};

let ids = 0;
/** An EP link as the switchboard sees it: records what the RN tells it. */
function link(): Peer & { readonly control: ControlMessage[] } {
  const control: ControlMessage[] = [];
  return { cid: nodeProvider.randomBytes(32), linkId: ++ids, control, congested: false, sendControl: (m) => void control.push(m), sendData: () => {}, holdFor: () => {}, onRelieved: () => {}, markStuck: () => {} };
}

function rn() {
  const seed = nodeProvider.randomBytes(32);
  const signer = nodeProvider.signer(seed);
  const stats = new RnStats();
  const events: Record<string, unknown>[] = [];
  const rec = (o: object): void => void events.push(o as Record<string, unknown>);
  const log: RnLog = { debug() {}, info: rec, warn: rec, error: rec };
  return { signer, x25519Private: x25519PrivateFromEd25519Seed(nodeProvider, seed), cid: cidOf(nodeProvider, signer.publicKey), stats, log, events, sb: new Switchboard({ trust: {} as never, stats, log }) };
}

const unstitches = (l: { control: ControlMessage[] }) => l.control.flatMap((m) => (m.kind === ControlKind.UNSTITCH ? [{ stitchId: m.stitchId, code: m.code }] : []));

describe('a far RN found absent that comes back', () => {
  it('is told its stitches with this RN ended (UNSTITCH 3, with the first batch heard from it), also while another stitch joins the two RNs', async () => {
    const nats = await NatsCluster.start(2, undefined, { noAdvertise: true });
    cleanups.push(() => nats.stop());
    const ingress = rn();
    const egress = rn();
    const keys = new Map([ingress, egress].map((r) => [toHex(r.cid), r.signer.publicKey]));
    for (const [r, node] of [[ingress, 0], [egress, 1]] as const) {
      const f = await Fabric.start({ servers: [nats.nodes[node]!.url], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'back', rnKey: (c) => keys.get(toHex(c)), log: r.log, stats: r.stats }, r.sb, new AbortController().signal);
      cleanups.push(() => f?.close());
    }
    const target = link();
    egress.sb.attach(target);
    egress.sb.setAccepting(target);
    const operator = link();
    ingress.sb.attach(operator);

    // A stitch across, once the target's presence has crossed the route (JOIN_REFUSED until then).
    const across = ingress.sb as unknown as { joinAcross(p: Peer, m: object, refuse: () => void): void };
    let joinId = 0;
    const stitch = async (): Promise<{ ingress: number; egress: number }> => {
      const joined = () => operator.control.filter((m) => m.kind === ControlKind.JOINED);
      const had = joined().length;
      while (joined().length === had) {
        let refused = false;
        across.joinAcross(operator, { kind: ControlKind.JOIN, joinId: ++joinId, target: target.cid, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, () => (refused = true));
        await until(() => refused || joined().length > had, 'an answer to a JOIN across');
      }
      const offers = () => target.control.filter((m) => m.kind === ControlKind.OFFER_VIA);
      await until(() => offers().length === had + 1, 'the OFFER_VIA');
      return { ingress: (joined().at(-1) as { stitchId: number }).stitchId, egress: (offers().at(-1) as { stitchId: number }).stitchId };
    };
    const first = await stitch();

    // The egress RN's NATS node crashes: the ingress finds it absent and ends its half.
    await nats.kill(1);
    await until(() => unstitches(operator).length > 0, 'the ingress ending its half');
    expect(unstitches(operator)).toEqual([{ stitchId: first.ingress, code: UnstitchCode.FAR_RN_GONE }]);
    expect(ingress.events.filter((e) => e.event === 'fabric_rn_lost')).toEqual([expect.objectContaining({ rn: toHex(egress.cid), reason: 'absent', stitches: 1 })]);
    expect(egress.sb.stitchCount).toBe(1);

    // The node is back, and so is the egress RN on it; business as usual: a new stitch between the two.
    await nats.restart(1);
    const second = await stitch();
    await until(() => unstitches(target).length > 0, 'the egress ending its half of the first stitch');
    expect(unstitches(target)).toEqual([{ stitchId: first.egress, code: UnstitchCode.RN }]);
    expect(ingress.events.filter((e) => e.event === 'fabric_rn_back')).toEqual([{ event: 'fabric_rn_back', rn: toHex(egress.cid), stitches: 1 }]);
    // The new stitch is untouched on both sides.
    expect([ingress.sb.remoteOf(second.ingress), egress.sb.remoteOf(second.egress)].every((r) => r !== undefined)).toBe(true);
    expect([ingress.sb.stitchCount, egress.sb.stitchCount]).toEqual([1, 1]);
  }, 60_000);
});
