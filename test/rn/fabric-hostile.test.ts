// A hostile party on the fabric's NATS cluster — any client with the domain's NATS rights, not an
// RN of the RN Set — against two real Fabric instances on a real nats-server (the review's attacks,
// each asserted to fail now). JOIN replies: forged ones that would wire a JOIN into another
// session's stitch or refuse JOINs to a present target, and a genuine reply replayed for another
// request, are dropped; only the egress RN's signed answer to the very request counts.

import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Fabric } from '../../src/rn/fabric/fabric.js';
import { HOP_TAG_LENGTH } from '../../src/rn/fabric/hop-keys.js';
import { decodeFabricJoin, encodeFabricJoinReply, encodeHopData, encodeHopUnstitch, hopBatchHeader } from '../../src/rn/fabric/messages.js';
import { silentLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { cidOf } from '../../src/uzp/identity/cid.js';
import { ControlKind, FrameType, JoinRefusedCode, UnstitchCode } from '../../src/uzp/link/constants.js';
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
  const seed = nodeProvider.randomBytes(32);
  const signer = nodeProvider.signer(seed);
  const stats = new RnStats();
  return { signer, x25519Private: x25519PrivateFromEd25519Seed(nodeProvider, seed), cid: cidOf(nodeProvider, signer.publicKey), stats, sb: new Switchboard({ trust: {} as never, stats, log: silentLog }) };
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
    const f = await Fabric.start({ servers: [server], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'd', rnKey: (c) => keys.get(toHex(c)), log: silentLog, stats: r.stats }, r.sb, new AbortController().signal);
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

/** Hop batches a stranger can make: the unauthenticated form of fabric version 1, and version 2 with a tag it had to guess. */
function forgedBatches(messages: Uint8Array, claimedSender: Uint8Array): Uint8Array[] {
  const v2 = (sender: Uint8Array) => Buffer.concat([hopBatchHeader(sender), messages, nodeProvider.randomBytes(HOP_TAG_LENGTH)]);
  return [messages, v2(claimedSender), v2(nodeProvider.randomBytes(32))];
}

/** Relays one real frame from `from` on `stitch` and waits for it at `to`: everything published before it has been handled. */
async function sentinel(rn: Rn, from: Link, stitch: number, to: Link): Promise<void> {
  const before = to.data.length;
  rn.sb.relay(from, relayFrame(stitch, Uint8Array.of(0x5e)) as never);
  await until(() => to.data.length > before, 'the sentinel frame');
}

describe('hop messages count only from the RN a stitch was made with', () => {
  it('UNSTITCH for the real stitch ids, unauthenticated, with a forged tag, or claiming an RN of the set, ends nothing', async () => {
    const { ingress, egress, stranger, join } = await fabricOfTwo();
    const T = link();
    await present(egress, T, stranger);
    const O = link();
    ingress.sb.attach(O);
    const r = (await join(O, T.cid)) as { stitch: number };
    const egressStitch = T.of(ControlKind.OFFER_VIA)[0]!.stitchId;
    const counts = () => [ingress, egress].map((rn) => [rn.stats.fabric.malformed, rn.stats.fabric.hopRefused]);
    const before = counts();
    for (const [rn, id, claimed] of [
      [egress, egressStitch, ingress.cid],
      [ingress, r.stitch, egress.cid],
    ] as const) {
      for (const b of forgedBatches(encodeHopUnstitch(id, UnstitchCode.CLOSED), claimed)) stranger.publish(`uzp.d.hop.${toHex(rn.cid)}`, b);
    }
    await stranger.flush();
    await sentinel(ingress, O, r.stitch, T);
    await sentinel(egress, T, egressStitch, O);
    expect([T.of(ControlKind.UNSTITCH), O.of(ControlKind.UNSTITCH)]).toEqual([[], []]);
    expect([ingress.sb.stitchCount, egress.sb.stitchCount]).toEqual([1, 1]);
    // Each RN: the version 1 batch dropped as malformed, the two with a forged tag refused.
    expect(counts()).toEqual(before.map(([malformed, refused]) => [malformed! + 1, refused! + 2]));
    // The real UNSTITCH still crosses.
    egress.sb.unstitch(T, egressStitch, UnstitchCode.CLOSED);
    await until(() => O.of(ControlKind.UNSTITCH).length === 1, 'the real UNSTITCH');
  });

  it('a forged DATA with offset 2^40 does not stop CREDIT: the window keeps opening', async () => {
    const { ingress, egress, stranger, join } = await fabricOfTwo();
    const T = link();
    await present(egress, T, stranger);
    const O = link();
    ingress.sb.attach(O);
    const r = (await join(O, T.cid)) as { stitch: number };
    const egressStitch = T.of(ControlKind.OFFER_VIA)[0]!.stitchId;
    const forged = encodeHopData(egressStitch, 2 ** 40, relayFrame(egressStitch, Uint8Array.of(4)).raw);
    for (const b of forgedBatches(forged, ingress.cid)) stranger.publish(`uzp.d.hop.${toHex(egress.cid)}`, b);
    await stranger.flush();
    await sentinel(ingress, O, r.stitch, T);
    const remote = (ingress.sb as unknown as { remotes: Map<number, { sent: number; acked: number }> }).remotes.get(r.stitch)!;
    // More than the window (512 KiB): without credit the stitch would stay congested for good.
    for (let i = 0; i < 40; i++) ingress.sb.relay(O, relayFrame(r.stitch, new Uint8Array(16 * 1024)) as never);
    await until(() => remote.acked === remote.sent, 'credit for everything sent');
    expect(remote.sent).toBeGreaterThan(40 * 16 * 1024);
  });

  it('a captured JOIN request replayed to a second RN holding the target: that RN\'s UNSTITCH does not end the real stitch', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const server = nats.nodes[0]!.url;
    const [ingress, e1, e2] = [rnParts(), rnParts(), rnParts()];
    const keys = new Map([ingress, e1, e2].map((r) => [toHex(r.cid), r.signer.publicKey]));
    for (const r of [ingress, e1, e2]) {
      const f = await Fabric.start({ servers: [server], rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain: 'd', rnKey: (c) => keys.get(toHex(c)), log: silentLog, stats: r.stats }, r.sb, new AbortController().signal);
      cleanups.push(() => f?.close());
    }
    const stranger = await connect({ servers: server });
    cleanups.push(() => stranger.close());
    // One gateway attached to two RNs (multi-homed, as for standby stitches).
    const cid = nodeProvider.randomBytes(32);
    const T1 = link(cid);
    const T2 = link(cid);
    await present(e1, T1, stranger);
    await present(e2, T2, stranger);
    let captured: Uint8Array | undefined;
    stranger.subscribe(`uzp.d.join.${toHex(cid)}`, { callback: (_e, m) => void (captured ??= m.data.slice()) });
    await stranger.flush();
    const O = link();
    ingress.sb.attach(O);
    const across = ingress.sb as unknown as { joinAcross(p: Peer, m: object, refuse: () => void): void };
    across.joinAcross(O, { kind: ControlKind.JOIN, joinId: 1, target: cid, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, () => {});
    await until(() => O.of(ControlKind.JOINED).length === 1 && captured !== undefined, 'JOINED');
    const [real, realT] = T1.of(ControlKind.OFFER_VIA).length > 0 ? [e1, T1] : [e2, T2];
    const [dup, dupT] = real === e1 ? [e2, T2] : [e1, T1];
    // Replayed until the other RN took it (the queue group picks at random; the real one refuses a replay).
    for (let i = 0; i < 50 && dupT.of(ControlKind.OFFER_VIA).length === 0; i++) {
      await stranger.request(`uzp.d.join.${toHex(cid)}`, captured!, { timeout: 1_000 }).catch(() => undefined);
    }
    expect(dupT.of(ControlKind.OFFER_VIA)).toHaveLength(1);
    // The gateway refuses the duplicate; that RN tells the ingress its side ended (hop UNSTITCH).
    const foreign = ingress.stats.dropped.foreign_stitch;
    dup.sb.rejectOffer(dupT, dupT.of(ControlKind.OFFER_VIA)[0]!.stitchId);
    await until(() => ingress.stats.dropped.foreign_stitch > foreign || O.of(ControlKind.UNSTITCH).length > 0, 'the ingress handling that UNSTITCH');
    // Dropped: the real stitch still carries frames, and nobody was told it ended.
    expect(O.of(ControlKind.UNSTITCH)).toEqual([]);
    await sentinel(real, realT, realT.of(ControlKind.OFFER_VIA)[0]!.stitchId, O);
    expect(ingress.sb.stitchCount).toBe(1);
  });
});
