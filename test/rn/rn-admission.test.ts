// RN admission on real sockets (issue #11): the in-process RN on 127.0.0.1, clients from several
// loopback source addresses (attach-from.ts). A flood of silent connections from one source must
// not keep endpoints from other sources off the RN; gateways sharing one address that attached
// before must not be starved by that address's HELLO bucket.

import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode, type RendezvousNodeOptions } from '../../src/rn/server.js';
import { RefusedCode } from '../../src/uzp/link/constants.js';
import { TestDomain } from '../helpers/domain.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { until } from '../uzp/link/wait.js';
import { attachFrom, destroyAll, silentFrom, type AttachOutcome } from './attach-from.js';
import { attachTo, startInProcessRn, type InProcessRn } from '../helpers/inprocess-rn.js';

type Env = InProcessRn;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  destroyAll();
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startRn(opts: Partial<RendezvousNodeOptions> = {}): Promise<Env> {
  return startInProcessRn(cleanups, opts);
}

const attachedOk = (o: AttachOutcome): boolean => o.ok;
const refusedWith = (o: AttachOutcome): number | null => (o.ok ? null : o.refusedCode);

/** Every one of `n` connections from the flood has been admitted or cut at accept. */
function accounted(rn: RendezvousNode, n: number): boolean {
  const r = rn.stats.refused;
  return rn.stats.preauth + r.preauth_budget + r.preauth_source_cap + r.preauth_cap + rn.stats.closed.evicted >= n;
}

describe('RN admission: one source cannot fill the pre-auth table', () => {
  it('300 silent connections from 127.0.0.1 hold 8 slots; an endpoint from 127.0.0.2 attaches (defaults)', async () => {
    const env = await startRn();
    silentFrom(env.address, '127.0.0.1', 300);
    await until(() => accounted(env.rn, 300), 'every flood connection admitted or cut');
    expect(env.rn.stats.preauth).toBe(8);
    const r = env.rn.stats.refused;
    expect(r.preauth_source_cap + r.preauth_budget).toBe(292);
    expect(r.preauth_cap).toBe(0);
    const legit = await attachFrom(env.address, env.trust, env.d.member('gateway'), '127.0.0.2');
    expect(attachedOk(legit)).toBe(true);
    expect(env.rn.stats.links).toBe(1);
    expect(env.rn.stats.preauth).toBe(8); // the flood still holds its share, and no more
  });

  it('with the table full of two flooding sources, a newcomer evicts the heaviest source\'s oldest silent slot and attaches', async () => {
    const env = await startRn({ maxPreauth: 16, maxPreauthPerSource: 8 }); // reserve 4: strangers get 12
    silentFrom(env.address, '127.0.0.1', 8);
    await until(() => env.rn.stats.preauth === 8);
    silentFrom(env.address, '127.0.0.3', 8);
    await until(() => accounted(env.rn, 16), 'second flood accounted');
    // Strangers may hold 12; the second source took 4 free slots, then 2 more from the heavier first.
    expect(env.rn.stats.preauth).toBe(12);
    expect(env.rn.stats.closed.evicted).toBe(2);
    expect(env.rn.stats.refused.preauth_cap).toBe(2);
    const legit = await attachFrom(env.address, env.trust, env.d.member('operator'), '127.0.0.2');
    expect(attachedOk(legit)).toBe(true);
    expect(env.rn.stats.closed.evicted).toBe(3);
    expect(env.rn.stats.preauth).toBe(11);
  });

  it('a source an endpoint attached from recently uses the reserve the strangers cannot take', async () => {
    const env = await startRn({ maxPreauth: 8, maxPreauthPerSource: 8, preauthReserve: 4 });
    const first = await attachFrom(env.address, env.trust, env.d.member('gateway'), '127.0.0.2');
    expect(attachedOk(first)).toBe(true);
    if (first.ok) first.socket.destroy(); // detached: the source stays known for the TTL
    await until(() => env.rn.stats.links === 0);
    for (const src of ['127.0.0.1', '127.0.0.3', '127.0.0.4']) silentFrom(env.address, src, 8);
    await until(() => accounted(env.rn, 24), 'floods accounted');
    expect(env.rn.stats.preauth).toBe(4); // strangers: 8 - reserve
    // The known source takes reserved slots without evicting anyone, even with silent ones of its own.
    silentFrom(env.address, '127.0.0.2', 3);
    await until(() => env.rn.stats.preauth === 7);
    const evicted = env.rn.stats.closed.evicted;
    const again = await attachFrom(env.address, env.trust, env.d.member('gateway'), '127.0.0.2');
    expect(attachedOk(again)).toBe(true);
    expect(env.rn.stats.closed.evicted).toBe(evicted);
  });
});

describe('RN admission: the HELLO bucket and many gateways behind one address (NAT rule)', () => {
  it('a source with recent successful AUTHs gets a proportionally larger bucket; a stranger does not', async () => {
    const clock = new FakeClock();
    const env = await startRn({ clock, helloBurst: 4, helloRatePerS: 1 });
    const member = (): ReturnType<TestDomain['member']> => env.d.member('gateway');
    const foreign = new TestDomain(); // its PCerts fail AUTH at this RN: HELLO tokens spent, never known
    const from = async (src: string, m: ReturnType<TestDomain['member']>): Promise<AttachOutcome> => attachFrom(env.address, env.trust, m, src);

    // Four gateways behind 127.0.0.5 attach; four strangers' attempts from 127.0.0.6 fail AUTH.
    for (let i = 0; i < 4; i++) expect(attachedOk(await from('127.0.0.5', member()))).toBe(true);
    for (let i = 0; i < 4; i++) expect(refusedWith(await from('127.0.0.6', foreign.member('gateway')))).toBe(RefusedCode.REFUSED);
    // Both buckets are empty now: the next HELLO from either is refused with "overloaded".
    expect(refusedWith(await from('127.0.0.5', member()))).toBe(RefusedCode.OVERLOADED);
    expect(refusedWith(await from('127.0.0.6', member()))).toBe(RefusedCode.OVERLOADED);

    clock.advance(1000);
    expect(env.rn.stats.knownSources).toBe(1); // the sweep ran: 127.0.0.5 only
    // 127.0.0.5 is known for 4 CIDs: its bucket runs at 1 + 4 = 5 times the rate; the stranger's at 1.
    const nat: AttachOutcome[] = [];
    for (let i = 0; i < 6; i++) nat.push(await from('127.0.0.5', member()));
    expect(nat.map(attachedOk)).toEqual([true, true, true, true, true, false]);
    const stranger: AttachOutcome[] = [];
    for (let i = 0; i < 2; i++) stranger.push(await from('127.0.0.6', member()));
    expect(stranger.map(attachedOk)).toEqual([true, false]);
    expect(env.rn.stats.refused.rate_limited).toBe(4);
  });
});

describe('RN admission: one identity cannot take every link', () => {
  it('a CID past maxLinksPerCid is refused (REFUSED 2, cid_link_cap); another identity still attaches, and a freed place is taken again', async () => {
    const env = await startRn({ maxLinks: 20, maxLinksPerCid: 4 });
    const hostile = env.d.member('operator');
    const links = await Promise.all(Array.from({ length: 4 }, () => attachTo(env, hostile, cleanups)));
    // Before: one identity could hold all maxLinks (10,000 by default) and every other EP got REFUSED 2.
    await expect(attachTo(env, hostile, cleanups)).rejects.toMatchObject({ message: expect.stringMatching(/refused the attachment \(code 2\)/) });
    expect(env.rn.stats.refused.cid_link_cap).toBe(1);
    const honest = await attachTo(env, env.d.member('gateway'), cleanups);
    expect(honest.attached).toBe(true);
    links[0]!.close();
    await until(() => env.rn.stats.links === 4, 'the closed link detached');
    const again = await attachTo(env, hostile, cleanups);
    expect(again.attached).toBe(true);
  });
});
