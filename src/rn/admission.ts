// Who may hold one of the RN's pre-auth slots, and whose HELLO earns a handshake: the RN's
// admission policy under load (docs/PROFILE.md §RN admission). All checks are per source
// (source.ts: IPv4 address or IPv6 /64; TCP has proved it) and cost no crypto:
//
//  1. accept budget: a token bucket of new pre-auth connections per source, charged at accept, so
//     connections that never say a word pay too (the HELLO bucket only sees those that do);
//  2. per-source cap on concurrent pre-auth connections: one source never holds more than a few
//     slots, however fast it connects (issue #11: one host at ~51 silent connections/s held all 256);
//  3. a reserve: the last quarter of the table is only for *known* sources (known-sources.ts: an
//     endpoint attached from there recently), so a flood of strangers cannot keep returning
//     endpoints out;
//  4. a full table evicts rather than refuses: the newcomer takes the oldest (silent first) slot of
//     the heaviest source holding more slots than the newcomer's own source; a stranger never evicts
//     a known source. A flooder therefore only ever displaces itself.
//
// A known source runs its buckets and its cap at `factor` = 1 + its remembered CIDs (capped): the
// NAT rule, so gateways sharing one address are not starved by one address's budget.
// Draft §11: the RN "MAY ... act on limited metadata"; addresses and counts are all it uses here.

import type { Clock } from '../lib/clock.js';
import { KnownSources } from './known-sources.js';
import { PreauthTable, type PreauthHolder } from './preauth-table.js';
import { SourceRateLimiter } from './rate-limit.js';
import type { RnStats } from './stats.js';

export interface AdmissionOptions {
  /** Pre-auth slots in all. */
  readonly maxPreauth: number;
  /** Concurrent pre-auth connections of a stranger source (a known one: times its factor). */
  readonly maxPreauthPerSource: number;
  /** Slots strangers may not take (default: maxPreauth / 4). */
  readonly reserve: number;
  readonly preauthRatePerS: number;
  readonly preauthBurst: number;
  readonly helloRatePerS: number;
  readonly helloBurst: number;
  /** Sources each bucket table remembers (least recently seen forgotten beyond). */
  readonly maxSources: number;
  readonly knownTtlMs: number;
  readonly knownMaxCids: number;
  readonly knownFactorMax: number;
  readonly clock: Clock;
  readonly stats: RnStats;
}

/** Why a connection was cut at accept (RnStats.refused keys). */
export type AdmitRefusal = 'preauth_budget' | 'preauth_source_cap' | 'preauth_cap';

export class Admission {
  private readonly table = new PreauthTable();
  private readonly known: KnownSources;
  private readonly acceptBudget: SourceRateLimiter;
  private readonly helloBucket: SourceRateLimiter;

  constructor(private readonly opts: AdmissionOptions) {
    const { clock, maxSources } = opts;
    this.known = new KnownSources({ ttlMs: opts.knownTtlMs, maxCids: opts.knownMaxCids, clock });
    this.acceptBudget = new SourceRateLimiter({ ratePerS: opts.preauthRatePerS, burst: opts.preauthBurst, maxSources, clock });
    this.helloBucket = new SourceRateLimiter({ ratePerS: opts.helloRatePerS, burst: opts.helloBurst, maxSources, clock });
  }

  /** Connections holding a pre-auth slot now. */
  get preauth(): number {
    return this.table.size;
  }

  /** Sources that count as known now (a recent attachment from there). */
  get knownSources(): number {
    return this.known.sources;
  }

  /** 1 for a stranger; 1 + remembered CIDs (at most knownFactorMax) for a known source. */
  factor(source: string): number {
    return Math.min(1 + this.known.count(source), this.opts.knownFactorMax);
  }

  /**
   * A new connection from `source`: either `make()`s its holder into a slot (evicting a victim first
   * if the table is full for it) or says why not.
   */
  admit<H extends PreauthHolder>(source: string, make: () => H): H | AdmitRefusal {
    const f = this.factor(source);
    const isKnown = (s: string): boolean => this.factor(s) > 1;
    if (!this.acceptBudget.take(source, f)) return 'preauth_budget';
    const held = this.table.countOf(source);
    if (held >= this.opts.maxPreauthPerSource * f) return 'preauth_source_cap';
    let victim: PreauthHolder | null = null;
    const full = this.table.size >= this.opts.maxPreauth;
    const strangersFull = f === 1 && this.table.countWhere((s) => !isKnown(s)) >= this.opts.maxPreauth - this.opts.reserve;
    if (full || strangersFull) {
      // Strangers first: a known newcomer displaces a stranger if one holds more than it does,
      // else the heaviest other known source; a stranger only ever displaces strangers.
      const from = this.table.heaviest((s) => !isKnown(s), held) ?? (f > 1 ? this.table.heaviest((s) => s !== source, held) : null);
      victim = from === null ? null : this.table.takeVictim(from);
      if (victim === null) return 'preauth_cap';
    }
    victim?.evict(); // already out of the table: its close() does not count it twice
    const h = make();
    this.table.add(h);
    this.sync();
    return h;
  }

  /** `h` left pre-auth (attached, refused, closed, evicted); idempotent. */
  leave(h: PreauthHolder): void {
    if (this.table.remove(h)) this.sync();
  }

  /** `cid` (hex) is attached from `source`: on AUTH success, and again on every RN sweep. */
  attached(source: string, cid: string): void {
    this.known.seen(source, cid);
  }

  /** The per-source HELLO bucket, scaled for known sources (the NAT rule). */
  takeHello(source: string): boolean {
    return this.helloBucket.take(source, this.factor(source));
  }

  private sync(): void {
    this.opts.stats.preauth = this.table.size;
  }
}
