// A gateway and a collector with a real handshake and real sessions over an in-memory stitch (no
// RN): what the publisher's tests run a publishing session on. `role` makes the responder another
// kind of member (the gateway must refuse to publish to one).

import type { GrantScope, Role } from '../../src/uzp/artefacts/types.js';
import { startInitiator } from '../../src/uzp/handshake/initiator.js';
import { respond } from '../../src/uzp/handshake/responder.js';
import { Association } from '../../src/uzp/session/association.js';
import { Session } from '../../src/uzp/session/session.js';
import { TestDomain } from './domain.js';
import { stitchPair } from './memory-stitch.js';

/** `scopes`: the trust domain's Grant to the gateway (default: every slot, telemetry.publish). */
export function publishPair(role: Role = 'collector', scopes: GrantScope[] = [{ slot: '*', purposes: [{ purpose: 'telemetry.publish' }] }]) {
  const d = new TestDomain();
  const gw = d.member('gateway');
  const col = d.member(role);
  const grant = d.grant(gw.id.cid, col.id.cid, { scopes });
  /** A session pair of these two members under this Grant (one handshake); `another()` opens one more, as a gateway's next session does. */
  const connect = () => {
    const init = startInitiator({ trust: d.trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, target: col.id.cid, grant });
    const reply = respond({ trust: d.trust(), identity: { cid: col.id.cid, signer: col.id.signer, pcert: col.pcert }, params: { maxBlockPlaintext: 32768, windowBlocks: 256 } }, { initiator: gw.id.cid, grant, ch1: init.ch1 });
    const fin = init.next.receive(reply.flight);
    const rkeys = reply.next.receive(fin.finished);
    const mk = (keys: typeof rkeys): Session => {
      const a = new Association();
      a.to('pending');
      a.to('authenticated');
      a.to('stitched');
      return new Session({ provider: d.provider, keys, association: a });
    };
    const gateway = mk(fin.keys);
    const collector = mk(rkeys);
    const [x, y] = stitchPair();
    gateway.attach(x);
    collector.attach(y);
    /** `grant`: the Grant as the collector validated it in the handshake. */
    return { gateway, collector, grant: rkeys.grant };
  };
  return { d, gw, col, ...connect(), another: connect };
}
