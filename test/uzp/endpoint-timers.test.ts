// The endpoint's handshake timeouts run on the injected Clock, and the sessions it makes inherit
// that clock. Links here are in memory (a LinkPort over test/helpers/memory-stitch.ts), so a fake
// clock decides when each timeout fires.

import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/uzp/blocks/constants.js';
import { Endpoint, HANDSHAKE_TIMEOUT_MS, type LinkPort, type OfferPort } from '../../src/uzp/endpoint.js';
import { ErrorCode, type UzpError } from '../../src/uzp/errors.js';
import { startInitiator } from '../../src/uzp/handshake/initiator.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import type { Session } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { errorOf } from '../helpers/errors.js';
import { FakeClock, turns } from '../helpers/fake-clock.js';
import { MemoryLink } from '../helpers/memory-link.js';
import { stitchPair, type Hook } from '../helpers/memory-stitch.js';

function endpoint(d: TestDomain, m: Member, link: LinkPort, clock: FakeClock, limits?: Record<string, number>): Endpoint {
  return new Endpoint({ trust: d.trust(), identity: { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert }, link, clock, ...(limits ? { limits } : {}) });
}

function setup() {
  const d = new TestDomain();
  const op = d.member('operator');
  const gw = d.member('gateway');
  return { d, op, gw, clock: new FakeClock(), grant: d.grant(op.id.cid, gw.id.cid) };
}

/** Settles (resolves or rejects) and records that it did. */
function track<T>(p: Promise<T>): { settled: boolean; p: Promise<T> } {
  const t = { settled: false, p };
  p.then(
    () => (t.settled = true),
    () => (t.settled = true),
  );
  return t;
}

describe('Endpoint timers on an injected clock', () => {
  it('connect() gives up with HANDSHAKE_TIMEOUT exactly at handshakeTimeoutMs when no responder flight comes', async () => {
    const { d, op, gw, clock, grant } = setup();
    const link = new MemoryLink(op.id.cid); // no peer: the offer goes nowhere
    const ep = endpoint(d, op, link, clock);
    const c = track(ep.connect(gw.id.cid, grant));
    await turns();
    clock.advance(HANDSHAKE_TIMEOUT_MS - 1);
    await turns();
    expect(c.settled).toBe(false);
    expect(link.lastStitch!.closed).toBe(false);
    clock.advance(1);
    await turns(1);
    expect(c.settled).toBe(true);
    expect((await errorOf(c.p)).code).toBe(ErrorCode.HANDSHAKE_TIMEOUT);
    expect(link.lastStitch!.closed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('an aborted connect() cancels its handshake timer', async () => {
    const { d, op, gw, clock, grant } = setup();
    const ep = endpoint(d, op, new MemoryLink(op.id.cid), clock);
    const ac = new AbortController();
    const c = ep.connect(gw.id.cid, grant, { signal: ac.signal });
    await turns();
    expect(clock.pending).toBe(1);
    ac.abort(new Error('user'));
    await expect(c).rejects.toThrow('user');
    expect(clock.pending).toBe(0);
  });

  it('a responder refuses with HANDSHAKE_TIMEOUT exactly at handshakeTimeoutMs when no Finished comes', async () => {
    const { d, op, gw, clock, grant } = setup();
    const link = new MemoryLink(gw.id.cid);
    const ep = endpoint(d, gw, link, clock);
    const refused: UzpError[] = [];
    ep.on('refused', (e: UzpError) => refused.push(e));
    ep.accept();
    // An initiator that sends CH1 and then goes silent.
    const { ch1 } = startInitiator({ trust: d.trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, target: gw.id.cid, grant });
    const [initiatorEnd, responderEnd] = stitchPair();
    const flights: Uint8Array[] = [];
    initiatorEnd.onPayload((p) => flights.push(p));
    link.emit('offer', { stitchId: 1, initiator: op.id.cid, grant, ch1, accept: () => responderEnd, reject: () => responderEnd.close() } satisfies OfferPort);
    await turns();
    expect(flights).toHaveLength(1); // the responder's flight went out
    clock.advance(HANDSHAKE_TIMEOUT_MS - 1);
    await turns();
    expect(refused).toEqual([]);
    expect(responderEnd.closed).toBe(false);
    clock.advance(1);
    expect(refused.map((e) => e.code)).toEqual([ErrorCode.HANDSHAKE_TIMEOUT]);
    expect(responderEnd.closed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('a completed handshake cancels both timeouts, and the sessions run their timers on the endpoint clock', async () => {
    const { d, op, gw, clock, grant } = setup();
    let fromInitiator = 0;
    // Lose the initiator's first block after the handshake (CH1 rides the offer; the next payload
    // from 'a' is Finished, then the first data block).
    const hook: Hook = (p, from) => (from === 'a' && ++fromInitiator === 2 ? [] : [p]);
    const opLink = new MemoryLink(op.id.cid, hook);
    const gwLink = new MemoryLink(gw.id.cid);
    opLink.peer = gwLink;
    const limits = { initialRtoMs: 300 };
    const gwEp = endpoint(d, gw, gwLink, clock, limits);
    const opEp = endpoint(d, op, opLink, clock, limits);
    const refused: UzpError[] = [];
    gwEp.on('refused', (e: UzpError) => refused.push(e));
    const accepted = new Promise<Session>((r) => gwEp.once('session', r));
    gwEp.accept();
    const initiator = await opEp.connect(gw.id.cid, grant);
    const responder = await accepted;
    expect(clock.pending).toBe(0);
    clock.advance(2 * HANDSHAKE_TIMEOUT_MS);
    await turns();
    expect(refused).toEqual([]);
    expect([initiator.state, responder.state]).toEqual(['stitched', 'stitched']);

    const got: Uint8Array[] = [];
    responder.on('channel', (ch: Channel) => ch.on('message', (m: Uint8Array) => got.push(m)));
    initiator.openChannel().trySend(new Uint8Array([4, 2]));
    await turns();
    expect(fromInitiator).toBe(2);
    clock.advance(299);
    await turns();
    expect(got).toEqual([]);
    clock.advance(1);
    await turns();
    expect(got).toEqual([new Uint8Array([4, 2])]);
    expect(initiator.stats.retransmits).toBe(1);
  });
});

describe('Endpoint: a Finished that does not verify', () => {
  it('the responder refuses with HANDSHAKE_FINISHED and the stitched initiator hears CLOSE PROTOCOL_VIOLATION before the stitch ends', async () => {
    const { d, op, gw, clock, grant } = setup();
    // The initiator's first payload on the stitch is Finished_I (CH1 rides the offer): corrupt its MAC.
    let fromInitiator = 0;
    const hook: Hook = (p, from) => {
      if (from !== 'a' || ++fromInitiator !== 1) return [p];
      const bad = p.slice();
      bad[bad.length - 1]! ^= 1;
      return [bad];
    };
    const opLink = new MemoryLink(op.id.cid, hook);
    const gwLink = new MemoryLink(gw.id.cid);
    opLink.peer = gwLink;
    const gwEp = endpoint(d, gw, gwLink, clock);
    const refused: UzpError[] = [];
    gwEp.on('refused', (e: UzpError) => refused.push(e));
    gwEp.accept();
    const initiator = await endpoint(d, op, opLink, clock).connect(gw.id.cid, grant);
    const closed = new Promise<[unknown, unknown]>((r) => initiator.once('close', (e, code) => r([e, code])));
    const [error, remoteCode] = await closed;
    expect(refused.map((e) => e.code)).toEqual([ErrorCode.HANDSHAKE_FINISHED]);
    expect(error).toBeUndefined(); // the peer closed it, with the generic code: not a lost link
    expect(remoteCode).toBe(CloseCode.PROTOCOL_VIOLATION);
  });
});
