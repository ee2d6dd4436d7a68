// An in-process RN (RendezvousNode) on 127.0.0.1 with a fresh test domain, closed by the caller's
// cleanups; `trust` is an endpoint trust store holding an RN Set Statement that names it.

import { RendezvousNode, type RendezvousNodeOptions } from '../../src/rn/server.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { TestDomain } from './domain.js';

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
