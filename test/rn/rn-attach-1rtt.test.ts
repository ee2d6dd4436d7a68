// The 1-RTT attachment end to end (docs/PROFILE.md §1-RTT attachment): a real RN in-process, real
// RnLinks, and a recording TCP proxy to capture a first flight and replay it (to the same RN, to the
// same RN restarted, to another RN). All on 127.0.0.1.

import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode, type RendezvousNodeOptions } from '../../src/rn/server.js';
import { concat, toHex } from '../../src/uzp/bytes.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { FrameType, RefusedCode } from '../../src/uzp/link/constants.js';
import { FrameDecoder, encodeFrame } from '../../src/uzp/link/frame.js';
import { decodeRefused } from '../../src/uzp/link/messages.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import { forgetRnKey, knownRnKey, rememberRnKey } from '../../src/uzp/link/rn-keys.js';
import { parseAddress } from '../../src/uzp/link/address.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { once, until } from '../uzp/link/wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** No blackout after start (futureMs 0): the tests below attach within milliseconds of it. */
const NO_BLACKOUT = { futureMs: 0 };

async function startRn(d: TestDomain, id: Identity, opts: Partial<RendezvousNodeOptions> = {}, port = 0): Promise<{ rn: RendezvousNode; address: string }> {
  const rn = new RendezvousNode({ trust: d.trust(), seed: id.seed, attach1: NO_BLACKOUT, ...opts });
  const address = await rn.listen('127.0.0.1', port);
  cleanups.push(() => rn.close());
  // time_ep must be later than the RN's start (attach-strikes.ts): one millisecond is enough.
  await new Promise((r) => setTimeout(r, 2));
  return { rn, address };
}

function epTrust(d: TestDomain, rns: { id: Identity; address: string }[]) {
  const t = d.trust();
  t.setRnSet(d.rnSet(rns.map((r) => ({ id: r.id, addresses: [r.address] }))));
  return t;
}

async function attach(d: TestDomain, rns: { id: Identity; address: string }[], m: Member, address = rns[0]!.address): Promise<RnLink> {
  const link = await RnLink.attach({ address, trust: epTrust(d, rns), identity: { seed: m.id.seed, pcert: m.pcert } });
  cleanups.push(() => link.close());
  return link;
}

/**
 * A TCP proxy to `target` that records what each client connection sent; a connection whose first
 * chunk `cut` accepts is closed instead of being passed on.
 */
async function recordingProxy(target: string, cut: (first: Uint8Array) => boolean = () => false): Promise<{ address: string; sent: Uint8Array[][]; cuts: number }> {
  const sent: Uint8Array[][] = [];
  const state = { address: '', sent, cuts: 0 };
  const { host, port } = parseAddress(target);
  const sockets = new Set<Socket>();
  const server = createServer((c) => {
    const mine: Uint8Array[] = [];
    sent.push(mine);
    sockets.add(c);
    c.on('error', () => {});
    c.once('data', (first: Buffer) => {
      if (cut(first)) {
        state.cuts++;
        c.destroy();
        return;
      }
      const up = connect({ host, port });
      sockets.add(up);
      const pass = (b: Buffer): void => {
        mine.push(new Uint8Array(b));
        up.write(b);
      };
      pass(first);
      c.on('data', pass);
      up.on('data', (b) => c.write(b));
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
      up.on('error', () => {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const x of sockets) x.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  state.address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return state;
}

/** Sends `bytes` on a fresh connection to `address`; resolves with the first frame's type and payload (or 'closed'). */
function replay(address: string, bytes: Uint8Array): Promise<{ type: number; payload: Uint8Array } | 'closed'> {
  const { host, port } = parseAddress(address);
  const s = connect({ host, port });
  const dec = new FrameDecoder(64 * 1024);
  return new Promise((resolve) => {
    s.on('connect', () => s.write(bytes));
    s.on('data', (b: Buffer) => {
      const [f] = dec.push(new Uint8Array(b));
      if (f !== undefined) {
        resolve({ type: f.type, payload: f.payload.slice() });
        s.destroy();
      }
    });
    s.on('error', () => {});
    s.on('close', () => resolve('closed'));
  });
}

/** What the last recorded connection sent (HELLO first), and its HELLO's version. */
function firstFlight(sent: Uint8Array[][]): { flight: Uint8Array; version: number } {
  const flight = concat(...sent[sent.length - 1]!);
  // frame: u32 length || type || payload; HELLO's payload starts with the version byte
  expect(flight[4]).toBe(FrameType.HELLO);
  return { flight, version: flight[5]! };
}

describe('1-RTT attachment (HELLO version 2)', () => {
  it('the second attachment to an address is 1-RTT, and a JOIN in its first flight is stitched and relays', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const { rn, address } = await startRn(d, rnId);
    const rns = [{ id: rnId, address }];
    forgetRnKey(address);
    const gw = d.member('gateway');
    const op = d.member('operator');
    const gwLink = await attach(d, rns, gw);
    gwLink.accept();
    expect(rn.stats.attachedOneRtt).toBe(0);
    expect(knownRnKey(address)?.publicKey).toEqual(rnId.publicKey);
    // The key is known per address, whoever attached: the operator's link attaches in one round trip,
    // with a JOIN made before its connection is even up (RnLink.begin).
    const begun = RnLink.begin({ address, trust: epTrust(d, rns), identity: { seed: op.id.seed, pcert: op.pcert } });
    cleanups.push(() => begun.link.close());
    const offerP = once<Offer>((cb) => gwLink.once('offer', cb));
    const stitchP = begun.link.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid), Uint8Array.of(0xc1));

    await begun.attached;
    expect(rn.stats.attachedOneRtt).toBe(1);
    expect(rn.stats.refused.full_attach).toBe(0);
    const offer = await offerP;
    expect(offer.ch1).toEqual(Uint8Array.of(0xc1));
    const atGw = offer.accept();
    const atOp = await stitchP;
    const got: Uint8Array[] = [];
    atGw.onPayload((p) => got.push(p));
    atOp.send(Uint8Array.of(7, 7));
    await until(() => got.length === 1);
    expect(got[0]).toEqual(Uint8Array.of(7, 7));
    // The link goes on under the confirmed keys: control both ways still works (PING/PONG).
    begun.link.probe();
    await until(() => begun.link.stats.pongsReceived === 1);
    expect(begun.link.rnCid).toEqual(rnId.cid);
  });

  it('an RN in its first window after a start sends a 1-RTT HELLO the full way (REFUSED 3), and the link attaches', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const { rn, address } = await startRn(d, rnId, { attach1: {} }); // default window: 5 s of blackout
    const rns = [{ id: rnId, address }];
    const op = d.member('operator');
    (await attach(d, rns, op)).close();
    expect(knownRnKey(address)).toBeDefined();
    const link = await attach(d, rns, op);
    expect(link.attached).toBe(true);
    expect(rn.stats.refused.full_attach).toBe(1);
    expect(rn.stats.attachedOneRtt).toBe(0);
    // A refused 1-RTT attempt costs the EP no HELLO token: only the two full HELLOs were counted.
    expect(rn.stats.refused.rate_limited).toBe(0);
  });

  it('a captured first flight replayed to the same RN is refused (REFUSED 1, logged ATTACH_REPLAY) and attaches nothing', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const logged: Record<string, unknown>[] = [];
    const record = (o: object): void => void logged.push(o as Record<string, unknown>);
    const { rn, address } = await startRn(d, rnId, { log: { debug: record, info: record, warn: record, error: record } });
    const proxy = await recordingProxy(address);
    const rns = [{ id: rnId, address: proxy.address }];
    const op = d.member('operator');
    (await attach(d, rns, op, proxy.address)).close();
    const link = await attach(d, rns, op, proxy.address);
    expect(rn.stats.attachedOneRtt).toBe(1);
    const { flight, version } = firstFlight(proxy.sent);
    expect(version).toBe(2);
    const links = rn.stats.links;
    const answer = await replay(address, flight);
    expect(answer).not.toBe('closed');
    expect((answer as { type: number }).type).toBe(FrameType.REFUSED);
    expect(decodeRefused((answer as { payload: Uint8Array }).payload)).toBe(RefusedCode.REFUSED);
    expect(rn.stats.links).toBe(links);
    expect(rn.stats.attachedOneRtt).toBe(1);
    expect(logged.filter((o) => o.event === 'attach_refused').map((o) => o.code)).toEqual(['ATTACH_REPLAY']);
    expect(link.attached).toBe(true);
  });

  it('a captured first flight replayed to the RN restarted (same key, empty register) is refused: nothing made before its start + window is taken', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const first = await startRn(d, rnId);
    const proxy = await recordingProxy(first.address);
    const rns = [{ id: rnId, address: proxy.address }];
    const op = d.member('operator');
    (await attach(d, rns, op, proxy.address)).close();
    (await attach(d, rns, op, proxy.address)).close();
    expect(first.rn.stats.attachedOneRtt).toBe(1);
    const { flight } = firstFlight(proxy.sent);
    await first.rn.close();
    const restarted = await startRn(d, rnId, { attach1: {} });
    const answer = await replay(restarted.address, flight);
    expect((answer as { type: number }).type).toBe(FrameType.REFUSED);
    expect(decodeRefused((answer as { payload: Uint8Array }).payload)).toBe(RefusedCode.FULL_ATTACH);
    expect(restarted.rn.stats.links).toBe(0);
  });

  it('a captured first flight replayed to another RN does not open there (REFUSED 1)', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const otherId = d.member('rn').id;
    const { address } = await startRn(d, rnId);
    const other = await startRn(d, otherId);
    const proxy = await recordingProxy(address);
    const rns = [{ id: rnId, address: proxy.address }];
    const op = d.member('operator');
    (await attach(d, rns, op, proxy.address)).close();
    (await attach(d, rns, op, proxy.address)).close();
    const { flight } = firstFlight(proxy.sent);
    const answer = await replay(other.address, flight);
    expect((answer as { type: number }).type).toBe(FrameType.REFUSED);
    expect(decodeRefused((answer as { payload: Uint8Array }).payload)).toBe(RefusedCode.REFUSED);
    expect(other.rn.stats.links).toBe(0);
    expect(other.rn.stats.refused.attach_failed).toBe(1);
  });

  it('a remembered key the RN at that address does not hold: the EP falls back to the full attachment and its JOIN from the first flight still gets through', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const staleId = d.member('rn').id;
    const { rn, address } = await startRn(d, rnId);
    // Both keys are in the RN Set (the stale one is eligible), but the RN at `address` is rnId.
    const rns = [{ id: rnId, address }, { id: staleId, address: '127.0.0.1:1' }];
    const gw = d.member('gateway');
    const op = d.member('operator');
    const gwLink = await attach(d, rns, gw);
    gwLink.accept();
    rememberRnKey(address, staleId.publicKey);
    const begun = RnLink.begin({ address, trust: epTrust(d, rns), identity: { seed: op.id.seed, pcert: op.pcert } });
    cleanups.push(() => begun.link.close());
    const offerP = once<Offer>((cb) => gwLink.once('offer', cb));
    const stitchP = begun.link.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid), Uint8Array.of(0xc2));
    await begun.attached;
    expect(rn.stats.refused.attach_failed).toBe(1);
    expect(rn.stats.attachedOneRtt).toBe(0);
    const offer = await offerP;
    expect(offer.ch1).toEqual(Uint8Array.of(0xc2));
    offer.accept();
    await stitchP;
    // The key that answered is remembered now.
    expect(toHex(knownRnKey(address)!.publicKey)).toBe(toHex(rnId.publicKey));
  });

  it('an RN that closes the connection on a version-2 HELLO (an implementation without it): the EP attaches the full way on a new connection', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const { rn, address } = await startRn(d, rnId);
    // In front of the RN: a connection whose first chunk carries HELLO version 2 is cut, as an RN
    // that knows only version 1 does; everything else is passed through.
    const proxy = await recordingProxy(address, (first) => first[4] === FrameType.HELLO && first[5] === 2);
    const front = proxy.address;
    const rns = [{ id: rnId, address: front }];
    const op = d.member('operator');
    (await attach(d, rns, op, front)).close();
    expect(proxy.cuts).toBe(0);
    const link = await attach(d, rns, op, front);
    expect(link.attached).toBe(true);
    expect(proxy.cuts).toBe(1); // the 1-RTT attempt, cut; then the full attachment got through
    expect(rn.stats.attachedOneRtt).toBe(0);
    await until(() => rn.stats.links === 1);
  });

  it('a 1-RTT HELLO outside the window is refused with 3 before any crypto, at no HELLO token', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const { rn, address } = await startRn(d, rnId, { helloBurst: 1, helloRatePerS: 0.001 });
    // version 2, 32 + 32 bytes, time_ep = 1 (1970), then junk where the sealed part goes: never opened.
    const hello = concat(Uint8Array.of(2), new Uint8Array(64), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1), new Uint8Array(84));
    const answer = await replay(address, encodeFrame(FrameType.HELLO, hello));
    expect(decodeRefused((answer as { payload: Uint8Array }).payload)).toBe(RefusedCode.FULL_ATTACH);
    expect(rn.stats.refused.full_attach).toBe(1);
    // The one token of the bucket is still there for a real attachment.
    const op = d.member('operator');
    forgetRnKey(address);
    expect((await attach(d, [{ id: rnId, address }], op)).attached).toBe(true);
  });
});
