// An RN may announce any max_frame from 16 KiB (docs/PROFILE.md §Attachment), smaller than a 64 KiB
// block. A block over it is refused by the stitch: the session gives that path up (LINK_FRAME_TOO_LARGE,
// failover or the end), and the process lives. Before, the throw left the session's pump inside
// setImmediate and ended the process.
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../src/rn/server.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import type { Session } from '../../src/uzp/session/session.js';
import { TestDomain } from '../helpers/domain.js';
import { once } from '../uzp/link/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('an RN announcing a max_frame under a block', () => {
  it('a message larger than the frame ends the session with LINK_FRAME_TOO_LARGE; nothing is thrown out of a timer', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const rn = new RendezvousNode({ trust: d.trust(), seed: rnId.seed, maxFrame: 16 * 1024 });
    const address = await rn.listen('127.0.0.1', 0);
    cleanups.push(() => rn.close());
    const trust = () => {
      const t = d.trust();
      t.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
      return t;
    };
    const [gw, op] = [d.member('gateway'), d.member('operator')];
    const gwLink = await RnLink.attach({ address, trust: trust(), identity: { seed: gw.id.seed, pcert: gw.pcert } });
    const opLink = await RnLink.attach({ address, trust: trust(), identity: { seed: op.id.seed, pcert: op.pcert } });
    cleanups.push(() => gwLink.close(), () => opLink.close());
    expect(opLink.maxPayload).toBeLessThan(20_000);
    const gwEp = new Endpoint({ trust: trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link: gwLink });
    gwEp.accept();
    const opEp = new Endpoint({ trust: trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link: opLink });
    let s: Session | undefined;
    for (let i = 0; i < 50 && s === undefined; i++) {
      try {
        s = await opEp.connect(gw.id.cid, d.grant(op.id.cid, gw.id.cid));
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // the ACCEPT has not reached the RN yet
      }
    }
    const closed = once<[Error | undefined]>((cb) => s!.once('close', (e: Error | undefined) => cb([e])));
    s!.openChannel().trySend(new Uint8Array(20_000).fill(1));
    const [err] = await closed;
    expect(err).toMatchObject({ code: 'LINK_FRAME_TOO_LARGE' });
    // The link itself is not the session's to end: small messages still go on a new session.
    expect(opLink.attached).toBe(true);
  });
});
