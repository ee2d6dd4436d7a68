// Two stitched sessions over an in-memory stitch (no RN), with a Grant of the test's choosing:
// for testing what runs on top of sessions (the HIL broker) without sockets.

import type { Clock } from '../../src/lib/clock.js';
import type { Purpose } from '../../src/uzp/artefacts/types.js';
import { startInitiator } from '../../src/uzp/handshake/initiator.js';
import { respond } from '../../src/uzp/handshake/responder.js';
import { Association } from '../../src/uzp/session/association.js';
import { Session } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from './domain.js';
import { stitchPair, type Hook, type PathLimit } from './memory-stitch.js';

export interface PairOptions {
  readonly purposes?: Purpose[];
  readonly slot?: string;
  readonly device?: string;
  readonly hook?: Hook;
  /** The stitch carries payloads of at most this many bytes (default: any). */
  readonly pathLimit?: PathLimit;
  readonly limits?: Record<string, number>;
  /** Both sessions' clock (a FakeClock drives their timers); default systemClock. */
  readonly clock?: Clock;
  /** An existing domain and its members (several operators' sessions to one gateway); default new ones. */
  readonly domain?: TestDomain;
  readonly op?: Member;
  readonly gw?: Member;
}

export function sessionPair(o: PairOptions = {}) {
  const d = o.domain ?? new TestDomain();
  const op = o.op ?? d.member('operator');
  const gw = o.gw ?? d.member('gateway');
  const grant = d.grant(op.id.cid, gw.id.cid, { purposes: o.purposes, slot: o.slot, device: o.device });
  const init = startInitiator({ trust: d.trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, target: gw.id.cid, grant });
  const reply = respond(
    { trust: d.trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, params: { maxBlockPlaintext: 32768, windowBlocks: 256 } },
    { initiator: op.id.cid, grant, ch1: init.ch1 },
  );
  const fin = init.next.receive(reply.flight);
  const rkeys = reply.next.receive(fin.finished);
  const mk = (keys: typeof rkeys) => {
    const a = new Association();
    a.to('pending');
    a.to('authenticated');
    a.to('stitched');
    return new Session({ provider: d.provider, keys, association: a, limits: o.limits, ...(o.clock ? { clock: o.clock } : {}) });
  };
  const operator = mk(fin.keys);
  const gateway = mk(rkeys);
  const [x, y] = stitchPair(o.hook, o.pathLimit);
  operator.attach(x);
  gateway.attach(y);
  return { operator, gateway, grant: rkeys.grant, d, op, gw, stitches: { operator: x, gateway: y } };
}
