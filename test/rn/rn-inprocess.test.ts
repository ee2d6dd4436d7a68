// The RN in-process with real EPs (RnLink) and misbehaving raw clients, all on 127.0.0.1.

import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode, type RendezvousNodeOptions } from '../../src/rn/server.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { equal, toHex } from '../../src/uzp/bytes.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { ControlKind, FrameType, RefusedCode, UnstitchCode } from '../../src/uzp/link/constants.js';
import { encodeFrame } from '../../src/uzp/link/frame.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import { StitchClosedError, type Stitch } from '../../src/uzp/link/stitch.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { once, until } from '../uzp/link/wait.js';
import { RawClient } from './raw-client.js';
import { errorOf } from '../helpers/errors.js';
import { CodedError } from '../../src/lib/errors.js';

interface Env {
  d: TestDomain;
  rn: RendezvousNode;
  rnTrust: TrustStore;
  rnId: Identity;
  address: string;
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startRn(d = new TestDomain(), opts: Partial<RendezvousNodeOptions> = {}): Promise<Env> {
  const rnId = d.member('rn').id;
  const rnTrust = d.trust();
  const rn = new RendezvousNode({ trust: rnTrust, seed: rnId.seed, ...opts });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  return { d, rn, rnTrust, rnId, address };
}

function epTrust(env: Env): TrustStore {
  const t = env.d.trust();
  t.setRnSet(env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]));
  return t;
}

async function attach(env: Env, m: Member, extra: Partial<Parameters<typeof RnLink.attach>[0]> = {}): Promise<RnLink> {
  const link = await RnLink.attach({ address: env.address, trust: epTrust(env), identity: { seed: m.id.seed, pcert: m.pcert }, ...extra });
  cleanups.push(() => link.close());
  return link;
}

async function raw(env: Env, m: Member): Promise<RawClient> {
  const c = await RawClient.attach(env.address, epTrust(env), m);
  cleanups.push(() => c.close());
  return c;
}

/** Gateway accepts, operator joins; returns both stitch ends. */
async function stitched(env: Env, grantOpts: Parameters<TestDomain['grant']>[2] = {}) {
  const gw = env.d.member('gateway');
  const op = env.d.member('operator');
  const gwLink = await attach(env, gw);
  const opLink = await attach(env, op);
  gwLink.accept();
  await until(() => env.rn.stats.links === 2);
  const offerP = once<Offer>((cb) => gwLink.once('offer', cb));
  const grant = env.d.grant(op.id.cid, gw.id.cid, grantOpts);
  const ch1 = Uint8Array.of(0x01, 0xc1);
  // ACCEPT and JOIN travel on different links: wait until the RN has seen the ACCEPT.
  const initiator = await joinWhenAccepting(opLink, gw.id.cid, grant, ch1);
  const offer = await offerP;
  expect(toHex(offer.initiator)).toBe(toHex(op.id.cid));
  expect(offer.grant).toEqual(grant);
  expect(offer.ch1).toEqual(ch1);
  expect(offer.stitchId).toBe(initiator.id);
  const responder = offer.accept();
  return { gw, op, gwLink, opLink, initiator, responder, grant };
}

async function joinWhenAccepting(link: RnLink, target: Uint8Array, grant: Uint8Array, ch1: Uint8Array): Promise<Stitch> {
  for (;;) {
    try {
      return await link.join(target, grant, ch1);
    } catch (e) {
      if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED) throw e;
    }
  }
}

function closeOf(s: Stitch): Promise<StitchClosedError | undefined> {
  return once<StitchClosedError | undefined>((cb) => s.onClose(cb));
}

function expectPeerClose(e: StitchClosedError | undefined, unstitchCode: number): void {
  expect(e).toBeInstanceOf(StitchClosedError);
  expect(e!.by).toBe('peer');
  expect(e!.unstitchCode).toBe(unstitchCode);
  expect(e!.code).toBe(unstitchCode === UnstitchCode.REJECTED ? ErrorCode.JOIN_REFUSED : ErrorCode.LINK_CLOSED);
}

function collect(s: Stitch): Uint8Array[] {
  const got: Uint8Array[] = [];
  s.onPayload((p) => got.push(p));
  return got;
}

describe('RN in-process: attach, join, stitch, relay', () => {
  it('two EPs attach, one accepts, the other joins with a valid Grant; payloads relay both ways', async () => {
    const env = await startRn();
    const { gwLink, opLink, initiator, responder } = await stitched(env);
    expect(toHex(gwLink.rnCid)).toBe(toHex(env.rnId.cid));
    expect(opLink.attached).toBe(true);
    const atGw = collect(responder);
    const atOp = collect(initiator);
    for (let i = 0; i < 20; i++) initiator.send(Uint8Array.of(1, i));
    for (let i = 0; i < 20; i++) responder.send(new Uint8Array(1000 + i).fill(i));
    await until(() => atGw.length === 20 && atOp.length === 20);
    expect(atGw.map((p) => p[1])).toEqual([...Array(20).keys()]);
    expect(atOp.map((p) => p.length)).toEqual([...Array(20).keys()].map((i) => 1000 + i));
    expect(env.rn.stats.framesRelayed).toBe(40);
    expect(env.rn.stats.stitches).toBe(1);
  });

  it('a large payload up to maxPayload relays intact; larger is refused locally', async () => {
    const env = await startRn();
    const { initiator, responder } = await stitched(env);
    const big = new Uint8Array(initiator.maxPayload).map((_, i) => i & 0xff);
    const got = collect(responder);
    initiator.send(big);
    await until(() => got.length === 1);
    expect(equal(got[0]!, big)).toBe(true);
    expect(() => initiator.send(new Uint8Array(initiator.maxPayload + 1))).toThrow(expect.objectContaining({ code: ErrorCode.LINK_FRAME_TOO_LARGE }));
  });

  it('closing a stitch tells the other side (UNSTITCH), and relay for it stops', async () => {
    const env = await startRn();
    const { initiator, responder } = await stitched(env);
    const reason = closeOf(responder);
    const own = closeOf(initiator);
    initiator.close();
    expect(await own).toBeUndefined(); // closed by this side: no error
    expectPeerClose(await reason, UnstitchCode.CLOSED);
    expect(() => initiator.send(Uint8Array.of(1))).toThrow(expect.objectContaining({ code: ErrorCode.LINK_CLOSED }));
    await until(() => env.rn.stats.stitches === 0);
  });

  it('link loss ends the stitch on the other side with PEER_GONE', async () => {
    const env = await startRn();
    const { gwLink, initiator, responder } = await stitched(env);
    const reason = closeOf(initiator);
    const local = closeOf(responder);
    gwLink.close();
    expectPeerClose(await reason, UnstitchCode.PEER_GONE);
    const e = await local; // the stitch on the closed link itself ends with by 'link'
    expect(e).toBeInstanceOf(StitchClosedError);
    expect(e!.by).toBe('link');
    expect(e!.code).toBe(ErrorCode.LINK_CLOSED);
  });

  it('payloads that arrive before accept() are kept and delivered when the consumer is set', async () => {
    const env = await startRn();
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.accept();
    let offer: Offer | undefined;
    gwLink.on('offer', (o) => (offer = o));
    const s = await joinWhenAccepting(opLink, gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    s.send(Uint8Array.of(7));
    s.send(Uint8Array.of(8));
    await until(() => offer !== undefined && gwLink.stats.relayIn === 2);
    const got = collect(offer!.accept());
    expect(got.map((p) => p[0])).toEqual([7, 8]);
  });

  it('an OFFER rejected by the target (or with no listener) ends the initiator stitch with REJECTED', async () => {
    const env = await startRn();
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.accept();
    gwLink.once('offer', (o) => o.reject());
    const s1 = await joinWhenAccepting(opLink, gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    expectPeerClose(await closeOf(s1), UnstitchCode.REJECTED);
    // No 'offer' listener at all: the link rejects by itself.
    const s2 = await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    expectPeerClose(await closeOf(s2), UnstitchCode.REJECTED);
  });
});

describe('RN in-process: refusals', () => {
  it('JOIN refused: target not attached / not accepting -> PEER_NOT_ATTACHED', async () => {
    const env = await startRn();
    const op = env.d.member('operator');
    const gw = env.d.member('gateway');
    const opLink = await attach(env, op);
    expect((await errorOf(opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0)))).code).toBe(ErrorCode.PEER_NOT_ATTACHED);
    await attach(env, gw); // attached, but not accepting
    expect((await errorOf(opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0)))).code).toBe(ErrorCode.PEER_NOT_ATTACHED);
  });

  it('JOIN refused, saying what is wrong with the joiner\'s own Grant: another audience, expired, revoked; an older nonce is accepted', async () => {
    const env = await startRn();
    const { gw, op, opLink } = await stitched(env, { nonce: 10 });
    // stitched() may have seen PEER_NOT_ATTACHED while the gateway's ACCEPT was on its way.
    const before = env.rn.stats.joinsRefused;
    const d = env.d;
    const refusedFor = async (grant: Uint8Array) => (await errorOf(opLink.join(gw.id.cid, grant, new Uint8Array(0)))).code;
    expect(await refusedFor(d.grant(op.id.cid, d.member('gateway').id.cid, { nonce: 11 }))).toBe(ErrorCode.GRANT_AUDIENCE);
    await opLink.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid, { nonce: 9 }), new Uint8Array(0)); // older than the stitched one's 10: still good
    const shortLived = d.grant(op.id.cid, gw.id.cid, { nonce: 12, validSeconds: 5 });
    const revoked = d.grant(op.id.cid, gw.id.cid, { nonce: 13 });
    env.rnTrust.setRevocation(d.revocation([], [decodeEnvelope(d.provider, revoked).objectId]));
    expect(await refusedFor(revoked)).toBe(ErrorCode.REVOKED);
    d.advance(5 + 301); // past exp and the skew allowance
    expect(await refusedFor(shortLived)).toBe(ErrorCode.ARTEFACT_EXPIRED);
    // ... and a fresh, valid Grant still works on the same link.
    await opLink.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid, { nonce: 20 }), new Uint8Array(0));
    expect(env.rn.stats.joinsRefused - before).toBe(3);
  });

  it('attachment refused for a revoked PCert, an expired PCert, and an rn-role PCert', async () => {
    const env = await startRn();
    const gw = env.d.member('gateway');
    env.rnTrust.setRevocation(env.d.revocation([gw.id.cid]));
    expect((await errorOf(attach(env, gw))).code).toBe(ErrorCode.ATTACH_REFUSED);
    const rnRole = env.d.member('rn');
    expect((await errorOf(attach(env, rnRole))).code).toBe(ErrorCode.ATTACH_REFUSED);
    const shortLived = env.d.member('gateway', { validSeconds: 1 });
    env.d.advance(400);
    expect((await errorOf(attach(env, shortLived))).code).toBe(ErrorCode.ATTACH_REFUSED);
    expect(env.rn.stats.refused.attach_failed).toBe(3);
    expect(env.rn.stats.links).toBe(0);
  });

  it('the EP refuses an RN that is not in its RN Set Statement', async () => {
    const env = await startRn();
    const gw = env.d.member('gateway');
    const t = env.d.trust();
    t.setRnSet(env.d.rnSet([{ id: env.d.member('rn').id, addresses: [env.address] }]));
    const e = await errorOf(RnLink.attach({ address: env.address, trust: t, identity: { seed: gw.id.seed, pcert: gw.pcert } }));
    expect(e.code).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
  });

  it('revalidate() after a revocation closes the revoked link and ends its stitches', async () => {
    const env = await startRn();
    const { gw, initiator } = await stitched(env);
    const reason = closeOf(initiator);
    env.rnTrust.setRevocation(env.d.revocation([gw.id.cid]));
    expect(env.rn.revalidate()).toBe(1);
    expectPeerClose(await reason, UnstitchCode.PEER_GONE);
    expect(env.rn.stats.closed.revoked).toBe(1);
  });
});

describe('RN in-process: hostile and slow peers', () => {
  it('RELAY frames with a foreign stitch id are dropped and counted', async () => {
    const env = await startRn();
    const { initiator, responder } = await stitched(env);
    const intruder = await raw(env, env.d.member('operator'));
    const got = collect(responder);
    intruder.sendRelay(initiator.id, Uint8Array.of(0xee));
    intruder.sendRelay(initiator.id + 1, Uint8Array.of(0xee));
    intruder.sendRaw(encodeFrame(FrameType.RELAY, Uint8Array.of(1, 2))); // too short for a stitch id
    await until(() => env.rn.stats.dropped.foreign_stitch === 2 && env.rn.stats.dropped.malformed_relay === 1);
    initiator.send(Uint8Array.of(0x11));
    await until(() => got.length === 1);
    expect(got).toEqual([Uint8Array.of(0x11)]);
  });

  it('drop-oldest bounds the queue of a target that does not read', async () => {
    const maxBytes = 64 * 1024;
    const env = await startRn(undefined, { dataQueueMaxBytes: maxBytes, dataQueueMaxFrames: 10_000 });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const target = await raw(env, gw);
    target.sendControl({ kind: ControlKind.ACCEPT });
    const opLink = await attach(env, op);
    const s = await joinWhenAccepting(opLink, gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    await target.control(ControlKind.OFFER);
    target.socket.pause(); // the target stops reading
    // Far more than loopback socket buffers absorb (a few MB), so the RN queue must overflow.
    const N = 30_000;
    const size = 1024;
    for (let i = 0; i < N; i++) {
      const p = new Uint8Array(size);
      new DataView(p.buffer).setUint32(0, i);
      s.send(p);
    }
    const conn = [...env.rn.connections].find((c) => c.state === 'attached' && toHex(c.cid) === toHex(gw.id.cid))!;
    await until(() => env.rn.stats.framesRelayed === N);
    expect(conn.queuedDataBytes).toBeLessThanOrEqual(maxBytes);
    const dropped = env.rn.stats.dropped.queue_overflow;
    expect(dropped).toBeGreaterThan(0);
    target.socket.resume();
    await until(() => target.received.filter((r) => r.type === 'relay').length === N - dropped);
    const seqs = target.received.filter((r) => r.type === 'relay').map((r) => new DataView((r as { payload: Uint8Array }).payload.buffer, (r as { payload: Uint8Array }).payload.byteOffset).getUint32(0));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs); // order kept
    expect(seqs[seqs.length - 1]).toBe(N - 1); // the newest survives; the oldest queued went
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('junk from strangers and from attached links never crashes the RN; other links keep working', async () => {
    const env = await startRn();
    const { initiator, responder } = await stitched(env);
    const got = collect(responder);
    const [host, port] = [env.address.split(':')[0]!, Number(env.address.split(':')[1])];
    const sprays: Uint8Array[] = [
      Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1), // oversize header
      Uint8Array.of(0, 0, 0, 0, 0), // zero length
      encodeFrame(FrameType.HELLO, new Uint8Array(64)), // wrong size HELLO
      encodeFrame(FrameType.HELLO, Uint8Array.of(9, ...new Uint8Array(64))), // bad version
      encodeFrame(FrameType.AUTH, new Uint8Array(100)), // AUTH before HELLO
      encodeFrame(FrameType.RELAY, new Uint8Array(10)), // RELAY before attachment
      encodeFrame(0x77, new Uint8Array(3)), // unknown type
    ];
    for (let i = 0; i < 40; i++) sprays.push(new Uint8Array(200 + i).map(() => (Math.random() * 256) | 0));
    await Promise.all(
      sprays.map(
        (b) =>
          new Promise<void>((resolve) => {
            const s = connect({ host, port }, () => s.write(b));
            s.on('error', () => {});
            s.on('close', () => resolve());
            s.resume();
            s.setTimeout(2000, () => s.destroy()); // a refused socket is closed by the RN long before
          }),
      ),
    );
    // An attached raw link sprays junk frames: its CONTROL fails authentication, the link is closed.
    const bad = await raw(env, env.d.member('gateway'));
    bad.sendRaw(encodeFrame(FrameType.CONTROL, new Uint8Array(40)));
    await bad.whenClosed();
    const bad2 = await raw(env, env.d.member('gateway'));
    bad2.sendRaw(encodeFrame(0x42, new Uint8Array(4)));
    await bad2.whenClosed();
    expect(env.rn.stats.closed.protocol).toBe(2);
    initiator.send(Uint8Array.of(5));
    await until(() => got.length === 1);
    expect(env.rn.stats.links).toBe(2);
    expect(env.rn.stats.preauth).toBe(0);
  });

  it('per-source HELLO rate limit refuses with OVERLOADED; the cap on links holds', async () => {
    const clock = new FakeClock();
    const env = await startRn(undefined, { helloBurst: 2, helloRatePerS: 1, clock, maxLinks: 10 });
    await raw(env, env.d.member('gateway'));
    await raw(env, env.d.member('gateway'));
    const e = await RawClient.attach(env.address, epTrust(env), env.d.member('gateway')).catch((x: { refusedCode?: number }) => x);
    expect((e as { refusedCode?: number }).refusedCode).toBe(RefusedCode.OVERLOADED);
    expect(env.rn.stats.refused.rate_limited).toBe(1);
    clock.advance(1000);
    await raw(env, env.d.member('gateway'));
    expect(env.rn.stats.links).toBe(3);
  });

  it('maxLinks refuses further attachments with OVERLOADED', async () => {
    const env = await startRn(undefined, { maxLinks: 1 });
    await raw(env, env.d.member('gateway'));
    const e = await RawClient.attach(env.address, epTrust(env), env.d.member('gateway')).catch((x: { refusedCode?: number }) => x);
    expect((e as { refusedCode?: number }).refusedCode).toBe(RefusedCode.OVERLOADED);
    expect(env.rn.stats.refused.link_cap).toBe(1);
  });

  it('pre-auth deadline and idle timeout close connections (fake clock)', async () => {
    const clock = new FakeClock();
    const env = await startRn(undefined, { clock, preauthDeadlineMs: 5000, idleTimeoutMs: 30_000, sweepMs: 1000 });
    const [host, port] = [env.address.split(':')[0]!, Number(env.address.split(':')[1])];
    const silent = connect({ host, port });
    silent.on('error', () => {});
    const silentClosed = once<void>((cb) => silent.on('close', () => cb()));
    await until(() => env.rn.stats.preauth === 1);
    const idle = await raw(env, env.d.member('gateway'));
    clock.advance(4000);
    expect(env.rn.stats.closed.preauth_deadline).toBe(0);
    clock.advance(1000);
    await silentClosed;
    expect(env.rn.stats.closed.preauth_deadline).toBe(1);
    expect(env.rn.stats.links).toBe(1);
    idle.sendControl({ kind: ControlKind.PING, nonce: 1 });
    await idle.control(ControlKind.PONG);
    clock.advance(29_000);
    expect(env.rn.stats.closed.idle).toBe(0);
    clock.advance(2000);
    await idle.whenClosed();
    expect(env.rn.stats.closed.idle).toBe(1);
  });

  it('a link whose PCert expires (beyond the validation skew) is closed by the sweep', async () => {
    const clock = new FakeClock();
    const env = await startRn(undefined, { clock, sweepMs: 1000 });
    const m = env.d.member('gateway', { validSeconds: 100 });
    const c = await raw(env, m);
    env.d.advance(100 + 200); // past exp but inside the 300 s skew validation allows
    clock.advance(1000);
    expect(env.rn.stats.closed.expired).toBe(0); // the sweep ran synchronously and kept it
    expect(env.rn.stats.links).toBe(1);
    env.d.advance(101);
    clock.advance(1000);
    await c.whenClosed();
    expect(env.rn.stats.closed.expired).toBe(1);
  });

  it('a pre-auth connection flood beyond the cap is cut at accept', async () => {
    const env = await startRn(undefined, { maxPreauth: 3 });
    const [host, port] = [env.address.split(':')[0]!, Number(env.address.split(':')[1])];
    const socks = Array.from({ length: 6 }, () => {
      const s = connect({ host, port });
      s.on('error', () => {});
      cleanups.push(() => void s.destroy());
      return s;
    });
    await until(() => env.rn.stats.preauth === 3 && env.rn.stats.refused.preauth_cap === 3);
    socks.forEach((s) => s.destroy());
    await until(() => env.rn.stats.preauth === 0);
  });

  it('close() unstitches, detaches every link and the EPs see the link close', async () => {
    const env = await startRn();
    const { gwLink, initiator } = await stitched(env);
    const closed = once<CodedError | undefined>((cb) => gwLink.once('close', cb));
    const reason = closeOf(initiator);
    await env.rn.close();
    expect((await closed)?.code).toBe(ErrorCode.LINK_CLOSED);
    expectPeerClose(await reason, UnstitchCode.RN);
  });
});
