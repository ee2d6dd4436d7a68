// RN admission policy in memory (src/rn/admission.ts and its parts): per-source caps and budgets,
// the reserve for known sources, eviction of the heaviest source, the NAT rule, bounded tables.
// The same policy on real sockets: rn-admission.test.ts.

import { describe, expect, it } from 'vitest';
import { Admission, type AdmissionOptions } from '../../src/rn/admission.js';
import { KnownSources } from '../../src/rn/known-sources.js';
import { PreauthTable, type PreauthHolder } from '../../src/rn/preauth-table.js';
import { SourceRateLimiter } from '../../src/rn/rate-limit.js';
import { sourceKey } from '../../src/rn/source.js';
import { RnStats } from '../../src/rn/stats.js';
import { FakeClock } from '../helpers/fake-clock.js';

class Holder implements PreauthHolder {
  evicted = false;
  silent = true;
  constructor(
    readonly sourceKey: string,
    readonly name = '',
  ) {}
  evict(): void {
    this.evicted = true;
  }
}

function admission(o: Partial<AdmissionOptions> = {}): { a: Admission; stats: RnStats; clock: FakeClock } {
  const clock = new FakeClock();
  const stats = new RnStats();
  const a = new Admission({
    maxPreauth: 16,
    maxPreauthPerSource: 4,
    reserve: 4,
    preauthRatePerS: 1000,
    preauthBurst: 1000,
    helloRatePerS: 1000,
    helloBurst: 1000,
    maxSources: 100,
    knownTtlMs: 60_000,
    knownMaxCids: 100,
    knownFactorMax: 8,
    clock,
    stats,
    ...o,
  });
  return { a, stats, clock };
}

/** Admits one holder from `source`; the holder, or the refusal. */
function open(a: Admission, source: string, name = ''): Holder | string {
  return a.admit(source, () => new Holder(source, name));
}

describe('sourceKey: what admission accounts to', () => {
  it('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 as its /64, zone ids dropped', () => {
    expect(sourceKey('127.0.0.2')).toBe('127.0.0.2');
    expect(sourceKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(sourceKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2::1')).toBe(sourceKey('2001:db8:1:2:ffff::9'));
    expect(sourceKey('2001:db8:1:3::1')).not.toBe(sourceKey('2001:db8:1:2::1'));
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(sourceKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(sourceKey(undefined)).toBe('unknown');
  });
});

describe('PreauthTable', () => {
  it('groups by source, picks the heaviest, and evicts its oldest silent holder first', () => {
    const t = new PreauthTable();
    const a1 = new Holder('a', 'a1');
    const a2 = new Holder('a', 'a2');
    const b1 = new Holder('b', 'b1');
    a1.silent = false; // a1 spoke: a2 is the older *silent* one
    for (const h of [a1, a2, b1]) t.add(h);
    expect(t.size).toBe(3);
    expect(t.heaviest(() => true, 0)).toBe('a');
    expect(t.heaviest(() => true, 2)).toBeNull(); // nobody holds more than 2
    expect(t.heaviest((s) => s !== 'a', 0)).toBe('b');
    expect(t.takeVictim('a')).toBe(a2);
    expect(t.takeVictim('a')).toBe(a1);
    expect(t.takeVictim('a')).toBeNull();
    expect(t.remove(a1)).toBe(false); // already out
    expect(t.remove(b1)).toBe(true);
    expect([t.size, t.sources]).toEqual([0, 0]);
  });
});

describe('KnownSources', () => {
  it('counts distinct CIDs per source, moves a CID that changed source, forgets after the TTL', () => {
    const clock = new FakeClock();
    const k = new KnownSources({ ttlMs: 1000, maxCids: 10, clock });
    k.seen('nat', 'c1');
    k.seen('nat', 'c2');
    k.seen('nat', 'c2'); // same CID again: still 2
    expect(k.count('nat')).toBe(2);
    k.seen('home', 'c1'); // c1 roamed
    expect([k.count('nat'), k.count('home')]).toEqual([1, 1]);
    clock.advance(600);
    k.seen('home', 'c1'); // refreshed
    clock.advance(600); // c2 last seen 1200 ms ago
    expect([k.count('nat'), k.count('home')]).toEqual([0, 1]);
    expect(k.sources).toBe(1);
  });

  it('remembers at most maxCids pairs, forgetting the least recently seen', () => {
    const clock = new FakeClock();
    const k = new KnownSources({ ttlMs: 60_000, maxCids: 3, clock });
    for (let i = 0; i < 1000; i++) k.seen(`s${i % 7}`, `cid${i}`);
    expect(k.size).toBe(3);
    expect(k.sources).toBeLessThanOrEqual(3);
  });
});

describe('SourceRateLimiter scale', () => {
  it('a scaled bucket refills faster and holds more, but scaling mints no tokens at once', () => {
    const clock = new FakeClock();
    const l = new SourceRateLimiter({ ratePerS: 2, burst: 2, maxSources: 10, clock });
    expect([l.take('a'), l.take('a'), l.take('a')]).toEqual([true, true, false]);
    expect(l.take('a', 4)).toBe(false); // emptied: a larger scale does not refill it now
    clock.advance(1000);
    let n = 0;
    while (l.take('a', 4)) n++;
    expect(n).toBe(8); // 2/s x 4 for 1 s, within the scaled burst of 8
  });
});

describe('Admission', () => {
  it('a source never holds more than its per-source cap; other sources are unaffected', () => {
    const { a, stats } = admission();
    const got = Array.from({ length: 10 }, () => open(a, 'flood'));
    expect(got.filter((h) => h instanceof Holder)).toHaveLength(4);
    expect(got.filter((h) => h === 'preauth_source_cap')).toHaveLength(6);
    expect(open(a, 'legit')).toBeInstanceOf(Holder);
    expect(stats.preauth).toBe(5);
  });

  it('the accept budget is charged per source at accept, also for connections that say nothing', () => {
    const { a, clock } = admission({ preauthRatePerS: 1, preauthBurst: 3, maxPreauthPerSource: 100 });
    const got = Array.from({ length: 5 }, () => open(a, 'x'));
    expect(got.map((h) => (h instanceof Holder ? 'ok' : h))).toEqual(['ok', 'ok', 'ok', 'preauth_budget', 'preauth_budget']);
    for (const h of got) if (h instanceof Holder) a.leave(h); // closing them refunds nothing
    expect(open(a, 'x')).toBe('preauth_budget');
    expect(open(a, 'y')).toBeInstanceOf(Holder);
    clock.advance(1000);
    expect(open(a, 'x')).toBeInstanceOf(Holder);
  });

  it('strangers cannot take the reserve; a known source can', () => {
    const { a, stats } = admission({ maxPreauth: 8, reserve: 2, maxPreauthPerSource: 4 });
    a.attached('home', 'cid-1');
    for (const s of ['s1', 's2', 's3']) for (let i = 0; i < 2; i++) expect(open(a, s)).toBeInstanceOf(Holder);
    // 6 = 8 - reserve: a further stranger may only displace a stranger holding more than its own
    // source does; s1 holds 2, as many as anyone, so it is refused.
    expect(open(a, 's1')).toBe('preauth_cap');
    expect(stats.preauth).toBe(6);
    expect(open(a, 'home')).toBeInstanceOf(Holder);
    expect(open(a, 'home')).toBeInstanceOf(Holder);
    expect(stats.preauth).toBe(8);
  });

  it('a full table evicts the oldest silent holder of the heaviest source, never refusing a lighter newcomer', () => {
    const { a, stats } = admission({ maxPreauth: 8, reserve: 0, maxPreauthPerSource: 8 });
    const flood = Array.from({ length: 8 }, (_, i) => open(a, 'flood', `f${i}`) as Holder);
    flood[0]!.silent = false; // the oldest spoke: the oldest silent one goes first
    const legit = open(a, 'legit');
    expect(legit).toBeInstanceOf(Holder);
    expect(flood.filter((h) => h.evicted).map((h) => h.name)).toEqual(['f1']);
    expect(stats.preauth).toBe(8);
    // The flooder cannot win the slot back: nobody holds more than its own 7.
    expect(open(a, 'flood')).toBe('preauth_cap');
    // Another light source gets in the same way.
    expect(open(a, 'other')).toBeInstanceOf(Holder);
    expect(flood.filter((h) => h.evicted).map((h) => h.name)).toEqual(['f1', 'f2']);
  });

  it('a stranger never evicts a known source; a known newcomer evicts strangers first', () => {
    const { a } = admission({ maxPreauth: 6, reserve: 0, maxPreauthPerSource: 6 });
    a.attached('home', 'cid-1'); // factor 2: cap 12
    const home = Array.from({ length: 4 }, () => open(a, 'home') as Holder);
    const strangers = [open(a, 's1') as Holder, open(a, 's1') as Holder];
    expect(open(a, 's2')).toBeInstanceOf(Holder); // evicts from s1 (2 > 0), not from home (4)
    expect(strangers.filter((h) => h.evicted)).toHaveLength(1);
    expect(home.some((h) => h.evicted)).toBe(false);
    expect(open(a, 's3')).toBeInstanceOf(Holder); // s1 holds 1 > s3's 0: its last slot goes
    expect(strangers.every((h) => h.evicted)).toBe(true);
    expect(open(a, 'home')).toBe('preauth_cap'); // home holds 4: no one holds more
    a.attached('office', 'cid-2');
    expect(open(a, 'office')).toBeInstanceOf(Holder); // a known newcomer takes a stranger's slot...
    expect(home.some((h) => h.evicted)).toBe(false); // ...not a known source's
  });

  it('the NAT rule: a source with k remembered CIDs gets 1+k times the HELLO bucket and cap (bounded)', () => {
    const { a, clock } = admission({ helloRatePerS: 1, helloBurst: 2, maxPreauthPerSource: 2, knownFactorMax: 4 });
    const drain = (s: string): number => {
      let n = 0;
      while (a.takeHello(s)) n++;
      return n;
    };
    expect(drain('nat')).toBe(2);
    for (let i = 0; i < 10; i++) a.attached('nat', `gw-${i}`);
    expect(a.factor('nat')).toBe(4); // 1 + 10, capped
    expect(drain('nat')).toBe(0); // no tokens minted at once
    clock.advance(1000);
    expect(drain('nat')).toBe(4);
    expect(drain('stranger')).toBe(2);
    expect(Array.from({ length: 10 }, () => open(a, 'nat')).filter((h) => h instanceof Holder)).toHaveLength(8);
    clock.advance(60_000); // the TTL passes with nobody seen attached: a stranger again
    expect(a.factor('nat')).toBe(1);
  });

  it('leave() is idempotent and keeps stats.preauth exact', () => {
    const { a, stats } = admission();
    const h = open(a, 'x') as Holder;
    a.leave(h);
    a.leave(h);
    expect(stats.preauth).toBe(0);
    expect(a.preauth).toBe(0);
  });
});
