// A hostile party on the fabric's NATS cluster — any client with the domain's NATS rights, not an
// RN of the RN Set — against two real Fabric instances on a real nats-server (the review's attacks,
// each asserted to fail now). JOIN replies: forged ones that would wire a JOIN into another
// session's stitch or refuse JOINs to a present target, and a genuine reply replayed for another
// request, are dropped; only the egress RN's signed answer to the very request counts.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Fabric } from '../../src/rn/fabric/fabric.js';
import { decodeFabricJoin, encodeFabricJoinReply } from '../../src/rn/fabric/messages.js';
import { silentLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { cidOf } from '../../src/uzp/identity/cid.js';
import { ControlKind, FrameType, JoinRefusedCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let ids = 0;
type Link = Peer & { readonly control: ControlMessage[]; readonly data: Uint8Array[]; of<K extends ControlMessage['kind']>(k: K): Extract<ControlMessage, { kind: K }>[] };
/** An EP link as the switchboard sees it: records what the RN sends it. */
function link(cid = nodeProvider.randomBytes(32)): Link {
  const control: ControlMessage[] = [];
  const data: Uint8Array[] = [];
  return {
    cid,
    linkId: ++ids,
    control,
    data,
    congested: false,
    sendControl: (m: ControlMessage) => void control.push(m),
    sendData: (f) => void data.push(f instanceof Uint8Array ? f.slice() : Buffer.concat(f as Uint8Array[])),
    holdFor: () => {},
    onRelieved: () => {},
    markStuck: () => {},
    of: <K extends ControlMessage['kind']>(k: K) => control.filter((m) => m.kind === k) as Extract<ControlMessage, { kind: K }>[],
  };
}

function rnParts() {
  const signer = nodeProvider.signer(nodeProvider.randomBytes(32));
  const stats = new RnStats();
  return { signer, cid: cidOf(nodeProvider, signer.publicKey), stats, sb: new Switchboard({ trust: {} as never, stats, log: silentLog }) };
}
type Rn = ReturnType<typeof rnParts>;

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error(`timed out: ${what}`);
};

/** A RELAY frame on `stitch` as the switchboard takes it from an EP link. */
function relayFrame(stitch: number, body: Uint8Array) {
  const raw = new Uint8Array(9 + body.length);
  const v = new DataView(raw.buffer);
  v.setUint32(0, 5 + body.length);
  raw[4] = FrameType.RELAY;
  v.setUint32(5, stitch);
  raw.set(body, 9);
  return { type: FrameType.RELAY, payload: raw.subarray(5), raw };
}

/** Two RNs of one RN Set on a real nats-server, and a stranger: a NATS client that is no RN of the set. */
async function fabricOfTwo(): Promise<{ ingress: Rn; egress: Rn; stranger: NatsConnection; join(who: Peer, target: Uint8Array): Promise<{ stitch: number } | { code: number }> }> {
  const nats = await NatsCluster.start(1);
  cleanups.push(() => nats.stop());
  const server = nats.nodes[0]!.url;
  const ingress = rnParts();
  const egress = rnParts();
  const keys = new Map([ingress, egress].map((r) => [toHex(r.cid), r.signer.publicKey]));
  for (const r of [ingress, egress]) {
    const f = await Fabric.start({ servers: [server], rnCid: r.cid, signer: r.signer, provider: nodeProvider, domain: 'd', rnKey: (c) => keys.get(toHex(c)), log: silentLog, stats: r.stats }, r.sb, new AbortController().signal);
    cleanups.push(() => f?.close());
  }
  const stranger = await connect({ servers: server });
  cleanups.push(() => stranger.close());
  // From the point the target is known to be elsewhere (the Grant's checks are the switchboard tests' business).
  const across = ingress.sb as unknown as { joinAcross(p: Peer, m: object, refuse: (code: number) => void): void };
  let joinId = 0;
  const join = (who: Link, target: Uint8Array) =>
    new Promise<{ stitch: number } | { code: number }>((resolve) => {
      const id = ++joinId;
      const before = who.of(ControlKind.JOINED).length;
      across.joinAcross(who, { kind: ControlKind.JOIN, joinId: id, target, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, (code) => resolve({ code }));
      void until(() => who.of(ControlKind.JOINED).length > before, 'JOINED').then(
        () => resolve({ stitch: who.of(ControlKind.JOINED).find((m) => m.joinId === id)!.stitchId }),
        () => undefined,
      );
    });
  return { ingress, egress, stranger, join: join as (who: Peer, target: Uint8Array) => Promise<{ stitch: number } | { code: number }> };
}

/** Makes `gw` an accepting link at `rn` and waits until its presence answers on NATS. */
async function present(rn: Rn, gw: Link, nc: NatsConnection): Promise<void> {
  rn.sb.attach(gw);
  rn.sb.setAccepting(gw);
  for (;;) {
    try {
      await nc.request(`uzp.d.join.${toHex(gw.cid)}`, new Uint8Array([0]), { timeout: 200 });
    } catch (e) {
      if (!/no responders/i.test(String(e))) return; // junk is dropped silently by a subscriber: a timeout
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('JOIN replies on the fabric are the egress RN\'s signed answers to the request, nothing else', () => {
  it('a forged "joined" reply naming another session\'s stitch: the JOIN to a CID no RN holds is refused, and nothing reaches that session', async () => {
    const { ingress, egress, stranger, join } = await fabricOfTwo();
    const T = link();
    await present(egress, T, stranger);
    const V = link();
    ingress.sb.attach(V);
    expect(await join(V, T.cid)).toHaveProperty('stitch');
    const victimStitch = T.of(ControlKind.OFFER_VIA)[0]!.stitchId;
    // The stranger answers every JOIN request of the domain, bound to the request and naming the
    // real egress RN and the victim's stitch there, signed with its own key.
    const own = nodeProvider.signer(nodeProvider.randomBytes(32));
    stranger.subscribe('uzp.d.join.*', {
      callback: (_e, m) => {
        const j = decodeFabricJoin(nodeProvider, m.data, () => undefined).join;
        m.respond(encodeFabricJoinReply({ ingress: j.ingress, ingressStitch: j.ingressStitch, atMs: j.atMs, egress: egress.cid, ok: true, egressStitch: victimStitch }, own));
      },
    });
    await stranger.flush();
    const A = link();
    ingress.sb.attach(A);
    expect(await join(A, nodeProvider.randomBytes(32))).toEqual({ code: JoinRefusedCode.PEER_NOT_ATTACHED });
    expect(ingress.stats.fabric.repliesDropped).toBeGreaterThan(0);
    // Nothing A sends on any stitch reaches T: A has none.
    const before = T.data.length;
    ingress.sb.relay(A, relayFrame(victimStitch, new TextEncoder().encode('not from V')) as never);
    await new Promise((r) => setTimeout(r, 200));
    expect(T.data.length).toBe(before);
  });

  it('forged refusals and a genuine reply replayed for other requests race the egress RN: every JOIN to a present target is stitched, to its own egress stitch', async () => {
    const { ingress, egress, stranger, join } = await fabricOfTwo();
    const T = link();
    await present(egress, T, stranger);
    // A genuine signed reply of the egress RN, captured on its way (to another request).
    let genuine: Uint8Array | undefined;
    stranger.subscribe('>', { callback: (_e, m) => void (/^uzp\.d\.(join|hop)\./.test(m.subject) || m.data.length === 0 ? undefined : (genuine ??= m.data.slice())) });
    await stranger.flush();
    const first = link();
    ingress.sb.attach(first);
    expect(await join(first, T.cid)).toHaveProperty('stitch');
    await until(() => genuine !== undefined, 'a reply captured');
    const own = nodeProvider.signer(nodeProvider.randomBytes(32));
    let raced = 0;
    stranger.subscribe('uzp.d.join.*', {
      callback: (_e, m) => {
        const j = decodeFabricJoin(nodeProvider, m.data, () => undefined).join;
        m.respond(encodeFabricJoinReply({ ingress: j.ingress, ingressStitch: j.ingressStitch, atMs: j.atMs, egress: egress.cid, ok: false, code: JoinRefusedCode.PEER_NOT_ATTACHED }, own));
        m.respond(genuine!);
        raced++;
      },
    });
    await stranger.flush();
    const remotes = (ingress.sb as unknown as { remotes: Map<number, { remoteStitch: number | undefined }> }).remotes;
    for (let i = 0; i < 20; i++) {
      const op = link();
      ingress.sb.attach(op);
      const r = await join(op, T.cid);
      expect(r).toHaveProperty('stitch');
      // Wired to the stitch the egress RN made for this operator, not to the one the replayed reply names.
      const offered = T.of(ControlKind.OFFER_VIA).find((o) => toHex(o.initiator) === toHex(op.cid))!;
      expect(remotes.get((r as { stitch: number }).stitch)!.remoteStitch).toBe(offered.stitchId);
    }
    // Every request was raced (whichever came first, the forged replies were dropped, not taken).
    expect(raced).toBe(20);
  });
});
