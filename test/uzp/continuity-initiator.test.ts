// The initiator's re-stitch loop (src/uzp/continuity-initiator.ts) against the real responder checks:
// a fake LinkPort hands each JOIN's RESUME to a real ResumeRegistry as an OFFER, the way an RN
// would, and returns the stitch (accepted) or a stitch the target rejected (UNSTITCH code 2). A
// refusal ends the initiator's session with CONTINUITY_REFUSED (draft §11.4: start a fresh
// session); a RESUMED that is not the peer's, or one through an RN no longer eligible here, or for
// a Grant revoked here, leaves the session in failover.

import { describe, expect, it } from 'vitest';
import { concat, equal } from '../../src/uzp/bytes.js';
import { keepStitched } from '../../src/uzp/continuity-initiator.js';
import { ResumeRegistry } from '../../src/uzp/continuity-responder.js';
import type { LinkPort, OfferPort } from '../../src/uzp/endpoint.js';
import { ErrorCode, UzpError } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { JoinRefusedCode, UnstitchCode } from '../../src/uzp/link/constants.js';
import { joinRefusal } from '../../src/uzp/link/join-refusal.js';
import { StitchClosedError } from '../../src/uzp/link/stitch.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import type { Session, StitchPort } from '../../src/uzp/session/session.js';
import { continuityPair, stitchVia, type ContinuityPair } from '../helpers/continuity-pair.js';
import { turns } from '../helpers/fake-clock.js';

/** A stitch whose target rejected the OFFER: it closes with UNSTITCH code 2, as RnLink reports it. */
function rejectedStitch(rn: Identity): StitchPort {
  return {
    id: 9,
    rnCid: rn.cid,
    send: () => true,
    onPayload: () => {},
    onClose: (cb) => setImmediate(() => cb(new StitchClosedError(9, 'peer', UnstitchCode.REJECTED))),
    onDrain: () => {},
    close: () => {},
  };
}

interface FakeLink extends LinkPort {
  joins: number;
}

/** Routes every JOIN to `reg` through RN `rn`; `answer` may replace (or, returning undefined, drop) the RESUMED. */
function linkTo(p: ContinuityPair, reg: ResumeRegistry, o: { rn?: Identity; answer?: (real: Uint8Array) => Uint8Array | undefined } = {}): FakeLink {
  const rn = o.rn ?? p.rns[1];
  const link: FakeLink = {
    joins: 0,
    async join(_target, grant, ch1) {
      link.joins++;
      const [initiatorEnd, responderEnd] = stitchVia(rn, (payload, from) => {
        if (from !== 'b' || o.answer === undefined || payload[0] !== 0x05) return [payload];
        const changed = o.answer(payload);
        return changed === undefined ? [] : [changed];
      });
      const offer: OfferPort = {
        stitchId: 9,
        initiator: p.op.id.cid,
        grant,
        ch1: typeof ch1 === 'function' ? ch1(rn.cid) : ch1,
        rn: { cid: rn.cid, publicKey: rn.publicKey },
        accept: () => responderEnd,
        reject: () => {},
      };
      try {
        reg.resume(offer);
      } catch {
        return rejectedStitch(rn);
      }
      return initiatorEnd;
    },
    accept: () => {},
    on: () => link,
    off: () => link,
  };
  return link;
}

/** The initiator's re-stitch loop, its trust store `trust` (default: the same as the gateway's). */
function keep(p: ContinuityPair, link: LinkPort, trust: TrustStore = p.trust): void {
  keepStitched(p.operator, {
    provider: p.d.provider,
    clock: p.clock,
    link,
    target: p.gw.id.cid,
    grant: p.grantBytes,
    grantId: p.grant.objectId,
    rnSet: () => trust.rnSet,
    timeoutMs: 5_000,
    trust,
    localCid: p.op.id.cid,
  });
}

function outcome(s: Session): Promise<{ restitched: number } | { closed: UzpError | undefined }> {
  return new Promise((resolve) => {
    s.once('restitched', (g: number) => resolve({ restitched: g }));
    s.once('close', (e: UzpError | undefined) => resolve({ closed: e }));
  });
}

function setup(): { p: ContinuityPair; reg: ResumeRegistry } {
  const p = continuityPair();
  const reg = new ResumeRegistry(p.trust, p.gw.id.cid, p.clock);
  reg.add(p.gateway, p.grant);
  return { p, reg };
}

const lost = (): UzpError => new UzpError(ErrorCode.LINK_CLOSED, 'peer', 'test: the RN is gone');

describe('re-stitch loop against the real responder checks', () => {
  it('failover -> JOIN with RESUME -> RESUMED -> both stitched at the other RN, generation 1, traffic flows', async () => {
    const { p, reg } = setup();
    const link = linkTo(p, reg);
    keep(p, link);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    expect(await done).toEqual({ restitched: 1 });
    expect([p.operator.state, p.gateway.state]).toEqual(['stitched', 'stitched']);
    expect([p.operator.failover!.generation, p.gateway.failover!.generation]).toEqual([1, 1]);
    const got: number[] = [];
    p.gateway.on('channel', (ch) => ch.on('message', (m: Uint8Array) => got.push(m[0]!)));
    p.operator.openChannel().trySend(Uint8Array.of(42));
    await turns(40);
    expect(got).toEqual([42]);
    // a second loss: generation 2
    const again = outcome(p.operator);
    p.operator.lose(lost());
    expect(await again).toEqual({ restitched: 2 });
    expect(link.joins).toBe(2);
  });

  it('offer rejected (responder restarted: it knows no such session) -> the initiator ends the session with CONTINUITY_REFUSED', async () => {
    const { p } = setup();
    const restarted = new ResumeRegistry(p.trust, p.gw.id.cid, p.clock);
    keep(p, linkTo(p, restarted));
    const done = outcome(p.operator);
    p.operator.lose(lost());
    const r = await done;
    expect('closed' in r && r.closed?.code).toBe(ErrorCode.CONTINUITY_REFUSED);
    expect(p.operator.state).toBe('closed');
  });

  // The refusal (UNSTITCH REJECTED) is the relaying RN's word, not signed by the peer (draft §11.6:
  // an RN is a relay path, not a truth anchor): one RN alone cannot end a session another RN carries.
  /** A link attached to `attached` of the pair's RNs, routing as LinkPool does: never through `exclude`, the `avoid`ed RN last. */
  function rnsLink(p: ContinuityPair, reg: ResumeRegistry, attached: readonly Identity[], rejectVia: (rn: Identity) => boolean): FakeLink & { via: string[] } {
    const honest = (rn: Identity) => linkTo(p, reg, { rn });
    const link = {
      joins: 0,
      via: [] as string[],
      attachedRns: () => attached.map((r) => r.cid),
      async join(target: Uint8Array, grant: Uint8Array, ch1: Uint8Array | ((rn: Uint8Array) => Uint8Array), signal?: AbortSignal, prefer?: { readonly avoid?: Uint8Array; readonly exclude?: Uint8Array }) {
        link.joins++;
        const order = attached.filter((r) => prefer?.exclude === undefined || !equal(r.cid, prefer.exclude)).sort((a, b) => Number(prefer?.avoid !== undefined && equal(a.cid, prefer.avoid)) - Number(prefer?.avoid !== undefined && equal(b.cid, prefer.avoid)));
        const rn = order[0]!;
        link.via.push(`rn${p.rns.indexOf(rn)}`);
        return rejectVia(rn) ? rejectedStitch(rn) : honest(rn).join(target, grant, ch1, signal);
      },
      accept: () => {},
      on: () => link,
      off: () => link,
    } as FakeLink & { via: string[] };
    return link;
  }

  it('a refusal relayed by one RN while another is attached: tried through the other, and re-stitched there', async () => {
    const { p, reg } = setup();
    // Lost on rn0; rn1 says "rejected" for every JOIN; rn2 carries the session.
    const link = rnsLink(p, reg, [p.rns[0], p.rns[1], p.rns[2]], (rn) => rn === p.rns[1]);
    keep(p, link);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    const r = await done;
    // Before: the session ended with CONTINUITY_REFUSED at rn1's word, inside its continuity window.
    expect(r).toEqual({ restitched: expect.any(Number) });
    expect(link.via).toEqual(['rn1', 'rn2']);
    expect(p.operator.state).toBe('stitched');
  });

  it('a refusal relayed by two RNs is final: CONTINUITY_REFUSED after one JOIN through each', async () => {
    const { p } = setup();
    const restarted = new ResumeRegistry(p.trust, p.gw.id.cid, p.clock); // knows no such session
    const link = rnsLink(p, restarted, [p.rns[0], p.rns[1], p.rns[2]], () => false);
    keep(p, link);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    const r = await done;
    expect('closed' in r && r.closed?.code).toBe(ErrorCode.CONTINUITY_REFUSED);
    expect(link.via).toEqual(['rn1', 'rn2']);
  });

  it('a refusal, then the second RN asked does not answer in time: the refusal is final (not the whole window)', async () => {
    const { p } = setup();
    const restarted = new ResumeRegistry(p.trust, p.gw.id.cid, p.clock);
    // rn2 stitches, but no RESUMED ever comes through it (a stalled RN).
    const link = rnsLink(p, restarted, [p.rns[0], p.rns[1], p.rns[2]], () => false);
    const join = link.join.bind(link);
    link.join = async (...a: Parameters<typeof join>) => (link.via.length === 1 ? (link.via.push('rn2'), stitchVia(p.rns[2])[0]) : join(...a));
    keep(p, link);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    await turns(40);
    expect(p.operator.state).toBe('failover');
    p.clock.advance(5_000);
    const r = await done;
    expect('closed' in r && r.closed?.code).toBe(ErrorCode.CONTINUITY_REFUSED);
    expect(link.via).toEqual(['rn1', 'rn2']);
  });

  it('a refusal with only the RN the session was lost on left besides: final at once (that RN may be the one down)', async () => {
    const { p } = setup();
    const restarted = new ResumeRegistry(p.trust, p.gw.id.cid, p.clock);
    const link = rnsLink(p, restarted, [p.rns[0], p.rns[1]], () => false);
    keep(p, link);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    const r = await done;
    expect('closed' in r && r.closed?.code).toBe(ErrorCode.CONTINUITY_REFUSED);
    expect(link.via).toEqual(['rn1']);
  });

  it('offer rejected because the Grant expired meanwhile -> CONTINUITY_REFUSED (a fresh session, with a fresh Grant, is needed)', async () => {
    const { p, reg } = setup();
    keep(p, linkTo(p, reg));
    p.d.advance(3_600 + 301);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    const r = await done;
    expect('closed' in r && r.closed?.code).toBe(ErrorCode.CONTINUITY_REFUSED);
  });

  // Only the rejected OFFER (CONTINUITY_REFUSED) is terminal (draft §11.4). The transient failures
  // of one attempt — a RESUMED that does not verify, no RESUMED in time, a JOIN the RN refuses (the
  // peer not yet at the alternate RN, a draining RN) — are retried within the continuity window.
  // (Regression: these ended the session while every ProtocolError counted as a refusal.)
  // Draft §11.4: before "stitched" again both ends revalidate; the peer's RESUMED is its half. Ours:
  // the RN of the new stitch still eligible, our Grant still valid — as held here, not at the peer.
  for (const [what, change, code] of [
    ['the RN of the new stitch was revoked here', (p: ContinuityPair, t: TrustStore) => t.setRevocation(p.d.revocation([p.rns[1].cid])), ErrorCode.RNSET_NOT_ELIGIBLE],
    ['our Grant was revoked here', (p: ContinuityPair, t: TrustStore) => t.setRevocation(p.d.revocation([], [p.grant.objectId])), ErrorCode.REVOKED],
  ] as const) {
    it(`a verified RESUMED after ${what}: not re-stitched, the new stitch closed, the session stays in failover`, async () => {
      const { p, reg } = setup();
      const mine = p.d.trust();
      mine.setRnSet(p.rnSetBytes);
      change(p, mine);
      const failures: Error[] = [];
      p.operator.on('restitch-failed', (e: Error) => failures.push(e));
      let restitched = false;
      p.operator.on('restitched', () => (restitched = true));
      keep(p, linkTo(p, reg), mine);
      p.operator.lose(lost());
      await turns(40);
      // The peer verified the token and answered (its trust store holds nothing against either).
      expect(p.gateway.failover!.generation).toBeGreaterThanOrEqual(1);
      expect(restitched).toBe(false);
      // Both ends in failover: the stitch the gateway moved onto was closed by us.
      expect([p.operator.state, p.gateway.state]).toEqual(['failover', 'failover']);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.map((e) => (e as UzpError).code)).toEqual(failures.map(() => code));
    });
  }

  it('a RESUMED the RN forged or altered is not accepted: the session stays in failover and retries', async () => {
    const { p, reg } = setup();
    const failures: Error[] = [];
    p.operator.on('restitch-failed', (e: Error) => failures.push(e));
    keep(p, linkTo(p, reg, { answer: (real) => concat(real.subarray(0, real.length - 1), Uint8Array.of(real.at(-1)! ^ 1)) }));
    p.operator.lose(lost());
    await turns(40);
    expect(p.operator.state).toBe('failover');
    expect(failures.map((e) => (e as UzpError).code)).toEqual([ErrorCode.HANDSHAKE_UNEXPECTED]);
    expect(() => p.operator.openChannel()).toThrow(expect.objectContaining({ code: ErrorCode.SESSION_FROZEN }));
  });

  it('no RESUMED within the timeout (a slow or lossy path) is retried, not the end of the session', async () => {
    const { p, reg } = setup();
    keep(p, linkTo(p, reg, { answer: () => undefined }));
    p.operator.lose(lost());
    await turns(40);
    p.clock.advance(5_000);
    await turns(40);
    expect(p.operator.state).toBe('failover');
  });

  it('a JOIN refused by the RN (peer not attached there yet) is retried within the window', async () => {
    const { p } = setup();
    const link: LinkPort = { join: () => Promise.reject(joinRefusal(JoinRefusedCode.PEER_NOT_ATTACHED)), accept: () => {}, on: () => link, off: () => link };
    keep(p, link);
    p.operator.lose(lost());
    await turns(40);
    expect(p.operator.state).toBe('failover');
  });

  it('whatever the failures, the continuity window ends the session (draft §11.6)', async () => {
    const { p } = setup();
    const link: LinkPort = { join: () => Promise.reject(new Error('no RN reachable')), accept: () => {}, on: () => link, off: () => link };
    keep(p, link);
    const done = outcome(p.operator);
    p.operator.lose(lost());
    for (let t = 0; t < 30_000 && p.operator.state === 'failover'; t += 100) {
      await turns(5);
      p.clock.advance(100);
    }
    const r = await done;
    expect('closed' in r && r.closed?.code).toBe(ErrorCode.LINK_CLOSED);
    expect('closed' in r && r.closed?.message).toMatch(/continuity window of 30000 ms/);
  });
});
