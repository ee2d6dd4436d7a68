// The fabric over a real nats-server (one node, loopback): what needs the client itself. A fabric
// JOIN captured on NATS and replayed is refused while it could still pass the freshness check, also
// when the ingress RN's clock runs ahead of the egress's (the register once forgot it by the
// egress's own clock, 30 s after receipt, while the request stayed fresh 30 s past its own time);
// credentials rotated on the cluster before the RN's do not close the connection for good (the
// client's default after two authentication errors), so the fabric comes back with them; a
// connection closed for good all the same fails no endpoint link and is reported (onLost); and
// while NATS cannot be reached at start, the retry loop holds at most one abort listener.

import { getEventListeners } from 'node:events';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Fabric, JOIN_FRESH_MS } from '../../src/rn/fabric/fabric.js';
import { decodeFabricJoinReply, encodeFabricJoin } from '../../src/rn/fabric/messages.js';
import { silentLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type JoinMessage, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { cidOf } from '../../src/uzp/identity/cid.js';
import { ControlKind, JoinRefusedCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let ids = 0;
/** An EP link as the switchboard sees it: records what the RN tells it. */
function link(): Peer & { readonly control: ControlMessage[] } {
  const control: ControlMessage[] = [];
  return {
    cid: nodeProvider.randomBytes(32),
    linkId: ++ids,
    control,
    congested: false,
    sendControl: (m: ControlMessage) => void control.push(m),
    sendData: () => {},
    holdFor: () => {},
    onRelieved: () => {},
    markStuck: () => {},
  };
}

function rn() {
  const seed = nodeProvider.randomBytes(32);
  const signer = nodeProvider.signer(seed);
  const stats = new RnStats();
  return { signer, x25519Private: x25519PrivateFromEd25519Seed(nodeProvider, seed), cid: cidOf(nodeProvider, signer.publicKey), stats, sb: new Switchboard({ trust: {} as never, stats, log: silentLog }) };
}

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error(`timed out: ${what}`);
};

describe('the rendezvous fabric on a real nats-server', () => {
  it('a captured JOIN replayed while still fresh by the ingress clock (ahead by 20 s) is refused, and makes no second stitch', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const server = nats.nodes[0]!.url;
    const ingress = rn();
    const egress = rn();
    const keys = new Map([ingress, egress].map((r) => [toHex(r.cid), r.signer.publicKey]));
    let egressAhead = 0;
    const start = (r: ReturnType<typeof rn>, now: () => number) =>
      Fabric.start({ servers: [server], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'replay', rnKey: (c) => keys.get(toHex(c)), log: silentLog, stats: r.stats, now }, r.sb, new AbortController().signal);
    const fi = await start(ingress, () => Date.now() + 20_000);
    const fe = await start(egress, () => Date.now() + egressAhead);
    cleanups.push(() => fi?.close(), () => fe?.close());

    const target = link();
    egress.sb.attach(target);
    egress.sb.setAccepting(target);
    const operator = link();
    const other = link();
    ingress.sb.attach(operator);
    ingress.sb.attach(other);
    // What a party on the NATS cluster sees: the ingress RN's signed JOIN request.
    const sniffer = await connect({ servers: server });
    cleanups.push(() => sniffer.close());
    let captured: Uint8Array | undefined;
    sniffer.subscribe(`uzp.replay.join.${toHex(target.cid)}`, { callback: (_e, m) => void (captured ??= m.data.slice()) });
    await sniffer.flush();

    const offers = (): number => target.control.filter((m) => m.kind === ControlKind.OFFER_VIA).length;
    // From the point the target is known to be elsewhere (the JOIN's own checks, the Grant's among
    // them, are the switchboard tests' business).
    const across = ingress.sb as unknown as { joinAcross(p: Peer, m: object, refuse: () => void): void };
    const join = (who: Peer, joinId: number): void => across.joinAcross(who, { kind: ControlKind.JOIN, joinId, target: target.cid, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, () => {});
    join(operator, 1);
    await until(() => operator.control.some((m) => m.kind === ControlKind.JOINED) && captured !== undefined, 'the first JOIN across');
    expect(offers()).toBe(1);

    // 31 s later by the egress's clock, another JOIN passes (its register is swept then); the
    // captured one, stamped 20 s ahead, is still within JOIN_FRESH_MS of the egress's now.
    egressAhead = JOIN_FRESH_MS + 1_000;
    join(other, 2);
    await until(() => other.control.some((m) => m.kind === ControlKind.JOINED), 'the second JOIN across');
    const reply = decodeFabricJoinReply(nodeProvider, (await sniffer.request(`uzp.replay.join.${toHex(target.cid)}`, captured!, { timeout: 2_000 })).data, (c) => keys.get(toHex(c)));
    expect(reply).toMatchObject({ signer: 'valid', reply: { ok: false } });
    expect(offers()).toBe(2); // the two real JOINs, not the replay
    expect(egress.stats.fabric.joinsRefused).toBe(1);
    expect(ingress.sb.stitchCount).toBe(2);
  });

  it('credentials rotated on the cluster and back: the fabric keeps retrying, then serves JOINs again; an ACCEPT meanwhile fails nothing', async () => {
    const nats = await NatsCluster.start(1, { user: 'rn', pass: 'secret-1' });
    cleanups.push(() => nats.stop());
    const server = nats.nodes[0]!.url;
    const r = rn();
    let lost = 0;
    const f = await Fabric.start({ servers: [server], user: 'rn', pass: 'secret-1', rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'auth', rnKey: () => undefined, log: silentLog, stats: r.stats, onLost: () => void lost++ }, r.sb, new AbortController().signal);
    cleanups.push(() => f?.close());
    const nc = (f as unknown as { nc: { isClosed(): boolean } }).nc;
    await nats.restart(0, { user: 'rn', pass: 'secret-2' });
    // Several reconnects refused for authentication (250-750 ms apart): the client's default gave up at the second.
    await new Promise((res) => setTimeout(res, 3_000));
    expect(nc.isClosed()).toBe(false);
    const gw = link();
    r.sb.attach(gw);
    expect(() => r.sb.setAccepting(gw)).not.toThrow();
    await nats.restart(0, { user: 'rn', pass: 'secret-1' });
    // Back: the presence made meanwhile answers a JOIN request. A well-formed one signed by an RN
    // outside the set is refused with a reply (junk would be dropped silently and prove nothing),
    // so a reply is the subscription serving again; "no responders" means it is not back yet.
    const client = await connect({ servers: server, user: 'rn', pass: 'secret-1' });
    cleanups.push(() => client.close());
    const stranger = rn();
    const probe = encodeFabricJoin({ ingress: stranger.cid, ingressStitch: 1, atMs: Date.now(), initiator: stranger.cid, target: gw.cid, grant: new Uint8Array(0), ch1: new Uint8Array(0) }, stranger.signer);
    let answer: ReturnType<typeof decodeFabricJoinReply> | undefined;
    const deadline = Date.now() + 20_000;
    while (answer === undefined && Date.now() < deadline) {
      try {
        answer = decodeFabricJoinReply(nodeProvider, (await client.request(`uzp.auth.join.${toHex(gw.cid)}`, probe, { timeout: 1_000 })).data, () => r.signer.publicKey);
      } catch {
        await new Promise((res) => setTimeout(res, 100)); // not subscribed again yet
      }
    }
    expect(answer).toMatchObject({ signer: 'valid', reply: { ok: false, code: JoinRefusedCode.REFUSED } });
    expect(r.stats.fabric.joinsRefused).toBe(1);
    expect([nc.isClosed(), lost]).toEqual([false, 0]);
  });

  it('a connection closed for good behind the fabric: no endpoint link fails, the switchboard stops routing through it, onLost is heard once', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const r = rn();
    let lost = 0;
    const f = await Fabric.start({ servers: [nats.nodes[0]!.url], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'lost', rnKey: () => undefined, log: silentLog, stats: r.stats, onLost: () => void lost++ }, r.sb, new AbortController().signal);
    // As the client does after errors it will not retry: closed, not by close().
    await (f as unknown as { nc: { close(): Promise<void> } }).nc.close();
    await until(() => lost === 1, 'onLost');
    const gw = link();
    r.sb.attach(gw);
    expect(() => r.sb.setAccepting(gw)).not.toThrow();
    expect(() => f!.present(nodeProvider.randomBytes(32))).not.toThrow();
    // A JOIN for a CID held nowhere here is refused at once (no fabric), not thrown.
    const operator = link();
    r.sb.attach(operator);
    r.sb.join(operator, { kind: ControlKind.JOIN, joinId: 1, target: nodeProvider.randomBytes(32), grant: new Uint8Array(8), ch1: new Uint8Array(8) } as JoinMessage);
    expect(operator.control).toMatchObject([{ kind: ControlKind.JOIN_REFUSED, code: JoinRefusedCode.PEER_NOT_ATTACHED }]);
    await f!.close();
    expect(lost).toBe(1);
  });

  it('while NATS is unreachable at start, the retry loop holds at most one abort listener', async () => {
    const port = await freeLoopbackPort(); // nothing listens: every connect is refused at once
    const ac = new AbortController();
    const r = rn();
    const started = Fabric.start({ servers: [`nats://127.0.0.1:${port}`], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'none', rnKey: () => undefined, log: silentLog, stats: r.stats }, r.sb, ac.signal);
    let most = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 2_500) {
      most = Math.max(most, getEventListeners(ac.signal, 'abort').length);
      await new Promise((res) => setTimeout(res, 10));
    }
    ac.abort();
    expect(await started).toBeUndefined();
    // Attempts wait 125-375, 250-750, 500-1500 ms...: three or more waits in 2.5 s, one listener each time.
    expect(most).toBe(1);
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
  });
});
