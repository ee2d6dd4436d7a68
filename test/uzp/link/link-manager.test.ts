import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../../src/rn/server.js';
import { ErrorCode, ProtocolError } from '../../../src/uzp/errors.js';
import { Backoff } from '../../../src/lib/backoff.js';
import { LinkManager, REPLACE_AFTER_MS } from '../../../src/uzp/link/link-manager.js';
import type { RnLink, RnLinkOptions } from '../../../src/uzp/link/rn-link.js';
import { TestDomain } from '../../helpers/domain.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { once, until } from './wait.js';
import { type CodedError } from '../../../src/lib/errors.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Backoff (full jitter)', () => {
  it('draws under a ceiling that doubles from base up to the cap', () => {
    const b = new Backoff({ baseMs: 500, capMs: 30_000, random: () => 0.999999 });
    const ds = Array.from({ length: 10 }, () => b.next());
    expect(ds).toEqual([499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
    b.reset();
    expect(b.next()).toBe(499);
  });

  it('is uniformly jittered between 0 and the ceiling', () => {
    const b = new Backoff({ baseMs: 1000, capMs: 1000, random: () => 0 });
    expect(b.next()).toBe(0);
    let r = 0.5;
    const c = new Backoff({ baseMs: 1000, capMs: 8000, random: () => r });
    c.next();
    c.next();
    r = 0.25;
    expect(c.next()).toBe(1000); // ceiling 4000 * 0.25
    expect(c.attempts).toBe(3);
  });
});

/** Stands in for RnLink: the manager only uses on(), accept(), attached and close(). */
class FakeLink extends EventEmitter {
  attached = true;
  accepts = 0;
  constructor(readonly address: string) {
    super();
  }
  accept(): void {
    this.accepts++;
  }
  close(): void {
    if (!this.attached) return;
    this.attached = false;
    this.emit('close', undefined);
  }
  drop(): void {
    this.attached = false;
    this.emit('close', new ProtocolError(ErrorCode.LINK_TIMEOUT, 'dead'));
  }
  draining = false;
  /** The RN sent DRAIN (RnLink sets `draining`, then emits). */
  drain(): void {
    this.draining = true;
    this.emit('drain', 5_000);
  }
}

function managerWorld() {
  const d = new TestDomain();
  const rnA = d.member('rn').id;
  const rnB = d.member('rn').id;
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rnA, addresses: ['10.0.0.1:7000'] }, { id: rnB, addresses: ['10.0.0.2:7000', '10.0.0.3:7000'] }]));
  const gw = d.member('gateway');
  const clock = new FakeClock();
  const attempts: RnLinkOptions[] = [];
  let outcomes: ('ok' | 'fail')[] = [];
  const links: FakeLink[] = [];
  const attach = (o: RnLinkOptions): Promise<RnLink> => {
    attempts.push(o);
    const outcome = outcomes.shift() ?? 'ok';
    if (outcome === 'fail') return Promise.reject(new ProtocolError(ErrorCode.LINK_CLOSED, `connect ${o.address} refused`));
    const l = new FakeLink(o.address);
    links.push(l);
    return Promise.resolve(l as unknown as RnLink);
  };
  const ups: RnLink[] = [];
  const downs: (CodedError | undefined)[] = [];
  const make = (extra: Partial<ConstructorParameters<typeof LinkManager>[0]> = {}) => {
    const m = new LinkManager({ trust, identity: { seed: gw.id.seed, pcert: gw.pcert }, clock, random: () => 0.999999, attach, ...extra });
    m.on('up', (l) => ups.push(l));
    m.on('down', (e) => downs.push(e));
    cleanups.push(() => m.stop());
    return m;
  };
  return { d, rnA, rnB, trust, clock, attempts, links, ups, downs, make, setOutcomes: (o: ('ok' | 'fail')[]) => (outcomes = o) };
}

const settle = () => new Promise((r) => setImmediate(r));
/** Several turns: a round of attempts chains one per turn. */
const settled = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await settle();
};

describe('LinkManager', () => {
  it('keeps one link: tries every address of a round at once, then backs off exponentially between rounds', async () => {
    const w = managerWorld();
    w.setOutcomes(['fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'ok']);
    const m = w.make();
    m.start();
    await settled();
    expect(w.attempts).toHaveLength(3); // a dead RN does not delay the next address
    expect(w.downs).toHaveLength(3);
    expect(m.failures).toBe(1);
    w.clock.advance(498);
    await settled();
    expect(w.attempts).toHaveLength(3); // 499 ms not yet elapsed
    w.clock.advance(1);
    await settled();
    expect(w.attempts).toHaveLength(6);
    expect(m.failures).toBe(2);
    w.clock.advance(998);
    await settled();
    expect(w.attempts).toHaveLength(6); // the ceiling doubled
    w.clock.advance(1);
    await settled();
    const a = ['10.0.0.1:7000', '10.0.0.2:7000', '10.0.0.3:7000'];
    expect(w.attempts.map((x) => x.address)).toEqual([...a, ...a, a[0]]);
    expect(w.ups).toHaveLength(1);
    expect(m.link).toBe(w.ups[0]);
    expect(m.failures).toBe(2);
  });

  it('reconnects after a link drops (failing over to the next address first) and re-issues ACCEPT', async () => {
    const w = managerWorld();
    const m = w.make({ accept: true });
    m.start();
    await settle();
    expect(w.links[0]!.accepts).toBe(1);
    w.links[0]!.drop();
    expect(w.downs.at(-1)?.code).toBe(ErrorCode.LINK_TIMEOUT);
    expect(m.link).toBeNull();
    w.clock.advance(499);
    await settle();
    expect(w.links).toHaveLength(2);
    expect(w.links[1]!.address).toBe('10.0.0.2:7000');
    expect(w.links[1]!.accepts).toBe(1);
    // accept() switched on later applies to the current link and every later one
    const m2 = w.make();
    m2.start();
    await settle();
    const l = w.links.at(-1)!;
    expect(l.accepts).toBe(0);
    m2.accept();
    expect(l.accepts).toBe(1);
  });

  it('resets the backoff only after a stable attachment; a link that was up a while is replaced after REPLACE_AFTER_MS, not the backoff', async () => {
    const w = managerWorld();
    w.setOutcomes(['fail', 'fail', 'ok', 'fail', 'ok']);
    const m = w.make({ stableMs: 60_000 });
    m.start();
    await settled();
    expect([w.links.length, m.failures]).toEqual([1, 0]); // .1 and .2 failed, .3 attached in the same round
    w.links[0]!.drop(); // dropped at once: the backoff applies, and grows
    expect(m.failures).toBe(1);
    w.clock.advance(499);
    await settled();
    expect(w.links).toHaveLength(2);
    w.links[1]!.drop();
    expect(m.failures).toBe(2);
    w.clock.advance(999);
    await settled();
    expect(w.links).toHaveLength(3);
    w.clock.advance(60_000); // stable for a minute
    w.links[2]!.drop();
    expect(m.failures).toBe(0);
    w.clock.advance(REPLACE_AFTER_MS - 1);
    await settled();
    expect(w.links).toHaveLength(3); // sessions re-stitch through the standby first
    w.clock.advance(1);
    await settled();
    expect(w.links).toHaveLength(4);
  });

  it('by default a few stable seconds reset the backoff: a working RN that dies is replaced after REPLACE_AFTER_MS', async () => {
    const w = managerWorld();
    w.setOutcomes(['fail', 'fail', 'fail', 'ok', 'ok']);
    const m = w.make();
    m.start();
    await settled();
    w.clock.advance(499);
    await settled();
    expect([w.links.length, m.failures]).toEqual([1, 1]);
    w.clock.advance(5_000); // up for 5 s
    w.links[0]!.drop();
    expect(m.failures).toBe(0);
    w.clock.advance(REPLACE_AFTER_MS);
    await settled();
    expect(w.links).toHaveLength(2);
  });

  it('failures that came before a link that stays up for hours are forgotten once it is stable, not only at its close: its drop then a failed dial retries at the first backoff step', async () => {
    const w = managerWorld();
    w.trust.setRnSet(w.d.rnSet([{ id: w.rnA, addresses: ['10.0.0.1:7000'] }]));
    w.setOutcomes(['fail', 'fail', 'fail', 'ok', 'fail', 'ok']);
    const m = w.make(); // stable after 5 s (default), base 500 ms, the ceiling drawn each time
    m.start();
    await settled();
    for (const [n, delay] of [[1, 499], [2, 999], [3, 1_999]] as const) {
      expect([w.links.length, m.failures]).toEqual([0, n]); // the backoff grows
      w.clock.advance(delay);
      await settled();
    }
    expect([w.links.length, m.failures]).toEqual([1, 3]); // attached after the third failure
    w.clock.advance(4_999);
    expect(m.failures).toBe(3); // not stable yet
    w.clock.advance(1);
    expect(m.failures).toBe(0); // before: 3 while the link stayed up, for the whole hour
    w.clock.advance(3_600_000);
    expect(m.failures).toBe(0);
    w.links[0]!.drop(); // up an hour: replaced after REPLACE_AFTER_MS; that dial fails
    w.clock.advance(REPLACE_AFTER_MS);
    await settled();
    expect([w.attempts.length, w.links.length, m.failures]).toEqual([5, 1, 1]);
    w.clock.advance(498); // the first step (ceiling 500 ms), not the fourth (4 s)
    await settled();
    expect(w.links).toHaveLength(1);
    w.clock.advance(1);
    await settled();
    expect(w.links).toHaveLength(2);
  });

  it('after a link up an hour, failures read after stop() is 0 (the gateway writes its last status after stopping its links)', async () => {
    const w = managerWorld();
    w.trust.setRnSet(w.d.rnSet([{ id: w.rnA, addresses: ['10.0.0.1:7000'] }]));
    w.setOutcomes(['fail', 'fail', 'fail', 'ok']);
    const m = w.make();
    m.start();
    await settled();
    for (const delay of [499, 999, 1_999]) {
      w.clock.advance(delay);
      await settled();
    }
    w.clock.advance(3_600_000);
    m.stop();
    expect(m.failures).toBe(0);
  });

  it('links up 1 s or more that drop are replaced at once, even in a row from different RNs (failover when RNs fail one after another)', async () => {
    const w = managerWorld();
    const rnC = w.d.member('rn').id;
    w.trust.setRnSet(w.d.rnSet([{ id: w.rnA, addresses: ['10.0.0.1:7000'] }, { id: w.rnB, addresses: ['10.0.0.2:7000'] }, { id: rnC, addresses: ['10.0.0.3:7000'] }]));
    const m = w.make(); // stable after 5 s (default), base 500 ms, the ceiling drawn each time
    m.start();
    await settled();
    // Three RN failures 3 s apart, none of the links stable (5 s): each is replaced after
    // REPLACE_AFTER_MS. A rule counting every such drop as a failure (tried this stop) backed them
    // off 500 ms, 1 s, 2 s…: chaos.test.ts's kills then re-stitched in up to 1.5 s instead of 0.1 s.
    for (let n = 1; n <= 3; n++) {
      w.clock.advance(3_000);
      w.links[n - 1]!.drop();
      expect(m.failures).toBe(0);
      w.clock.advance(REPLACE_AFTER_MS);
      await settled();
      expect(w.links).toHaveLength(n + 1);
    }
    expect(w.links.map((l) => l.address)).toEqual(['10.0.0.1:7000', '10.0.0.2:7000', '10.0.0.3:7000', '10.0.0.1:7000']);
  });

  it('an RN whose every link drops after a second or two: replaced at once the first time, then backed off', async () => {
    const w = managerWorld();
    w.trust.setRnSet(w.d.rnSet([{ id: w.rnA, addresses: ['10.0.0.1:7000'] }]));
    const m = w.make();
    m.start();
    await settled();
    w.clock.advance(1_100);
    w.links[0]!.drop(); // up 1.1 s: replaced at once
    expect(m.failures).toBe(0);
    w.clock.advance(REPLACE_AFTER_MS);
    await settled();
    expect(w.links).toHaveLength(2);
    // Before: every one replaced after 100 ms, for good (a reconnect every 1.2 s: 26 in 30 s).
    for (const [n, delay] of [[2, 499], [3, 999]] as const) {
      w.clock.advance(1_100);
      w.links[n - 1]!.drop();
      expect(m.failures).toBe(n - 1);
      w.clock.advance(delay - 1);
      await settled();
      expect(w.links).toHaveLength(n);
      w.clock.advance(1);
      await settled();
      expect(w.links).toHaveLength(n + 1);
    }
    // Stable again (5 s): the next drop is replaced at once.
    w.clock.advance(5_000);
    w.links[3]!.drop();
    expect(m.failures).toBe(0);
    w.clock.advance(REPLACE_AFTER_MS);
    await settled();
    expect(w.links).toHaveLength(5);
  });

  it('DRAIN: the link is left at once and the drop says why; a link drained within its first second meets the backoff', async () => {
    const w = managerWorld();
    const m = w.make();
    m.start();
    await settled();
    w.clock.advance(1_100);
    w.links[0]!.drain();
    expect(w.links[0]!.attached).toBe(false);
    expect(w.downs.at(-1)?.message).toContain('draining (DRAIN)');
    expect(m.failures).toBe(0);
    w.clock.advance(REPLACE_AFTER_MS);
    await settled();
    expect(w.links.map((l) => l.address)).toEqual(['10.0.0.1:7000', '10.0.0.2:7000']);
    // Drained at once (a DRAIN storm from an RN that drains every link as it attaches): backed off.
    w.links[1]!.drain();
    expect(m.failures).toBe(1);
  });

  it('re-reads eligibility before each attempt: revoked RNs and a missing RN set are skipped', async () => {
    const w = managerWorld();
    w.trust.setRevocation(w.d.revocation([w.rnA.cid]));
    const m = w.make();
    m.start();
    await settle();
    expect(w.attempts.map((a) => a.address)).toEqual(['10.0.0.2:7000']);
    const w2 = managerWorld();
    const bare = w2.d.trust();
    const m2 = new LinkManager({ trust: bare, identity: { seed: new Uint8Array(32), pcert: new Uint8Array(0) }, clock: w2.clock, attach: () => Promise.reject(new Error('unreachable')) });
    const downs: (CodedError | undefined)[] = [];
    m2.on('down', (e) => downs.push(e));
    m2.start();
    await settle();
    expect(downs[0]?.code).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    m2.stop();
    expect(w2.clock.pending).toBe(0);
  });

  it('stop() and an AbortSignal cancel timers and close the link', async () => {
    const w = managerWorld();
    const m = w.make();
    m.start();
    await settle();
    const l = w.links[0]!;
    m.stop();
    expect(l.attached).toBe(false);
    expect(w.downs.at(-1)).toBeUndefined();
    expect(w.clock.pending).toBe(0);
    w.setOutcomes(['fail', 'fail', 'fail']); // a whole round fails: the backoff timer is armed
    const ac = new AbortController();
    w.make({ signal: ac.signal }).start();
    await settled();
    expect(w.clock.pending).toBe(1);
    ac.abort();
    expect(w.clock.pending).toBe(0);
  });

  it('with a real RN: comes back up after the RN restarts and stays reachable as a responder', async () => {
    const d = new TestDomain();
    const rnId = d.member('rn').id;
    const rnTrust = d.trust();
    let rn = new RendezvousNode({ trust: rnTrust, seed: rnId.seed });
    const address = await rn.listen('127.0.0.1', 0);
    const port = Number(address.split(':')[1]);
    const epTrust = d.trust();
    epTrust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
    const gw = d.member('gateway');
    const op = d.member('operator');
    const m = new LinkManager({ trust: epTrust, identity: { seed: gw.id.seed, pcert: gw.pcert }, accept: true, backoffBaseMs: 20, backoffCapMs: 100 });
    cleanups.push(() => m.stop());
    const up1 = once<RnLink>((cb) => m.once('up', cb));
    m.start();
    await up1;
    const down = once<CodedError | undefined>((cb) => m.once('down', cb));
    const up2 = once<RnLink>((cb) => m.once('up', cb));
    await rn.close();
    expect((await down)?.code).toBe(ErrorCode.LINK_CLOSED);
    rn = new RendezvousNode({ trust: rnTrust, seed: rnId.seed });
    await rn.listen('127.0.0.1', port);
    cleanups.push(() => rn.close());
    await up2;
    // The manager re-issued ACCEPT on the new link: an operator can join the gateway.
    let offers = 0;
    m.on('offer', (o) => {
      offers++;
      o.accept();
    });
    const opMgr = new LinkManager({ trust: epTrust, identity: { seed: op.id.seed, pcert: op.pcert } });
    cleanups.push(() => opMgr.stop());
    const opUp = once<RnLink>((cb) => opMgr.once('up', cb));
    opMgr.start();
    const opLink = await opUp;
    await until(() => rn.stats.links === 2);
    // ACCEPT travels on the gateway's link, JOIN on the operator's: retry until the RN has both.
    let s: Awaited<ReturnType<RnLink['join']>> | undefined;
    while (s === undefined) {
      s = await opLink.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid), new Uint8Array(0)).catch((e: CodedError) => {
        expect(e.code).toBe(ErrorCode.PEER_NOT_ATTACHED);
        return undefined;
      });
    }
    expect(s.id).toBeGreaterThan(0);
    await until(() => offers === 1);
  });
});
