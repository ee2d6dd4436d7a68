// A JOIN behind AUTH (issue #14 cold path; docs/PROFILE.md §Attachment "JOIN behind AUTH"): in the
// full attachment (oneRtt: false; the 1-RTT one is test/rn/rn-attach-1rtt.test.ts), a join()
// made while the link attaches leaves right behind AUTH, sealed under the EP control key AUTH fixed,
// a round trip before OK; the RN, which reads frames in order, stitches it once AUTH has attached
// the link. Checked on the wire through a framing proxy, against a real in-process RN.

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../../src/rn/server.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { FrameType } from '../../../src/uzp/link/constants.js';
import { RnLink, type Offer } from '../../../src/uzp/link/rn-link.js';
import { LinkPool } from '../../../src/uzp/link/link-pool.js';
import type { CodedError } from '../../../src/lib/errors.js';
import { Endpoint } from '../../../src/uzp/endpoint.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { attachTo, startInProcessRn } from '../../helpers/inprocess-rn.js';
import { LinkProxy } from '../../helpers/link-proxy.js';
import { once } from './wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * An in-process RN with a gateway attached and accepting, and a framing proxy in front of the RN
 * that records every frame's direction and type (`seen`); `address` is the proxy's.
 */
async function gatewayBehindProxy() {
  const env = await startInProcessRn(cleanups);
  const gw = env.d.member('gateway');
  const op = env.d.member('operator');
  const gwLink = await RnLink.attach({ address: env.address, trust: env.trust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
  cleanups.push(() => gwLink.close());
  const offered = once<Offer>((cb) => gwLink.once('offer', cb));
  gwLink.accept();
  const [host, port] = env.address.split(':');
  const proxy = new LinkProxy({ host: host!, port: Number(port) });
  cleanups.push(() => proxy.stop());
  const seen: string[] = [];
  proxy.hook = (frame, dir) => {
    seen.push(`${dir} ${frame[4]}`);
    return [frame];
  };
  return { env, gw, op, offered, seen, address: await proxy.start() };
}

/**
 * Runs `attempt` again while it fails with PEER_NOT_ATTACHED (the gateway's ACCEPT may still be on
 * its way to the RN: that one refusal only, at most 5 tries). `attempt` names, through `onRetry`,
 * what to close before the next try.
 */
async function whileAcceptInFlight(attempt: (onRetry: (undo: () => void) => void) => Promise<void>): Promise<void> {
  for (let n = 1; ; n++) {
    let undo = (): void => undefined;
    try {
      return await attempt((u) => (undo = u));
    } catch (e) {
      if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED || n === 5) throw e;
      undo();
    }
  }
}

describe('JOIN behind AUTH', () => {
  it('a join made while attaching goes out right behind AUTH, before OK came back, and is stitched', async () => {
    const { env, gw, op, offered, seen, address } = await gatewayBehindProxy();
    await whileAcceptInFlight(async (onRetry) => {
      const { link, attached } = RnLink.begin({ address, trust: env.trust, identity: { seed: op.id.seed, pcert: op.pcert }, oneRtt: false });
      cleanups.push(() => link.close());
      onRetry(() => link.close());
      seen.length = 0;
      const joined = link.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), Uint8Array.of(1, 2, 3));
      expect(link.attached).toBe(false);
      const stitch = await joined;
      await attached;
      expect(stitch.id).toBeGreaterThan(0);
    });
    expect(Array.from((await offered).ch1)).toEqual([1, 2, 3]);
    const auth = seen.indexOf(`to-rn ${FrameType.AUTH}`);
    const ok = seen.indexOf(`from-rn ${FrameType.OK}`);
    expect(auth).toBeGreaterThanOrEqual(0);
    expect(seen[auth + 1]).toBe(`to-rn ${FrameType.CONTROL}`);
    expect(auth + 1).toBeLessThan(ok);
  });

  it('LinkPool, as an operator uses it: a join made right after start() goes behind the first AUTH', async () => {
    const { env, gw, op, seen, address } = await gatewayBehindProxy();
    const trust = env.d.trust();
    trust.setRnSet(env.d.rnSet([{ id: env.rnId, addresses: [address] }]));
    await whileAcceptInFlight(async (onRetry) => {
      const pool = new LinkPool({ trust, identity: { seed: op.id.seed, pcert: op.pcert }, size: 1, link: { oneRtt: false } });
      cleanups.push(() => pool.stop());
      onRetry(() => pool.stop());
      seen.length = 0;
      pool.start();
      expect(pool.links).toEqual([]);
      expect(pool.attaching).toHaveLength(1);
      const stitch = await pool.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), Uint8Array.of(4, 5));
      expect(stitch.id).toBeGreaterThan(0);
    });
    const auth = seen.indexOf(`to-rn ${FrameType.AUTH}`);
    expect(auth).toBeGreaterThanOrEqual(0);
    expect(seen[auth + 1]).toBe(`to-rn ${FrameType.CONTROL}`);
    expect(auth + 1).toBeLessThan(seen.indexOf(`from-rn ${FrameType.OK}`));
  });

  it('LinkPool: when another RN attaches first, the JOIN waiting behind a slow AUTH goes through that RN', async () => {
    const env = await startInProcessRn(cleanups);
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    // RN A never answers (its AUTH waits until the attach timeout); RN B is a real RN of the same domain.
    const silent: Socket[] = [];
    const blackHole = createServer((sock) => silent.push(sock));
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
    cleanups.push(() => (silent.forEach((x) => x.destroy()), new Promise<void>((r) => blackHole.close(() => r()))));
    const addrA = `127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
    const rnB = env.d.member('rn').id;
    const nodeB = new RendezvousNode({ trust: env.d.trust(), seed: rnB.seed });
    const addrB = await nodeB.listen('127.0.0.1', 0);
    cleanups.push(() => nodeB.close());
    const trust = env.d.trust();
    trust.setRnSet(env.d.rnSet([{ id: env.d.member('rn').id, addresses: [addrA] }, { id: rnB, addresses: [addrB] }]));
    const gwLink = await RnLink.attach({ address: addrB, trust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
    cleanups.push(() => gwLink.close());
    gwLink.accept();
    await whileAcceptInFlight(async (onRetry) => {
      const pool = new LinkPool({ trust, identity: { seed: op.id.seed, pcert: op.pcert }, size: 2, link: { oneRtt: false } });
      cleanups.push(() => pool.stop());
      onRetry(() => pool.stop());
      pool.start();
      const slow = pool.attaching.find((l) => l.address === addrA);
      expect(slow).toBeDefined();
      expect(pool.attaching[0]).toBe(slow); // the JOIN goes behind A's AUTH first
      const stitch = await pool.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), Uint8Array.of(6));
      expect(stitch.id).toBeGreaterThan(0);
      expect(slow!.attached).toBe(false); // B took it over; A is still waiting for its RN
      expect(pool.links.map((l) => l.address)).toEqual([addrB]);
    });
  });

  it('an attachment that fails rejects the join made on it with the same error, and nothing reaches the RN as a JOIN', async () => {
    const env = await startInProcessRn(cleanups);
    const op = env.d.member('operator');
    // An RN Set that names another RN: the EP refuses the RN's HELLO_R itself; nothing was joined.
    const other = env.d.member('rn');
    const trust = env.d.trust();
    trust.setRnSet(env.d.rnSet([{ id: other.id, addresses: [env.address] }]));
    const { link, attached } = RnLink.begin({ address: env.address, trust, identity: { seed: op.id.seed, pcert: op.pcert }, oneRtt: false });
    cleanups.push(() => link.close());
    const joined = link.join(op.id.cid, env.d.grant(op.id.cid, op.id.cid), Uint8Array.of(1));
    const [a, j] = await Promise.allSettled([attached, joined]);
    expect(a.status).toBe('rejected');
    expect(j.status).toBe('rejected');
    expect((j as PromiseRejectedResult).reason).toBe((a as PromiseRejectedResult).reason);
    expect(env.rn.stats.joins).toBe(0);
  });

  it('Endpoint.connect on a link still connecting builds CH1 at once, behind the HELLO already queued; the session comes up', async () => {
    const env = await startInProcessRn(cleanups);
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attachTo(env, gw, cleanups);
    const responder = new Endpoint({ trust: env.d.trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link: gwLink });
    responder.on('session', (s: Session) => cleanups.push(() => s.close()));
    responder.accept();
    await whileAcceptInFlight(async (onRetry) => {
      const { link } = RnLink.begin({ address: env.address, trust: env.trust, identity: { seed: op.id.seed, pcert: op.pcert }, oneRtt: false });
      cleanups.push(() => link.close());
      onRetry(() => link.close());
      let signed = 0;
      const signer = { publicKey: op.id.signer.publicKey, sign: (m: Uint8Array) => (signed++, op.id.signer.sign(m)) };
      const initiator = new Endpoint({ trust: env.trust, identity: { cid: op.id.cid, signer, pcert: op.pcert }, link });
      const connecting = initiator.connect(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid));
      // On this turn, before the TCP connect completed: over a network the handshake takes longer than CH1.
      expect(signed).toBe(1);
      expect(link.attached).toBe(false);
      const session = await connecting;
      session.close();
    });
  });
});
