// Two Switchboards joined by an in-memory fabric (no NATS): the real RemotePeer and hop codec
// between them, hop messages queued and delivered when the test says. Presence follows ACCEPT and
// detach; a cross-RN JOIN gives OFFER_VIA at the egress and JOINED at the ingress; frames cross
// with the receiver's stitch id; credit opens and closes the window and holds the sending link;
// UNSTITCH crosses both ways; a refusal or a joiner that left leaves nothing behind; frames from
// the target that overtake the JOIN reply are not lost; hop messages count only from the RN the
// stitch was made with (the review: an RN that took a replayed JOIN request ended the real stitch).

import { describe, expect, it } from 'vitest';
import { decodeHop, decodeHops, encodeHopData, HOP_BATCH_HEADER, hopBatchHeader, HopType, splitHopBatch } from '../../src/rn/fabric/messages.js';
import { HopOutbox } from '../../src/rn/fabric/outbox.js';
import { HOP_WINDOW, RemotePeer } from '../../src/rn/fabric/remote-peer.js';
import { RnStats } from '../../src/rn/stats.js';
import type { FabricHooks, RemoteSide } from '../../src/rn/fabric/hooks.js';
import { Switchboard, type JoinMessage, type Peer } from '../../src/rn/switchboard.js';
import { silentLog } from '../../src/rn/log.js';
import { concat, readU32, toHex } from '../../src/uzp/bytes.js';
import { ControlKind, JoinRefusedCode, UnstitchCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { encodeFrame, type Frame } from '../../src/uzp/link/frame.js';
import { encodeRelay } from '../../src/uzp/link/messages.js';
import { FrameType } from '../../src/uzp/link/constants.js';
import { TestDomain } from '../helpers/domain.js';

/** A RELAY frame's bytes as the decoder hands them to the switchboard. */
const frameOf = (raw: Uint8Array): Frame => ({ type: raw[4]!, payload: raw.subarray(5), raw });

let ids = 0;
class Link implements Peer {
  readonly linkId = ++ids;
  readonly control: ControlMessage[] = [];
  readonly data: Uint8Array[] = [];
  congested = false;
  readonly heldFor: Peer[] = [];
  private relieved: (() => void)[] = [];
  constructor(readonly cid: Uint8Array) {}
  sendControl(m: ControlMessage): void {
    this.control.push(m);
  }
  sendData(f: Uint8Array | readonly Uint8Array[]): void {
    this.data.push(f instanceof Uint8Array ? f : concat(...f));
  }
  holdFor(other: Peer): void {
    this.heldFor.push(other);
  }
  onRelieved(cb: () => void): void {
    this.relieved.push(cb);
  }
  relieve(): void {
    this.congested = false;
    for (const cb of this.relieved.splice(0)) cb();
  }
  markStuck(): void {}
  of<K extends ControlMessage['kind']>(kind: K): Extract<ControlMessage, { kind: K }>[] {
    return this.control.filter((m) => m.kind === kind) as Extract<ControlMessage, { kind: K }>[];
  }
}

/** One RN: a Switchboard and its side of the in-memory fabric. */
class Rn implements FabricHooks {
  readonly stats = new RnStats();
  readonly sb: Switchboard;
  readonly presence = new Set<string>();
  readonly calls: string[] = [];
  readonly out: HopOutbox;
  refuseWith: number | undefined;
  constructor(
    readonly cid: Uint8Array,
    readonly net: Net,
    trust: ReturnType<TestDomain['trust']>,
  ) {
    this.sb = new Switchboard({ trust, stats: this.stats, log: silentLog });
    // Batches name their sender; their tag is Fabric's business (fabric-hostile.test.ts), none here.
    this.out = new HopOutbox((rn, bytes) => this.net.send(rn, bytes), { header: hopBatchHeader(cid), tagLength: 0, tag: () => new Uint8Array(0), dropped: () => undefined });
    this.sb.setFabric(this);
    net.rns.set(toHex(cid), this);
  }
  present(cid: Uint8Array): void {
    this.calls.push(`present ${toHex(cid).slice(0, 4)}`);
    this.presence.add(toHex(cid));
  }
  absent(cid: Uint8Array): void {
    this.calls.push(`absent ${toHex(cid).slice(0, 4)}`);
    this.presence.delete(toHex(cid));
  }
  remote(cid: Uint8Array, stitchId: number): RemoteSide {
    return new RemotePeer(cid, stitchId, this.out, this.stats.fabric);
  }
  async route(initiator: Peer, m: JoinMessage, stitchId: number): Promise<{ rn: Uint8Array; stitch: number } | { code: number }> {
    await Promise.resolve();
    const egress = [...this.net.rns.values()].find((r) => r !== this && r.presence.has(toHex(m.target)));
    if (egress === undefined) return { code: JoinRefusedCode.PEER_NOT_ATTACHED };
    if (egress.refuseWith !== undefined) return { code: egress.refuseWith };
    const r = egress.sb.acceptRemote({
      ingress: this.cid,
      initiator: initiator.cid,
      target: m.target,
      grant: m.grant,
      ch1: m.ch1,
      remote: (id) => {
        const p = new RemotePeer(initiator.cid, id, egress.out, egress.stats.fabric);
        p.connect(this.cid, stitchId);
        return p;
      },
    });
    // Held until the test releases it (a reply overtaken by the target's first frames).
    await this.net.replyGate;
    return 'code' in r ? r : { rn: egress.cid, stitch: r.stitchId };
  }
  hop(bytes: Uint8Array): void {
    const b = splitHopBatch(bytes, 0);
    for (const h of decodeHops(b.messages)) {
      if (h.type === HopType.DATA) this.sb.remoteData(b.sender, h.stitch, h.offset, h.frame);
      else if (h.type === HopType.CREDIT) this.sb.remoteCredit(b.sender, h.stitch, h.consumed);
      else if (h.type === HopType.UNSTITCH) this.sb.remoteUnstitch(b.sender, h.stitch, h.code);
    }
  }
}

/** NATS in miniature: hop messages queue until flush(). */
class Net {
  readonly rns = new Map<string, Rn>();
  readonly queue: { to: string; bytes: Uint8Array }[] = [];
  replyGate: Promise<void> = Promise.resolve();
  send(rn: Uint8Array, bytes: Uint8Array): void {
    this.queue.push({ to: toHex(rn), bytes });
  }
  /** Sends what every RN has batched, then delivers every queued NATS message (and what that causes). */
  flush(): number {
    let n = 0;
    for (const rn of this.rns.values()) rn.out.flush();
    while (this.queue.length > 0) {
      const m = this.queue.shift()!;
      this.rns.get(m.to)?.hop(m.bytes);
      n++;
      for (const rn of this.rns.values()) rn.out.flush();
    }
    return n;
  }
}

function setup() {
  const d = new TestDomain();
  const net = new Net();
  const A = new Rn(d.member('rn').id.cid, net, d.trust());
  const B = new Rn(d.member('rn').id.cid, net, d.trust());
  const op = d.member('operator');
  const gw = d.member('gateway');
  const opLink = new Link(op.id.cid);
  const gwLink = new Link(gw.id.cid);
  A.sb.attach(opLink);
  B.sb.attach(gwLink);
  B.sb.setAccepting(gwLink);
  const join = (): void => A.sb.join(opLink, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1: Uint8Array.of(9, 9) });
  return { d, net, A, B, op, gw, opLink, gwLink, join };
}

const relay = (stitch: number, payload: Uint8Array): Uint8Array => encodeFrame(FrameType.RELAY, encodeRelay({ stitchId: stitch, payload }));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('switchboard across the fabric', () => {
  it('presence follows the first ACCEPT and the last accepting link of a CID', () => {
    const { B, gw, gwLink } = setup();
    const second = new Link(gw.id.cid);
    B.sb.attach(second);
    B.sb.setAccepting(second);
    expect(B.calls).toEqual([`present ${toHex(gw.id.cid).slice(0, 4)}`]);
    B.sb.detach(gwLink);
    expect(B.calls).toHaveLength(1);
    B.sb.detach(second);
    expect(B.calls).toEqual([`present ${toHex(gw.id.cid).slice(0, 4)}`, `absent ${toHex(gw.id.cid).slice(0, 4)}`]);
  });

  it('a JOIN for a CID held by the other RN: OFFER_VIA naming the ingress RN at the egress, JOINED at the ingress, frames both ways with each side\'s stitch id', async () => {
    const { net, A, B, op, opLink, gwLink, join } = setup();
    join();
    await tick();
    const offer = gwLink.of(ControlKind.OFFER_VIA)[0]!;
    expect(toHex(offer.via)).toBe(toHex(A.cid));
    expect(toHex(offer.initiator)).toBe(toHex(op.id.cid));
    expect(offer.ch1).toEqual(Uint8Array.of(9, 9));
    const joined = opLink.of(ControlKind.JOINED)[0]!;
    expect(A.stats.stitches).toBe(1);
    expect(B.stats.stitches).toBe(1);
    A.sb.relay(opLink, frameOf(relay(joined.stitchId, Uint8Array.of(1, 2, 3))));
    expect(net.flush()).toBe(1);
    expect(gwLink.data).toHaveLength(1);
    expect(readU32(gwLink.data[0]!, 5)).toBe(offer.stitchId);
    expect(gwLink.data[0]!.subarray(9)).toEqual(Uint8Array.of(1, 2, 3));
    const back = relay(offer.stitchId, Uint8Array.of(7));
    B.sb.relay(gwLink, frameOf(back));
    net.flush();
    expect(readU32(opLink.data[0]!, 5)).toBe(joined.stitchId);
  });

  it('frames from the target that overtake the JOIN reply are held and reach the initiator right after JOINED', async () => {
    const { net, B, opLink, gwLink, join } = setup();
    let release!: () => void;
    net.replyGate = new Promise((r) => (release = r));
    join();
    await tick();
    const offer = gwLink.of(ControlKind.OFFER_VIA)[0]!;
    const first = relay(offer.stitchId, Uint8Array.of(0x53, 0x48));
    B.sb.relay(gwLink, frameOf(first));
    net.flush();
    // Held: the joiner would drop a RELAY for a stitch it has not been told of.
    expect(opLink.of(ControlKind.JOINED)).toHaveLength(0);
    expect(opLink.data).toHaveLength(0);
    release();
    await tick();
    await tick();
    expect(opLink.of(ControlKind.JOINED)).toHaveLength(1);
    expect(opLink.data).toHaveLength(1);
    expect(opLink.data[0]!.subarray(9)).toEqual(Uint8Array.of(0x53, 0x48));
  });

  it('credit: a stitch is congested after HOP_WINDOW bytes in flight, holds the sending link, and opens again on CREDIT', async () => {
    const { net, A, opLink, gwLink, join } = setup();
    join();
    await tick();
    const id = opLink.of(ControlKind.JOINED)[0]!.stitchId;
    const chunk = new Uint8Array(64 * 1024);
    let n = 0;
    while (opLink.heldFor.length === 0 && n < 100) {
      const f = relay(id, chunk);
      A.sb.relay(opLink, frameOf(f));
      n++;
    }
    expect(n * (chunk.length + 9)).toBeGreaterThanOrEqual(HOP_WINDOW);
    expect(n * (chunk.length + 9)).toBeLessThan(HOP_WINDOW + 2 * (chunk.length + 9));
    const remote = opLink.heldFor[0]!;
    expect(remote.congested).toBe(true);
    let relieved = false;
    remote.onRelieved(() => (relieved = true));
    // The egress forwards and owes credit; a quarter of the window owed is reported at once.
    net.flush();
    expect(gwLink.data).toHaveLength(n);
    net.flush();
    expect(relieved).toBe(true);
    expect(remote.congested).toBe(false);
  });

  it('the egress withholds credit while its EP link is congested, and gives it when the link drains', async () => {
    const { net, A, B, opLink, gwLink, join } = setup();
    join();
    await tick();
    const id = opLink.of(ControlKind.JOINED)[0]!.stitchId;
    gwLink.congested = true;
    const f = relay(id, new Uint8Array(200 * 1024));
    A.sb.relay(opLink, frameOf(f));
    net.flush();
    expect(gwLink.data).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 10));
    A.out.flush();
    B.out.flush();
    expect(net.queue.filter((m) => m.bytes[HOP_BATCH_HEADER] === HopType.CREDIT)).toHaveLength(0);
    gwLink.relieve();
    B.out.flush();
    expect(net.queue.filter((m) => m.bytes[HOP_BATCH_HEADER] === HopType.CREDIT)).toHaveLength(1);
  });

  it('UNSTITCH from the initiator crosses the hop to the target', async () => {
    const { net, A, B, opLink, gwLink, join } = setup();
    join();
    await tick();
    const id = opLink.of(ControlKind.JOINED)[0]!.stitchId;
    A.sb.unstitch(opLink, id, UnstitchCode.CLOSED);
    net.flush();
    expect(gwLink.of(ControlKind.UNSTITCH)).toEqual([{ kind: ControlKind.UNSTITCH, stitchId: gwLink.of(ControlKind.OFFER_VIA)[0]!.stitchId, code: UnstitchCode.CLOSED }]);
    expect(A.stats.stitches + B.stats.stitches).toBe(0);
  });

  it('the target\'s link dying tears down the initiator\'s side through the hop', async () => {
    const { net, A, B, opLink, gwLink, join } = setup();
    join();
    await tick();
    const id = opLink.of(ControlKind.JOINED)[0]!.stitchId;
    B.sb.detach(gwLink);
    net.flush();
    expect(opLink.of(ControlKind.UNSTITCH)).toEqual([{ kind: ControlKind.UNSTITCH, stitchId: id, code: UnstitchCode.PEER_GONE }]);
    expect(A.stats.stitches + B.stats.stitches).toBe(0);
  });

  it('a refusal at the egress reaches the joiner as JOIN_REFUSED and leaves no stitch; a joiner that left before the reply gets its far side torn down', async () => {
    const s = setup();
    s.B.refuseWith = JoinRefusedCode.OVERLOADED;
    s.join();
    await tick();
    expect(s.opLink.of(ControlKind.JOIN_REFUSED)).toEqual([{ kind: ControlKind.JOIN_REFUSED, joinId: 1, code: JoinRefusedCode.OVERLOADED }]);
    expect(s.A.stats.stitches).toBe(0);
    const t = setup();
    let release!: () => void;
    t.net.replyGate = new Promise((r) => (release = r));
    t.join();
    await tick();
    t.A.sb.detach(t.opLink);
    release();
    await tick();
    await tick();
    t.net.flush();
    expect(t.gwLink.of(ControlKind.UNSTITCH)).toHaveLength(1);
    expect(t.A.stats.stitches + t.B.stats.stitches).toBe(0);
  });

  it('hop messages count only from the RN the stitch was made with: a third RN\'s DATA, CREDIT and UNSTITCH are dropped, also those that came before the JOIN reply', async () => {
    const { d, net, A, B, opLink, gwLink, join } = setup();
    // RN C, of the same set: it took the same JOIN request replayed, and tells RN A the stitch ended.
    const C = new Rn(d.member('rn').id.cid, net, d.trust());
    let release!: () => void;
    net.replyGate = new Promise((r) => (release = r));
    join();
    await tick();
    const offer = gwLink.of(ControlKind.OFFER_VIA)[0]!;
    B.sb.relay(gwLink, frameOf(relay(offer.stitchId, Uint8Array.of(0x53, 0x48))));
    // RN A's id for the stitch, as the replayed request told RN C.
    const id = [...(A.sb as unknown as { remotes: Map<number, unknown> }).remotes.keys()][0]!;
    C.out.data(A.cid, id, 0, relay(id, Uint8Array.of(0xee)));
    C.out.unstitch(A.cid, id, UnstitchCode.REJECTED);
    net.flush();
    release();
    await tick();
    await tick();
    expect(opLink.of(ControlKind.JOINED)).toHaveLength(1);
    expect(opLink.data.map((f) => [...f.subarray(9)])).toEqual([[0x53, 0x48]]);
    expect(opLink.of(ControlKind.UNSTITCH)).toHaveLength(0);
    // And once stitched: C's messages still count for nothing; B's do.
    const dropped = A.stats.dropped.foreign_stitch;
    C.out.unstitch(A.cid, id, UnstitchCode.REJECTED);
    C.out.credit(A.cid, id, 1 << 30);
    C.out.data(A.cid, id, 0, relay(id, Uint8Array.of(0xee)));
    net.flush();
    expect(A.stats.dropped.foreign_stitch - dropped).toBe(3);
    expect(A.stats.stitches).toBe(1);
    B.sb.relay(gwLink, frameOf(relay(offer.stitchId, Uint8Array.of(0x46))));
    net.flush();
    expect(opLink.data.map((f) => [...f.subarray(9)])).toEqual([[0x53, 0x48], [0x46]]);
    B.sb.unstitch(gwLink, offer.stitchId, UnstitchCode.CLOSED);
    net.flush();
    expect(opLink.of(ControlKind.UNSTITCH)).toHaveLength(1);
  });

  it('no RN holds the target: JOIN_REFUSED 2', async () => {
    const { A, B, opLink, gwLink, join } = setup();
    B.sb.detach(gwLink);
    join();
    await tick();
    expect(opLink.of(ControlKind.JOIN_REFUSED)[0]!.code).toBe(JoinRefusedCode.PEER_NOT_ATTACHED);
    expect(A.stats.stitches).toBe(0);
  });
});

describe('RemotePeer', () => {
  it('markStuck writes off what is in flight; past twice the window frames are dropped, not queued', () => {
    const sent: Uint8Array[] = [];
    const stats = new RnStats().fabric;
    const out = { data: (_rn: Uint8Array, stitch: number, offset: number, frame: Uint8Array) => sent.push(encodeHopData(stitch, offset, frame)), credit: () => undefined, unstitch: () => undefined };
    const p = new RemotePeer(new Uint8Array(32), 1, out, stats);
    p.connect(new Uint8Array(32).fill(1), 5);
    const frame = relay(1, new Uint8Array(100 * 1024));
    for (let i = 0; i < 12; i++) p.sendData(frame);
    expect(p.congested).toBe(true);
    expect(stats.hopDropped).toBeGreaterThan(0);
    expect(sent.length * frame.length).toBeLessThanOrEqual(2 * HOP_WINDOW);
    p.markStuck();
    expect(p.congested).toBe(false);
    // Frames go out with the receiver's stitch id and increasing offsets.
    const hops = sent.map(decodeHop) as { stitch: number; offset: number }[];
    expect(hops.every((h) => h.stitch === 5)).toBe(true);
    expect(hops.map((h) => h.offset)).toEqual(hops.map((_, i) => i * frame.length));
  });
});
