import { describe, expect, it } from 'vitest';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import type { RnLog } from '../../src/rn/log.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { ControlKind, FrameType, JoinRefusedCode, UnstitchCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { FrameDecoder, encodeFrame } from '../../src/uzp/link/frame.js';
import { concat } from '../../src/uzp/bytes.js';
import { encodeRelay } from '../../src/uzp/link/messages.js';
import { TestDomain } from '../helpers/domain.js';

let linkIds = 0;
class FakePeer implements Peer {
  readonly linkId = ++linkIds;
  readonly control: ControlMessage[] = [];
  readonly data: Uint8Array[] = [];
  constructor(readonly cid: Uint8Array) {}
  sendControl(m: ControlMessage): void {
    this.control.push(m);
  }
  /** Frames sent in pieces, as they were handed over (data has every frame joined). */
  readonly pieces: (readonly Uint8Array[])[] = [];
  sendData(frame: Uint8Array | readonly Uint8Array[]): void {
    if (!(frame instanceof Uint8Array)) this.pieces.push(frame);
    this.data.push(frame instanceof Uint8Array ? frame : concat(...frame));
  }
  congested = false;
  readonly heldFor: Peer[] = [];
  holdFor(other: Peer): void {
    this.heldFor.push(other);
  }
  onRelieved(): void {}
  markStuck(): void {}
  last(): ControlMessage | undefined {
    return this.control[this.control.length - 1];
  }
}

function recordingLog(): RnLog & { lines: object[] } {
  const lines: object[] = [];
  const rec = (o: object) => void lines.push(o);
  return { lines, debug: rec, info: rec, warn: rec, error: rec };
}

function setup() {
  const d = new TestDomain();
  const trust = d.trust();
  const stats = new RnStats();
  const log = recordingLog();
  const sb = new Switchboard({ trust, stats, log, maxStitchesPerLink: 3, maxStitchesPerInitiator: 3 });
  const op = d.member('operator');
  const gw = d.member('gateway');
  const a = new FakePeer(op.id.cid);
  const b = new FakePeer(gw.id.cid);
  sb.attach(a);
  sb.attach(b);
  return { d, trust, stats, log, sb, op, gw, a, b };
}

const ch1 = Uint8Array.of(1, 2, 3);

describe('switchboard: JOIN, OFFER, stitch, relay', () => {
  it('stitches a JOIN with a valid Grant: OFFER to the target, JOINED to the initiator', () => {
    const { d, sb, a, b, op, gw, stats } = setup();
    sb.setAccepting(b);
    const grant = d.grant(op.id.cid, gw.id.cid);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 5, target: gw.id.cid, grant, ch1 });
    const offer = b.last();
    expect(offer).toMatchObject({ kind: ControlKind.OFFER, grant, ch1 });
    const joined = a.last();
    expect(joined).toMatchObject({ kind: ControlKind.JOINED, joinId: 5 });
    expect((joined as { stitchId: number }).stitchId).toBe((offer as { stitchId: number }).stitchId);
    expect(stats.stitches).toBe(1);
  });

  it('refuses with PEER_NOT_ATTACHED(2) when the target is absent or not accepting', () => {
    const { d, sb, a, b, op, gw } = setup();
    const grant = d.grant(op.id.cid, gw.id.cid);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant, ch1 });
    expect(a.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 1, code: JoinRefusedCode.PEER_NOT_ATTACHED });
    expect(b.control).toHaveLength(0);
  });

  it('refuses a Grant for other parties with code 7 (about the joiner\'s own Grant) and logs the precise reason locally', () => {
    const { d, sb, a, b, op, gw, log } = setup();
    sb.setAccepting(b);
    const forOther = d.grant(op.id.cid, d.member('gateway').id.cid);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 2, target: gw.id.cid, grant: forOther, ch1 });
    expect(a.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 2, code: JoinRefusedCode.GRANT_PARTIES });
    expect(log.lines.some((l) => (l as { error?: string }).error === ErrorCode.GRANT_AUDIENCE)).toBe(true);
    // Subject is the joiner: a Grant naming someone else is refused too.
    const otherSubject = d.grant(d.member('operator').id.cid, gw.id.cid);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 3, target: gw.id.cid, grant: otherSubject, ch1 });
    expect(a.last()).toMatchObject({ kind: ControlKind.JOIN_REFUSED, joinId: 3, code: JoinRefusedCode.GRANT_PARTIES });
    expect(log.lines.some((l) => (l as { error?: string }).error === ErrorCode.GRANT_SUBJECT)).toBe(true);
    expect(b.control).toHaveLength(0);
  });

  it('OFFERs go to the most recent accepting link of the target CID, never back to the joining link', () => {
    const { d, sb, a, op, gw } = setup();
    const b2 = new FakePeer(gw.id.cid);
    const b3 = new FakePeer(gw.id.cid);
    sb.attach(b2);
    sb.attach(b3);
    sb.setAccepting(b2);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(b2.last()?.kind).toBe(ControlKind.OFFER);
    sb.setAccepting(b3);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 2, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(b3.last()?.kind).toBe(ControlKind.OFFER);
    // Self-join: the joining link itself is not a responder for its own JOIN.
    const self = new FakePeer(op.id.cid);
    sb.attach(self);
    sb.setAccepting(self);
    sb.join(self, { kind: ControlKind.JOIN, joinId: 9, target: op.id.cid, grant: d.grant(op.id.cid, op.id.cid), ch1 });
    expect(self.last()).toMatchObject({ kind: ControlKind.JOIN_REFUSED, code: 2 });
  });

  it('relays only for stitch members, forwards the exact bytes, counts foreign ids', () => {
    const { d, sb, a, b, op, gw, stats } = setup();
    sb.setAccepting(b);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    const id = (a.last() as { stitchId: number }).stitchId;
    const payload = encodeRelay({ stitchId: id, payload: Uint8Array.of(9, 8, 7) });
    const raw = encodeFrame(FrameType.RELAY, payload);
    const frame = { type: FrameType.RELAY, payload, raw };
    sb.relay(a, frame);
    sb.relay(b, frame);
    const fa = new FrameDecoder(1 << 20).push(b.data[0]!);
    expect(fa[0]!.type).toBe(FrameType.RELAY);
    expect(fa[0]!.payload).toEqual(payload);
    expect(a.data).toHaveLength(1);
    // A third link cannot inject into the stitch, and unknown ids are dropped.
    const c = new FakePeer(d.member('operator').id.cid);
    sb.attach(c);
    sb.relay(c, frame);
    const foreign = encodeRelay({ stitchId: id + 100, payload: Uint8Array.of(1) });
    sb.relay(a, { type: FrameType.RELAY, payload: foreign, raw: encodeFrame(FrameType.RELAY, foreign) });
    sb.relay(a, { type: FrameType.RELAY, payload: Uint8Array.of(1, 2), raw: encodeFrame(FrameType.RELAY, Uint8Array.of(1, 2)) });
    expect(b.data).toHaveLength(1);
    expect(stats.dropped.foreign_stitch).toBe(2);
    expect(stats.dropped.malformed_relay).toBe(1);
    expect(stats.framesRelayed).toBe(2);
    expect(stats.bytesRelayed).toBe(6);
  });

  it('relays a frame that spanned reads as its pieces, reading the stitch id across them', () => {
    const { d, sb, a, b, op, gw, stats } = setup();
    sb.setAccepting(b);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    const id = (a.last() as { stitchId: number }).stitchId;
    const raw = encodeFrame(FrameType.RELAY, encodeRelay({ stitchId: id, payload: Uint8Array.of(9, 8, 7) }));
    const frame = new FrameDecoder(1 << 20, { pieces: true });
    const frames = [...frame.push(raw.slice(0, 7)), ...frame.push(raw.slice(7))]; // the stitch id straddles the two reads
    expect(frames[0]!.pieces).toHaveLength(3);
    sb.relay(a, frames[0]!);
    expect(b.pieces[0]).toBe(frames[0]!.pieces); // forwarded as they are
    expect(b.data[0]).toEqual(raw);
    expect(stats.bytesRelayed).toBe(3);
  });

  it('holds the sending link while the receiving link is congested (relay backpressure)', () => {
    const { d, sb, a, b, op, gw } = setup();
    sb.setAccepting(b);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    const id = (a.last() as { stitchId: number }).stitchId;
    const payload = encodeRelay({ stitchId: id, payload: Uint8Array.of(1) });
    const raw = encodeFrame(FrameType.RELAY, payload);
    sb.relay(a, { type: FrameType.RELAY, payload, raw });
    expect(a.heldFor).toEqual([]);
    b.congested = true;
    sb.relay(a, { type: FrameType.RELAY, payload, raw });
    expect(a.heldFor).toEqual([b]);
    expect(b.data).toHaveLength(2); // the frame itself is still forwarded
  });

  it('UNSTITCH / REJECT_OFFER / detach tear down and tell the other side', () => {
    const { d, sb, a, b, op, gw, stats } = setup();
    sb.setAccepting(b);
    const join = (n: number) => {
      sb.join(a, { kind: ControlKind.JOIN, joinId: n, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
      return (a.last() as { stitchId: number }).stitchId;
    };
    const s1 = join(1);
    sb.rejectOffer(a, s1); // only the target may reject
    expect(stats.stitches).toBe(1);
    sb.rejectOffer(b, s1);
    expect(a.last()).toEqual({ kind: ControlKind.UNSTITCH, stitchId: s1, code: UnstitchCode.REJECTED });
    const s2 = join(2);
    sb.unstitch(b, s2, UnstitchCode.CLOSED);
    expect(a.last()).toEqual({ kind: ControlKind.UNSTITCH, stitchId: s2, code: UnstitchCode.CLOSED });
    const s3 = join(3);
    const before = b.control.length;
    sb.detach(a);
    expect(b.control.slice(before)).toEqual([{ kind: ControlKind.UNSTITCH, stitchId: s3, code: UnstitchCode.PEER_GONE }]);
    expect(stats.stitches).toBe(0);
    const gone = encodeRelay({ stitchId: s3, payload: Uint8Array.of(1) });
    sb.relay(b, { type: FrameType.RELAY, payload: gone, raw: encodeFrame(FrameType.RELAY, gone) });
    expect(stats.dropped.foreign_stitch).toBe(1);
  });

  it('caps stitches per link with JOIN_REFUSED(overloaded)', () => {
    const { d, sb, a, b, op, gw } = setup();
    sb.setAccepting(b);
    for (let i = 0; i < 3; i++) sb.join(a, { kind: ControlKind.JOIN, joinId: i, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    sb.join(a, { kind: ControlKind.JOIN, joinId: 99, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(a.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 99, code: JoinRefusedCode.OVERLOADED });
  });

  it("caps one initiator's stitches to a target link (a share of the link's cap): another initiator still gets in", () => {
    const d = new TestDomain();
    const stats = new RnStats();
    const sb = new Switchboard({ trust: d.trust(), stats, log: recordingLog(), maxStitchesPerLink: 8, maxStitchesPerInitiator: 2 });
    const [op, other, gw] = [d.member('operator'), d.member('operator'), d.member('gateway')];
    const [a1, a2, o, b] = [new FakePeer(op.id.cid), new FakePeer(op.id.cid), new FakePeer(other.id.cid), new FakePeer(gw.id.cid)];
    for (const p of [a1, a2, o, b]) sb.attach(p);
    sb.setAccepting(b);
    const join = (p: FakePeer, m: typeof op, joinId: number) => sb.join(p, { kind: ControlKind.JOIN, joinId, target: gw.id.cid, grant: d.grant(m.id.cid, gw.id.cid), ch1 });
    join(a1, op, 1);
    join(a2, op, 2); // the same identity over another link counts too
    join(a1, op, 3);
    // Before: one operator with a valid Grant could take all of the gateway link's stitches.
    expect(a1.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 3, code: JoinRefusedCode.OVERLOADED });
    join(o, other, 4);
    expect(o.last()).toMatchObject({ kind: ControlKind.JOINED, joinId: 4 });
  });

  it('stitch ids are unpredictable: one id says nothing about the others (a batch of UNSTITCH for 1..1000 once ended every stitch)', () => {
    const d = new TestDomain();
    const sb = new Switchboard({ trust: d.trust(), stats: new RnStats(), log: recordingLog() });
    const gw = d.member('gateway');
    const target = new FakePeer(gw.id.cid);
    sb.attach(target);
    sb.setAccepting(target);
    const ids: number[] = [];
    for (let i = 0; i < 64; i++) {
      const op = d.member('operator');
      const a = new FakePeer(op.id.cid);
      sb.attach(a);
      sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
      ids.push((a.last() as { stitchId: number }).stitchId);
    }
    expect(new Set(ids).size).toBe(64);
    expect(ids.every((id) => Number.isInteger(id) && id > 0 && id <= 0xffff_ffff)).toBe(true);
    // Random u32s: a neighbour of another id, or all of them below 2^24, would be a ~2^-26 and a
    // 2^-512 chance; sequential ids are both every time.
    const neighbours = ids.filter((id) => ids.includes(id + 1)).length;
    expect(neighbours).toBe(0);
    expect(Math.max(...ids)).toBeGreaterThan(2 ** 24);
  });

  it('accepts a JOIN whose Grant nonce is older than one already seen: 1-RTT, bounded by the Grant window (draft §9)', () => {
    const { d, sb, a, b, op, gw } = setup();
    sb.setAccepting(b);
    const g5 = d.grant(op.id.cid, gw.id.cid, { nonce: 5 });
    const g3 = d.grant(op.id.cid, gw.id.cid, { nonce: 3 });
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: g5, ch1 });
    expect(a.last()?.kind).toBe(ControlKind.JOINED);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 2, target: gw.id.cid, grant: g3, ch1 });
    expect(a.last()).toMatchObject({ kind: ControlKind.JOINED, joinId: 2 });
  });
});

describe('switchboard: links awaiting attestation (--require-attestation)', () => {
  it('an ACCEPT held for attestation offers nothing; JOINs get NOT_ATTESTED(4) until setAccepting()', () => {
    const { d, sb, a, b, op, gw, stats } = setup();
    sb.setAwaitingAttestation(b);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(a.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 1, code: JoinRefusedCode.NOT_ATTESTED });
    expect(b.control).toHaveLength(0);
    sb.setAccepting(b); // the link attested
    sb.join(a, { kind: ControlKind.JOIN, joinId: 2, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(b.last()?.kind).toBe(ControlKind.OFFER);
    expect(a.last()).toMatchObject({ kind: ControlKind.JOINED, joinId: 2 });
    expect(stats.joinsRefused).toBe(1);
  });

  it('an attested accepting link of the CID wins over one still awaiting; detach forgets the waiting link', () => {
    const { d, sb, a, b, op, gw } = setup();
    const b2 = new FakePeer(gw.id.cid);
    sb.attach(b2);
    sb.setAccepting(b);
    sb.setAwaitingAttestation(b2); // a newer link of the same gateway, not attested yet
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(b.last()?.kind).toBe(ControlKind.OFFER);
    expect(b2.control).toHaveLength(0);
    sb.detach(b);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 2, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(a.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 2, code: JoinRefusedCode.NOT_ATTESTED });
    sb.detach(b2);
    sb.join(a, { kind: ControlKind.JOIN, joinId: 3, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(a.last()).toEqual({ kind: ControlKind.JOIN_REFUSED, joinId: 3, code: JoinRefusedCode.PEER_NOT_ATTACHED });
  });

  it('setAwaitingAttestation on an already accepting or unknown link changes nothing', () => {
    const { d, sb, a, b, op, gw } = setup();
    sb.setAccepting(b);
    sb.setAwaitingAttestation(b);
    sb.setAwaitingAttestation(new FakePeer(gw.id.cid)); // never attached
    sb.join(a, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: d.grant(op.id.cid, gw.id.cid), ch1 });
    expect(b.last()?.kind).toBe(ControlKind.OFFER);
  });
});
