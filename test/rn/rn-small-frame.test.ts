// An RN may announce any max_frame from 16 KiB (docs/PROFILE.md §Attachment), smaller than a 64 KiB
// block. Sessions through it pack their blocks to its frames (Session.attach -> fitBlocksTo), so large
// messages cross it both ways. Before, a block over the frame was refused by the stitch: first the
// throw ended the process (from the pump's setImmediate), then the session ended with
// LINK_FRAME_TOO_LARGE (what a stitch refusing an unannounced block still does:
// test/uzp/session/session-block-fit.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../src/rn/server.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import type { Session } from '../../src/uzp/session/session.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import { equal } from '../../src/uzp/bytes.js';
import { TestDomain } from '../helpers/domain.js';
import { once } from '../uzp/link/wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('an RN announcing a max_frame under a block', () => {
  it('carries messages larger than its frame both ways, in blocks that fit it', async () => {
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
    const gwSession = once<[Session]>((cb) => gwEp.once('session', (x: Session) => cb([x])));
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
    const [g] = await gwSession;
    const ended: (Error | undefined)[] = [];
    for (const x of [s!, g]) x.once('close', (e?: Error) => ended.push(e ?? new Error('closed')));
    const up = new Uint8Array(200_000).map((_, i) => (i * 13) & 0xff);
    const atGateway = once<[Channel, Uint8Array]>((cb) => g.once('channel', (c: Channel) => c.once('message', (m: Uint8Array) => cb([c, m]))));
    const ch = s!.openChannel();
    await ch.send(up);
    const [gch, got] = await atGateway;
    expect(equal(got, up)).toBe(true);
    const down = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    const atOperator = once<[Uint8Array]>((cb) => ch.once('message', (m: Uint8Array) => cb([m])));
    await gch.send(down);
    expect(equal((await atOperator)[0], down)).toBe(true);
    expect(ended).toEqual([]);
    expect(s!.state).toBe('stitched');
    s!.close();
  });
});
