// OFFER_VIA at the endpoint (src/uzp/link/rn-link.ts rnOf): the RN an offer crossed the fabric from
// is the offer's RN only while it is eligible under the endpoint's own RN Set Statement and
// revocations, as the RN the endpoint attached to had to be (draft §11.1). Two in-process RNs of
// one domain on a real nats-server; an operator attached to RN A JOINs two gateways attached to
// RN B, one of which holds a revocation of RN A. The link once named any listed RN, revoked or not.

import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../src/rn/server.js';
import { equal } from '../../src/uzp/bytes.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('OFFER_VIA names the ingress RN only while it is eligible', () => {
  it('a gateway that holds RN A revoked gets no RN with the offer; one that does not gets RN A', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const d = new TestDomain(undefined, Date.now());
    const a = d.member('rn').id;
    const b = d.member('rn').id;
    const addresses: string[] = [];
    for (const id of [a, b]) {
      const trust = d.trust();
      trust.setRnSet(d.rnSet([{ id: a, addresses: ['127.0.0.1:1'] }, { id: b, addresses: ['127.0.0.1:2'] }]));
      const rn = new RendezvousNode({ trust, seed: id.seed });
      addresses.push(await rn.listen('127.0.0.1', 0));
      cleanups.push(() => rn.close());
      await rn.joinFabric({ servers: [nats.nodes[0]!.url], domain: 'via' });
    }
    const epSet = d.rnSet([{ id: a, addresses: [addresses[0]!] }, { id: b, addresses: [addresses[1]!] }]);
    const attach = async (m: Member, at: number, revokeA: boolean): Promise<RnLink> => {
      const trust = d.trust();
      trust.setRnSet(epSet);
      if (revokeA) trust.setRevocation(d.revocation([a.cid]));
      const link = await RnLink.attach({ address: addresses[at]!, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
      cleanups.push(() => link.close());
      return link;
    };
    const offerTo = async (revokeA: boolean): Promise<Offer> => {
      const gw = d.member('gateway');
      const link = await attach(gw, 1, revokeA);
      const offered = new Promise<Offer>((resolve) => link.once('offer', resolve));
      link.accept();
      const op = d.member('operator');
      const opLink = await attach(op, 0, false);
      // Until the gateway's presence reached RN A through NATS, the JOIN is refused (not attached).
      for (;;) {
        const joined = await opLink.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid), new Uint8Array(8)).then(
          () => true,
          (e: { code?: string }) => {
            if (e.code !== 'PEER_NOT_ATTACHED') throw e;
            return false;
          },
        );
        if (joined) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      return offered;
    };
    const trusting = await offerTo(false);
    expect(trusting.rn !== undefined && equal(trusting.rn.cid, a.cid)).toBe(true);
    const revoking = await offerTo(true);
    expect(revoking.rn).toBeUndefined();
  });
});
