// An in-process RN (RendezvousNode) on 127.0.0.1 with a fresh test domain, closed by the caller's
// cleanups; `trust` is an endpoint trust store holding an RN Set Statement that names it.

import { RendezvousNode, type RendezvousNodeOptions } from '../../src/rn/server.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain, type Member } from './domain.js';

export interface InProcessRn {
  readonly d: TestDomain;
  readonly rn: RendezvousNode;
  readonly rnId: Identity;
  readonly address: string;
  readonly trust: TrustStore;
}

export async function startInProcessRn(cleanups: (() => void | Promise<void>)[], opts: Partial<RendezvousNodeOptions> = {}): Promise<InProcessRn> {
  const d = new TestDomain();
  const rnId = d.member('rn').id;
  const rn = new RendezvousNode({ trust: d.trust(), seed: rnId.seed, ...opts });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
  return { d, rn, rnId, address, trust };
}

/** Attaches `m` to the in-process RN with a trust store of its own (naming the RN); closed by the cleanups. */
export async function attachTo(env: InProcessRn, m: Member, cleanups: (() => void | Promise<void>)[]): Promise<RnLink> {
  const trust = env.d.trust();
  trust.setRnSet(env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]));
  const link = await RnLink.attach({ address: env.address, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
  cleanups.push(() => link.close());
  return link;
}
