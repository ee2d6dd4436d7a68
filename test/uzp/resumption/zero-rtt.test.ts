// 0-RTT between two endpoints (draft §9) over in-memory links: a ticket after a full handshake
// under a Grant with `ed`, early data under it the next time, and every replay path refused:
// the captured CH1 + early record replayed to the same responder, to a restarted one (new ticket
// keys) and through another RN link of the same responder (one strike register for all its links).
// A hostile RN holds exactly these powers (it sees the JOIN); the network sees only link ciphertext.

import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../../src/uzp/endpoint.js';
import { EARLY, type Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { EARLY_CH1, decodeEarlyCh1, encodeEarlyCh1 } from '../../../src/uzp/resumption/early-data.js';
import { TicketCache } from '../../../src/uzp/resumption/ticket-cache.js';
import { TicketIssuer } from '../../../src/uzp/resumption/ticket-issuer.js';
import { utf8 } from '../../../src/uzp/bytes.js';
import { TestDomain, type Member } from '../../helpers/domain.js';
import { turns } from '../../helpers/fake-clock.js';
import { MemoryLink } from '../../helpers/memory-link.js';

interface Rig {
  d: TestDomain;
  op: Member;
  gw: Member;
  opLink: MemoryLink;
  gwLink: MemoryLink;
  opEp: Endpoint;
  gwEp: Endpoint;
  cache: TicketCache;
  issuer: TicketIssuer;
  /** Every early message the responder's sessions delivered, with its mark. */
  delivered: { text: string; early: boolean }[];
  refusedEarly: string[];
}

function rig(opts: { issuer?: TicketIssuer; d?: TestDomain; op?: Member; gw?: Member } = {}): Rig {
  const d = opts.d ?? new TestDomain();
  const op = opts.op ?? d.member('operator');
  const gw = opts.gw ?? d.member('gateway');
  const opLink = new MemoryLink(op.id.cid);
  const gwLink = new MemoryLink(gw.id.cid);
  opLink.peer = gwLink;
  const cache = new TicketCache();
  const issuer = opts.issuer ?? new TicketIssuer({ provider: d.provider });
  const opEp = new Endpoint({ trust: d.trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link: opLink, ticketCache: cache });
  const gwEp = responder(d, gw, gwLink, issuer);
  const r: Rig = { d, op, gw, opLink, gwLink, opEp, gwEp, cache, issuer, delivered: [], refusedEarly: [] };
  serveEcho(r, gwEp);
  return r;
}

function responder(d: TestDomain, gw: Member, link: MemoryLink, issuer: TicketIssuer): Endpoint {
  const ep = new Endpoint({ trust: d.trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link, tickets: issuer });
  ep.accept();
  return ep;
}

/** The responder answers every message with "echo:" + it, and records what arrived early. */
function serveEcho(r: Rig, ep: Endpoint): void {
  ep.on('early-refused', (why: string) => r.refusedEarly.push(why));
  ep.on('session', (s: Session) =>
    s.on('channel', (ch: Channel) =>
      ch.on('message', (m: Uint8Array, mark?: typeof EARLY) => {
        r.delivered.push({ text: utf8.decode(m), early: mark?.early === true });
        ch.trySend(utf8.encode(`echo:${utf8.decode(m)}`));
      }),
    ),
  );
}

function nextMessage(ch: Channel): Promise<string> {
  return new Promise((resolve) => ch.once('message', (m: Uint8Array) => resolve(utf8.decode(m))));
}

const edGrant = (r: Rig, nonce?: number): Uint8Array => r.d.grant(r.op.id.cid, r.gw.id.cid, { earlyData: true, ...(nonce !== undefined ? { nonce } : {}) });

/** A full handshake that leaves a ticket in the initiator's cache. */
async function firstSession(r: Rig, grant: Uint8Array): Promise<void> {
  const s = await r.opEp.connect(r.gw.id.cid, grant);
  await turns();
  s.close();
}

describe('0-RTT: tickets and early data (draft §9)', () => {
  it('a ticket after a full handshake under an `ed` Grant; the next session sends early data, answered before its handshake ends', async () => {
    const r = rig();
    const grant = edGrant(r);
    await firstSession(r, grant);
    expect(r.cache.size).toBe(1);
    const s = await r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('read 1')]] });
    expect(r.opLink.joins[1]!.ch1[0]).toBe(EARLY_CH1);
    expect(s.early?.accepted).toBe(true);
    const ch = s.early!.channels[0]!;
    expect(ch.id).toBe(1);
    expect(await nextMessage(ch)).toBe('echo:read 1');
    expect(r.delivered).toEqual([{ text: 'read 1', early: true }]);
    // The session goes on at 1-RTT on the same channel, and a fresh ticket replaced the used one.
    ch.trySend(utf8.encode('read 2'));
    expect(await nextMessage(ch)).toBe('echo:read 2');
    expect(r.delivered[1]).toEqual({ text: 'read 2', early: false });
    expect(r.cache.size).toBe(1);
    expect(r.refusedEarly).toEqual([]);
  });

  it('without a ticket, early messages go as ordinary data right after the handshake', async () => {
    const r = rig();
    const s = await r.opEp.connect(r.gw.id.cid, edGrant(r), { early: [[utf8.encode('a')], [utf8.encode('b')]] });
    expect(r.opLink.joins[0]!.ch1[0]).not.toBe(EARLY_CH1);
    expect(s.early?.accepted).toBe(false);
    expect(s.early!.channels.map((c) => c.id)).toEqual([1, 3]);
    expect(await nextMessage(s.early!.channels[1]!)).toBe('echo:b');
    expect(r.delivered.every((x) => !x.early)).toBe(true);
  });

  it('under a no-replay Grant no ticket is issued and nothing is ever sent early', async () => {
    const r = rig();
    const grant = r.d.grant(r.op.id.cid, r.gw.id.cid); // nr, not ed
    await firstSession(r, grant);
    expect(r.cache.size).toBe(0);
    const s = await r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('x')]] });
    expect(s.early?.accepted).toBe(false);
    expect(await nextMessage(s.early!.channels[0]!)).toBe('echo:x');
    expect(r.delivered).toEqual([{ text: 'x', early: false }]);
  });

  it('a ticket is bound to its Grant: a session under another Grant does not use it', async () => {
    const r = rig();
    await firstSession(r, edGrant(r));
    const s = await r.opEp.connect(r.gw.id.cid, edGrant(r), { early: [[utf8.encode('y')]] });
    expect(s.early?.accepted).toBe(false);
    expect(await nextMessage(s.early!.channels[0]!)).toBe('echo:y');
  });

  describe('replays of a captured CH1 with its early data', () => {
    async function captured(r: Rig): Promise<{ grant: Uint8Array; ch1: Uint8Array }> {
      const grant = edGrant(r);
      await firstSession(r, grant);
      const s = await r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('read')]] });
      await nextMessage(s.early!.channels[0]!);
      expect(s.early?.accepted).toBe(true);
      return r.opLink.joins[1]!;
    }

    it('to the same responder: refused by the strike register (the ticket was used)', async () => {
      const r = rig();
      const join = await captured(r);
      const before = r.delivered.length;
      MemoryLink.replay(r.gwLink, r.op.id.cid, join);
      await turns();
      expect(r.refusedEarly).toEqual(['the ticket was used before (replay)']);
      expect(r.delivered.length).toBe(before);
    });

    it('to a restarted responder: its new ticket keys cannot open the ticket', async () => {
      const r = rig();
      const join = await captured(r);
      const restarted = rig({ d: r.d, op: r.op, gw: r.gw });
      MemoryLink.replay(restarted.gwLink, r.op.id.cid, join);
      await turns();
      expect(restarted.refusedEarly).toEqual(['a ticket this responder cannot open (another responder, or issued before a restart)']);
      expect(restarted.delivered).toEqual([]);
    });

    it('through another RN link of the same responder: one strike register for all its links', async () => {
      const r = rig();
      const join = await captured(r);
      const otherLink = new MemoryLink(r.gw.id.cid);
      const viaOther = responder(r.d, r.gw, otherLink, r.issuer);
      const refused: string[] = [];
      let delivered = 0;
      viaOther.on('early-refused', (why: string) => refused.push(why));
      viaOther.on('session', () => delivered++);
      MemoryLink.replay(otherLink, r.op.id.cid, join);
      await turns();
      expect(refused).toEqual(['the ticket was used before (replay)']);
      expect(delivered).toBe(0);
    });

    /** A resumed connect whose JOIN the test delivers itself, with `early` in place of the real record; the real JOIN is returned. */
    async function deliveredAs(r: Rig, grant: Uint8Array, early: (real: Uint8Array) => Uint8Array | undefined): Promise<{ s: Session; join: { grant: Uint8Array; ch1: Uint8Array } }> {
      r.opLink.peer = undefined; // the JOIN is delivered by hand below
      const connecting = r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('read')]] });
      await turns(2);
      const join = r.opLink.joins[1]!;
      const { ch1, early: real } = decodeEarlyCh1(join.ch1);
      const sent = early(real);
      // Through the initiator's own stitch, so its handshake completes.
      r.gwLink.emit('offer', { stitchId: 9, initiator: r.op.id.cid, grant, ch1: sent === undefined ? ch1 : encodeEarlyCh1(ch1, sent), accept: () => (r.opLink.lastStitch as unknown as { peer: never }).peer, reject: () => undefined });
      return { s: await connecting, join };
    }

    it('an early record altered in transit does not decrypt; the messages go again at 1-RTT, and the ticket is used up', async () => {
      const r = rig();
      const grant = edGrant(r);
      await firstSession(r, grant);
      const strikes = r.issuer.strike.size;
      const { s, join } = await deliveredAs(r, grant, (real) => {
        const bad = real.slice();
        bad[0]! ^= 0x01;
        return bad;
      });
      expect(r.refusedEarly).toEqual(['the early record does not decrypt under the key of this CH1']);
      expect(s.early?.accepted).toBe(false);
      expect(await nextMessage(s.early!.channels[0]!)).toBe('echo:read');
      expect(r.delivered).toEqual([{ text: 'read', early: false }]);
      // Before, the ticket was not recorded, and the JOIN as captured, replayed later, ran 'read' again.
      expect(r.issuer.strike.size).toBe(strikes + 1);
      MemoryLink.replay(r.gwLink, r.op.id.cid, join);
      await turns();
      expect(r.refusedEarly.at(-1)).toBe('the ticket was used before (replay)');
      expect(r.delivered).toEqual([{ text: 'read', early: false }]);
    });

    it('an early record stripped by the RN: the messages go at 1-RTT, and the JOIN replayed later with its record is refused', async () => {
      const r = rig();
      const grant = edGrant(r);
      await firstSession(r, grant);
      const { s, join } = await deliveredAs(r, grant, () => undefined);
      expect(s.early?.accepted).toBe(false);
      expect(await nextMessage(s.early!.channels[0]!)).toBe('echo:read');
      // A review's repro: the captured JOIN, replayed (here at once, up to the ticket's expiry in the
      // attack), was taken as early data and 'read' ran a second time.
      MemoryLink.replay(r.gwLink, r.op.id.cid, join);
      await turns();
      expect(r.refusedEarly.at(-1)).toBe('the ticket was used before (replay)');
      expect(r.delivered).toEqual([{ text: 'read', early: false }]);
    });
  });

  it('a Finished that does not verify ends the session the early data started (CLOSE PROTOCOL_VIOLATION)', async () => {
    const r = rig();
    const grant = edGrant(r);
    await firstSession(r, grant);
    // From now on, flip a bit in the first payload the initiator sends on each stitch: its Finished.
    let flip = true;
    const tampering = new MemoryLink(r.op.id.cid, (p, from) => {
      if (from !== 'a' || !flip) return [p];
      flip = false;
      const bad = p.slice();
      bad[bad.length - 1]! ^= 0x01;
      return [bad];
    });
    tampering.peer = r.gwLink;
    const opEp = new Endpoint({ trust: r.d.trust(), identity: { cid: r.op.id.cid, signer: r.op.id.signer, pcert: r.op.pcert }, link: tampering, ticketCache: r.cache });
    const refused = new Promise<{ code: string }>((res) => r.gwEp.once('refused', res));
    const ended = new Promise<Error | undefined>((res) => r.gwEp.once('session', (s: Session) => s.once('close', res)));
    const s = await opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('read')]] });
    expect(s.early?.accepted).toBe(true);
    expect((await refused).code).toBe('HANDSHAKE_FINISHED');
    expect(((await ended) as { code?: string } | undefined)?.code).toBe('HANDSHAKE_FINISHED');
    const closed = await new Promise<{ code?: string } | undefined>((res) => (s.state === 'closed' ? res(undefined) : s.once('close', (_e: unknown, code: number) => res({ code: String(code) }))));
    expect(closed?.code).toBe('1');
  });

  it("a ticket under a Grant whose nonce is below one already seen early is refused (draft §9 nonce order)", async () => {
    const r = rig();
    const older = edGrant(r, 5);
    const newer = edGrant(r, 6);
    await firstSession(r, older);
    await firstSession(r, newer);
    const s6 = await r.opEp.connect(r.gw.id.cid, newer, { early: [[utf8.encode('n6')]] });
    expect(s6.early?.accepted).toBe(true);
    const s5 = await r.opEp.connect(r.gw.id.cid, older, { early: [[utf8.encode('n5')]] });
    expect(s5.early?.accepted).toBe(false);
    expect(r.refusedEarly).toHaveLength(1);
    expect(r.refusedEarly[0]).toMatch(/^the Grant's nonce/);
    expect(await nextMessage(s5.early!.channels[0]!)).toBe('echo:n5');
  });
});

describe('ticket keys rotate every ticket lifetime', () => {
  it('a ticket sealed under the previous key still opens after a rotation; an expired one is refused as expired', async () => {
    const d = new TestDomain();
    let now = 1_795_262_400_000;
    const issuer = new TicketIssuer({ provider: d.provider, lifetimeMs: 60_000, now: () => now });
    const r = rig({ d, issuer });
    const grant = edGrant(r);
    await firstSession(r, grant); // ticket A, under key 1
    now += 30_000;
    // Still key 1: ticket A is used (accepted), ticket B issued under key 1.
    const s1 = await r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('1')]] });
    expect(s1.early?.accepted).toBe(true);
    now += 40_000; // key 1 is 70 s old: the next ticket is sealed under key 2; B (key 1, 40 s old) still opens
    const s2 = await r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('2')]] });
    expect(s2.early?.accepted).toBe(true);
    now += 61_000; // ticket C (key 2) expired: refused as expired, not as unknown
    const s3 = await r.opEp.connect(r.gw.id.cid, grant, { early: [[utf8.encode('3')]] });
    expect(s3.early?.accepted).toBe(false);
    expect(r.refusedEarly).toEqual(['the ticket has expired']);
  });
});
