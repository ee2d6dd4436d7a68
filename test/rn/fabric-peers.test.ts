// Who may route a JOIN to an RN over the fabric (src/rn/fabric/peers.ts): an RN *eligible* under the
// RN Set Statement and revocation list the RN holds now, not merely one listed in the statement. A
// real nats-server, an in-process RN with its own trust store (as `uzpgw rn` builds it) holding a
// gateway that sent ACCEPT, and fabric JOIN requests signed by RNs in various states: listed and
// eligible, listed but revoked, listed without the role `relay`, and an eligible one after the
// statement lapsed. The RN once looked only at the listing (the review found a revoked RN's JOIN
// answered and OFFERed).

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFabricJoinReply, encodeFabricJoin } from '../../src/rn/fabric/messages.js';
import { RendezvousNode } from '../../src/rn/server.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { JoinRefusedCode } from '../../src/uzp/link/constants.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain } from '../helpers/domain.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const nats = await NatsCluster.start(1);
  cleanups.push(() => nats.stop());
  const d = new TestDomain(undefined, Date.now());
  const [self, peer, revoked, roleless] = [0, 1, 2, 3].map(() => d.member('rn').id) as [Identity, Identity, Identity, Identity];
  const rnTrust = d.trust();
  const setValidSeconds = 3_600;
  rnTrust.setRnSet(
    d.rnSet(
      [
        { id: self, addresses: ['127.0.0.1:1'] },
        { id: peer, addresses: ['127.0.0.1:2'] },
        { id: revoked, addresses: ['127.0.0.1:3'] },
        { id: roleless, addresses: ['127.0.0.1:4'], roles: ['collector-only'] },
      ],
      { validSeconds: setValidSeconds },
    ),
  );
  rnTrust.setRevocation(d.revocation([revoked.cid]));
  const rn = new RendezvousNode({ trust: rnTrust, seed: self.seed });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  await rn.joinFabric({ servers: [nats.nodes[0]!.url], domain: 'peers' });

  const gw = d.member('gateway');
  const epTrust = d.trust();
  epTrust.setRnSet(d.rnSet([{ id: self, addresses: [address] }]));
  const link = await RnLink.attach({ address, trust: epTrust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
  cleanups.push(() => link.close());
  link.on('offer', (o) => o.reject());
  link.accept();

  const client = await connect({ servers: nats.nodes[0]!.url });
  cleanups.push(() => client.close());
  let stitch = 0;
  /** A fabric JOIN for the gateway signed by `by`; its reply. */
  const joinAs = async (nc: NatsConnection, by: Identity) => {
    const req = encodeFabricJoin({ ingress: by.cid, ingressStitch: ++stitch, atMs: Date.now(), initiator: d.member('operator').id.cid, target: gw.id.cid, grant: new Uint8Array(0), ch1: new Uint8Array(0) }, by.signer);
    const { reply, signer } = decodeFabricJoinReply(nodeProvider, (await nc.request(`uzp.peers.join.${toHex(gw.id.cid)}`, req, { timeout: 2_000 })).data, () => self.publicKey);
    expect(signer).toBe('valid');
    return reply;
  };
  // The gateway's presence reaches the server a moment after ACCEPT: until then "no responders".
  for (;;) {
    try {
      await joinAs(client, peer);
      break;
    } catch (e) {
      if (!/no responders/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { d, client, peer, revoked, roleless, joinAs, setValidSeconds, stats: rn.stats };
}

describe('the fabric admits eligible RNs only', () => {
  it('an eligible RN is answered joined; a revoked one, and one listed without the role relay, are refused 1', async () => {
    const { client, peer, revoked, roleless, joinAs, stats } = await setup();
    expect(await joinAs(client, peer)).toMatchObject({ ok: true });
    const answered = stats.fabric.joinsAnswered;
    expect(await joinAs(client, revoked)).toMatchObject({ ok: false, code: JoinRefusedCode.REFUSED });
    expect(await joinAs(client, roleless)).toMatchObject({ ok: false, code: JoinRefusedCode.REFUSED });
    // Refused before the switchboard saw them: no OFFER went to the gateway for these.
    expect(stats.fabric.joinsAnswered).toBe(answered);
  });

  it('once the RN Set Statement is past its window, even a listed, unrevoked RN is refused', async () => {
    const { d, client, peer, joinAs, setValidSeconds } = await setup();
    expect(await joinAs(client, peer)).toMatchObject({ ok: true });
    d.advance(setValidSeconds + 600); // past expiry and any clock-skew allowance
    expect(await joinAs(client, peer)).toMatchObject({ ok: false, code: JoinRefusedCode.REFUSED });
  });
});
