// Standby stitches (EXT_STANDBY, STANDBY 0x06; src/uzp/session/restitch.ts addStandby,
// src/uzp/continuity-responder.ts, docs/PROFILE.md §Standby stitch): real sessions over in-memory
// stitches naming RNs, a real TrustStore with a real RN Set Statement. A STANDBY passes the same
// §11.4 checks as a RESUME but leaves the session where it is; on the loss of the active stitch both
// ends move onto the standby at once (no JOIN), after a local recheck; a peer that moved is followed
// only on an authenticated block; junk, replays and refused rechecks move nothing.

import { describe, expect, it } from 'vitest';
import { RESUME_TOKEN_LIFETIME_MS } from '../../src/uzp/continuity-initiator.js';
import { ResumeRegistry } from '../../src/uzp/continuity-responder.js';
import type { OfferPort } from '../../src/uzp/endpoint.js';
import { ErrorCode, UzpError, ValidationError } from '../../src/uzp/errors.js';
import { encodeResume, encodeStandby, MSG_RESUME, resumedValid, type ResumeToken } from '../../src/uzp/session/continuity.js';
import type { Session } from '../../src/uzp/session/session.js';
import { revalidated } from '../../src/uzp/session/state.js';
import { continuityPair, stitchVia, type ContinuityPair, type MemStitch } from '../helpers/continuity-pair.js';
import { turns } from '../helpers/fake-clock.js';

interface Offered {
  readonly offer: OfferPort;
  readonly initiatorEnd: MemStitch;
  /** The responder's end: what a hostile RN writes into. */
  readonly responderEnd: MemStitch & { deliver(b: Uint8Array): void };
  readonly counts: { accepted: number; rejected: number };
}

function offerOf(p: ContinuityPair, ch1: Uint8Array): Offered {
  const rn = p.rns[1];
  const [initiatorEnd, responderEnd] = stitchVia(rn);
  const counts = { accepted: 0, rejected: 0 };
  const offer: OfferPort = {
    stitchId: 9,
    initiator: p.op.id.cid,
    grant: p.grantBytes,
    ch1,
    rn: { cid: rn.cid, publicKey: rn.publicKey },
    accept: () => {
      counts.accepted++;
      return responderEnd;
    },
    reject: () => {
      counts.rejected++;
    },
  };
  return { offer, initiatorEnd, responderEnd: responderEnd as Offered['responderEnd'], counts };
}

function standbyToken(p: ContinuityPair, over: Partial<ResumeToken> = {}): Uint8Array {
  const keys = p.operator.failover!.continuity;
  const now = p.d.clock();
  return encodeStandby(p.d.provider, keys, { tag: keys.tag, generation: 1, issuedMs: now, expiresMs: now + RESUME_TOKEN_LIFETIME_MS, grantId: p.grant.objectId, rnSetId: p.trust.rnSet!.objectId, rnCid: p.rns[1].cid, ...over });
}

function registry(p: ContinuityPair, standby = true): ResumeRegistry {
  const r = new ResumeRegistry(p.trust, p.gw.id.cid, p.clock);
  r.add(p.gateway, p.grant, standby);
  return r;
}

function refusal(reg: ResumeRegistry, o: Offered): string {
  try {
    reg.resume(o.offer);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe(ErrorCode.CONTINUITY_REFUSED);
    return (e as Error).message;
  }
  throw new Error('not refused');
}

function received(s: Session): number[] {
  const got: number[] = [];
  s.on('channel', (ch) => ch.on('message', (m: Uint8Array) => got.push(m[0]!)));
  return got;
}

/**
 * Both ends hold a standby through rns[1]: the gateway's from the registry (a genuine STANDBY), the
 * operator's after a verified RESUMED, as keepStandby does.
 */
async function withStandby(opts: { operatorRecheck?: boolean } = {}) {
  // Every payload the operator sends on its first stitch, kept for replays.
  const sent: Uint8Array[] = [];
  const p = continuityPair({ hook: (b, from) => (from === 'a' && sent.push(b), [b]) });
  const got = received(p.gateway);
  const ch = p.operator.openChannel();
  ch.trySend(Uint8Array.of(1));
  await turns(40);
  expect(got).toEqual([1]);
  const reg = registry(p);
  const o = offerOf(p, standbyToken(p));
  const answer = new Promise<Uint8Array>((r) => o.initiatorEnd.onPayload(r));
  expect(reg.resume(o.offer)).toBe(p.gateway);
  const resumed = await answer;
  expect(resumedValid(p.d.provider, p.operator.failover!.continuity, resumed, 1, p.rns[1].cid)).toBe(true);
  const recheck = opts.operatorRecheck === false ? () => undefined : () => revalidated(p.rns[1].cid, p.clock.now());
  p.operator.addStandby(o.initiatorEnd, 1, recheck);
  return { p, reg, o, ch, got, sent };
}

describe('ResumeRegistry: STANDBY (draft §11.4 checks, made in advance)', () => {
  it('a genuine STANDBY is accepted: RESUMED answers it, the session stays stitched on its stitch and holds the standby', async () => {
    const p = continuityPair();
    const reg = registry(p);
    const events: unknown[] = [];
    p.gateway.on('standby', (g: number) => events.push(['standby', g]));
    p.gateway.on('restitched', () => events.push(['restitched']));
    const o = offerOf(p, standbyToken(p));
    reg.resume(o.offer);
    expect(o.counts).toEqual({ accepted: 1, rejected: 0 });
    expect(p.gateway.state).toBe('stitched');
    expect(p.gateway.rnCid).toEqual(p.rns[0].cid);
    expect(p.gateway.standbyRnCid).toEqual(p.rns[1].cid);
    expect(p.gateway.failover!.generation).toBe(0);
    expect(p.stitches[1].closed).toBe(false);
    expect(events).toEqual([['standby', 1]]);
  });

  it('the STANDBY generation is spent: the same token again, or an older one, is refused; a RESUME must go higher', async () => {
    const p = continuityPair();
    const reg = registry(p);
    const t = standbyToken(p, { generation: 2 });
    reg.resume(offerOf(p, t).offer);
    expect(refusal(reg, offerOf(p, t))).toMatch(/replayed token \(generation 2, accepted up to 2\)/);
    const keys = p.operator.failover!.continuity;
    const now = p.d.clock();
    const resume = (generation: number) => encodeResume(p.d.provider, keys, { tag: keys.tag, generation, issuedMs: now, expiresMs: now + 15_000, grantId: p.grant.objectId, rnSetId: p.trust.rnSet!.objectId, rnCid: p.rns[1].cid });
    expect(refusal(reg, offerOf(p, resume(2)))).toMatch(/replayed token/);
    reg.resume(offerOf(p, resume(3)).offer);
    expect(p.gateway.failover!.generation).toBe(3);
    expect(p.gateway.standbyRnCid).toBeUndefined(); // a re-stitch replaces an unused standby
  });

  it('refused when EXT_STANDBY was not agreed for the session, and when a RESUME is retyped as a STANDBY (MAC label)', async () => {
    const p = continuityPair();
    expect(refusal(registry(p, false), offerOf(p, standbyToken(p)))).toMatch(/EXT_STANDBY not agreed/);
    const keys = p.operator.failover!.continuity;
    const now = p.d.clock();
    const retyped = encodeResume(p.d.provider, keys, { tag: keys.tag, generation: 1, issuedMs: now, expiresMs: now + 15_000, grantId: p.grant.objectId, rnSetId: p.trust.rnSet!.objectId, rnCid: p.rns[1].cid });
    retyped[0] = 0x06;
    expect(refusal(registry(p), offerOf(p, retyped))).toMatch(/not authenticated/);
    const back = standbyToken(p);
    back[0] = MSG_RESUME;
    expect(refusal(registry(p), offerOf(p, back))).toMatch(/not authenticated/);
    expect(p.gateway.standbyRnCid).toBeUndefined();
    expect(p.gateway.state).toBe('stitched');
  });

  it('a responder already in failover moves onto the standby at once (it is a verified re-stitch)', async () => {
    const p = continuityPair();
    const reg = registry(p);
    p.gateway.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'test: the RN is gone'));
    expect(p.gateway.state).toBe('failover');
    reg.resume(offerOf(p, standbyToken(p)).offer);
    expect(p.gateway.state).toBe('stitched');
    expect(p.gateway.rnCid).toEqual(p.rns[1].cid);
    expect(p.gateway.failover!.generation).toBe(1);
  });
});

describe('Session: moving onto the standby', () => {
  it('the RN of the active stitch dies: both ends move onto the standby before anyone hears failover; every message once and in order', async () => {
    const { p, ch, got } = await withStandby();
    const order: string[] = [];
    for (const [name, s] of [['operator', p.operator], ['gateway', p.gateway]] as const) {
      s.on('failover', () => order.push(`${name} failover ${s.state}`));
      s.on('restitched', (g: number) => order.push(`${name} restitched ${g}`));
    }
    ch.trySend(Uint8Array.of(2)); // in flight when the RN dies
    p.operator.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'test: the RN is gone'));
    expect(p.operator.state).toBe('stitched');
    expect(p.operator.rnCid).toEqual(p.rns[1].cid);
    ch.trySend(Uint8Array.of(3));
    await turns(60);
    expect(p.gateway.state).toBe('stitched');
    expect(p.gateway.rnCid).toEqual(p.rns[1].cid);
    expect([p.operator.failover!.generation, p.gateway.failover!.generation]).toEqual([1, 1]);
    expect(order).toEqual(['operator failover stitched', 'operator restitched 1', 'gateway failover stitched', 'gateway restitched 1']);
    expect(got).toEqual([1, 2, 3]);
    expect([p.operator.standbyRnCid, p.gateway.standbyRnCid]).toEqual([undefined, undefined]);
    // authority is not frozen: nothing waits for a JOIN
    p.operator.openChannel().trySend(Uint8Array.of(4));
    await turns(40);
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it('a peer that moved is followed on its first authenticated block, though our own path still looks up', async () => {
    const { p, ch, got } = await withStandby();
    // The gateway never hears of the loss (the dead RN's UNSTITCH does not reach it).
    (p.stitches[0] as unknown as { peer: unknown }).peer = { remoteClosed() {}, deliver() {} };
    p.operator.lose(new UzpError(ErrorCode.LINK_TIMEOUT, 'local', 'test: PoR failed'), true);
    expect(p.gateway.rnCid).toEqual(p.rns[0].cid);
    ch.trySend(Uint8Array.of(2));
    await turns(60);
    expect(p.gateway.rnCid).toEqual(p.rns[1].cid);
    expect(p.stitches[1].closed).toBe(true); // the old stitch released at its RN
    expect(got).toEqual([1, 2]);
  });

  it('junk on the standby moves nothing: non-block payloads, unauthenticated blocks, a replayed genuine block', async () => {
    const { p, o, sent } = await withStandby();
    const dropped = p.gateway.stats.droppedPayloads;
    o.responderEnd.deliver(Uint8Array.of(0x01, 0x02));
    o.responderEnd.deliver(Uint8Array.of(0x10, ...new Uint8Array(40)));
    expect(sent.length).toBeGreaterThan(0);
    for (const b of sent) o.responderEnd.deliver(b); // already received on the active stitch: duplicates
    await turns(10);
    expect(p.gateway.rnCid).toEqual(p.rns[0].cid);
    expect(p.gateway.standbyRnCid).toEqual(p.rns[1].cid);
    expect(p.gateway.stats.droppedPayloads).toBeGreaterThanOrEqual(dropped + 2); // counted, not delivered
  });

  it('a standby whose recheck fails at the moment of the loss is released and the session waits in failover (the JOIN path)', async () => {
    const { p } = await withStandby({ operatorRecheck: false });
    const lost: string[] = [];
    p.operator.on('standby-lost', () => lost.push('operator'));
    p.operator.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'test'));
    expect(p.operator.state).toBe('failover');
    expect(p.operator.standbyRnCid).toBeUndefined();
    expect(lost).toEqual(['operator']);
  });

  it("the responder's recheck: an RN no longer in the RN Set Statement held now is not moved onto", async () => {
    const { p } = await withStandby();
    // A newer RN Set without rns[1] is adopted by the gateway after the STANDBY was accepted.
    p.trust.setRnSet(p.d.rnSet([{ id: p.rns[0], addresses: ['127.0.0.1:7000'] }]));
    p.gateway.lose(new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'test'));
    expect(p.gateway.state).toBe('failover');
    expect(p.gateway.standbyRnCid).toBeUndefined();
  });

  it('the standby is released when the session ends, and its loss while idle is reported (standby-lost)', async () => {
    const { p, o } = await withStandby();
    const lost: string[] = [];
    p.gateway.on('standby-lost', () => lost.push('gateway'));
    o.initiatorEnd.close(); // the standby's RN went away: the operator's side closed, the gateway hears it
    await turns(5);
    expect(lost).toEqual(['gateway']);
    expect(p.gateway.standbyRnCid).toBeUndefined();
    expect(p.gateway.state).toBe('stitched');
    const again = await withStandby();
    again.p.operator.end(new UzpError(ErrorCode.LINK_CLOSED, 'local', 'test: ended'));
    expect(again.o.initiatorEnd.closed).toBe(true);
  });
});
