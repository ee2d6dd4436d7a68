// Liveness of the far RNs (docs/PROFILE.md §Fabric "Liveness of the far RN"): the RNs this RN has
// stitches with. When one is gone — killed, stopped, cut off from NATS, or no longer eligible —
// this RN ends its half of every stitch made with it at once, as it does on that RN's UNSTITCH: its
// EP hears UNSTITCH code 4 (FAR_RN_GONE) and its continuity re-stitches through another RN now, not
// when its own PoR or link timeouts fire (never, for a session without PoR). Before, the half stayed
// up. The evidence is what the fabric has or gets cheaply, and one hop message answering a probe:
//
// - Probes. To each far RN at once, then every PROBE_MS, one hop CREDIT repeating the last
//   `consumed` we sent it for one of its stitches, the next one each time (nothing changes there:
//   `consumed` is a maximum), published with a NATS reply subject of ours. NATS answers a message
//   nobody subscribes to with "no responders" on that subject: the far RN's hop subscription is
//   gone, so is its NATS connection (a killed RN's closes at once). ABSENT_PROBES answers in a row, nothing from that RN
//   between: an RN moving to another NATS node is without its subscription for a moment. Two
//   answers count as two only for probes sent at least half a PROBE_MS apart: the first probe to an
//   RN goes out at once, and the shared tick may send the next one a few ms later.
// - Silence. A live RN probes us every PROBE_MS while it has stitches with us, so nothing
//   authenticated from it for SILENT_MS (stopped, partitioned: its NATS presence lingers until the
//   server drops its connection, minutes by default) means it carries none of them. Judged only for
//   an RN that has probed us (a batch with a reply subject) while we have stitches with it, or in
//   the few seconds before the first (PROBED_BEFORE): one of an earlier release does not, and its
//   idle stitches must not end for that — also when it was restarted as that release after
//   probing us as a newer one.
// - Eligibility (peers.ts), asked at every probe: a revoked RN's stitches end as well.
// - Answers. A far RN that has no stitch a probe names (it restarted, faster than it could be found
//   absent, or ended the stitch and its UNSTITCH was lost) says so (probe-answers.ts): then every
//   stitch with it is checked at once — one probe of CREDITs for all of them — and those it does not
//   have end here (check()). A probe names the next stitch each time, so every one is asked in turn.
//
// Nothing is judged while our own NATS connection is down, nor after a tick that came late (our own
// event loop was held: what the far RNs sent meanwhile is still unread): silence we could not have
// heard is not theirs. But off NATS for SILENT_MS, or for good, this RN ends every stitch across
// (offline(), leave()): by then each far RN of this release has found it absent or silent and ended
// its own half, so nothing crosses those stitches any more. One log line and one count per RN lost,
// per check, or for all stitches when off NATS, however many stitches. An RN lost, and every RN
// when this one was off NATS too long, may come back holding its halves, which nothing it could
// hear ended: it is told when next heard from (far-rn-owed.ts).

import { toHex } from '../../uzp/bytes.js';
import { UnstitchCode } from '../../uzp/link/constants.js';
import type { RnLog } from '../log.js';
import { OwedUnstitches } from './far-rn-owed.js';
import { encodeHopCredit } from './messages.js';
import type { RemotePeer, StitchWatch } from './remote-peer.js';

/** One probe to each far RN this often (a 62-byte batch). */
export const PROBE_MS = 1_000;
/**
 * Probes in a row NATS found no subscriber for before an RN is gone: a second apart, far longer
 * than a live RN is without its subscription while it moves to another NATS node (16 ms here).
 */
export const ABSENT_PROBES = 2;
/**
 * Nothing from a far RN that probes us for this long: it is gone. Twenty missed probes, and above
 * the up to 15 s a live RN may take to find its own NATS node silent and move to another (its
 * pings every 5 s, two unanswered: fabric.ts), so an RN that is slow or between nodes keeps them.
 */
export const SILENT_MS = 20_000;

/** Probe intervals before our first stitch with a far RN within which its probe still counts (probed()). */
export const PROBED_BEFORE = 3;

/**
 * Off NATS this long (our own connection: every NATS node unreachable), this RN ends every stitch
 * across: SILENT_MS, as for a far RN, so a NATS node switch (ms to a few seconds) keeps them, and by
 * then every far RN has found this one absent or silent and ended its half.
 */
export const OFFLINE_MS = SILENT_MS;

export type FarRnLoss = 'absent' | 'silent' | 'ineligible';

const WHY: Record<FarRnLoss, string> = {
  absent: 'the RN at the other end of stitches across the fabric left NATS (nobody receives its hop subject); its stitches here ended',
  silent: 'nothing came from the RN at the other end of stitches across the fabric for too long (stopped or cut off); its stitches here ended',
  ineligible: 'the RN at the other end of stitches across the fabric is no longer eligible (RN Set Statement, revocations); its stitches here ended',
};

interface FarRn {
  readonly cid: Uint8Array;
  readonly stitches: Set<RemotePeer>;
  /** When our first stitch with it (of this entry) was connected. */
  readonly born: number;
  /** When we last heard from it (an authenticated hop batch), or began to listen again. */
  heardAt: number;
  /** Something came from it since the last tick. */
  heard: boolean;
  /** Probes in a row NATS found no subscriber for. */
  absent: number;
  /** The reply token of the last probe, when it was sent, and whether NATS answered it "no responders". */
  token: string | undefined;
  sentAt: number;
  noSubscriber: boolean;
  /** When the last probe counted in `absent` was sent. */
  countedAt: number;
  /** The stitch the last probe named. */
  probed: RemotePeer | undefined;
  /** The reply token of the last check (check()), and the stitches it named. */
  checkToken: string | undefined;
  checked: Set<RemotePeer> | undefined;
}

export interface FarRnsOptions {
  /** A monotonic clock, ms (default performance.now). */
  readonly now?: () => number;
  /** A fresh random reply token: a party that did not see the probe cannot answer it. */
  readonly token: () => string;
  readonly eligible: (rn: Uint8Array) => boolean;
  /** Publishes hop messages `messages` to `rn`, in batches of their own, with the NATS reply subject of `token`. */
  readonly probe: (rn: Uint8Array, messages: readonly Uint8Array[], token: string) => void;
  /** Ends the local stitch of `p` as an UNSTITCH `code` from its far side would (Switchboard.unstitch). */
  readonly end: (p: RemotePeer, code: number) => void;
  /** Sends `rn` a hop UNSTITCH `code` for its stitch `stitch` (HopOutbox.unstitch). */
  readonly tell: (rn: Uint8Array, stitch: number, code: number) => void;
  readonly log: RnLog;
  readonly stats: { rnsLost: number; rnLostStitches: number; unknownStitches: number; offStitches: number };
  readonly probeMs?: number;
  readonly silentMs?: number;
}

export class FarRns implements StitchWatch {
  private readonly rns = new Map<string, FarRn>();
  /**
   * When each RN (CID, hex) last probed us, whether or not we have stitches with it now: its silence
   * counts if it probed us while we had them, or shortly before (probed(): an RN's first probe can
   * come before our first stitch with it is connected, and one that had stitches with us already
   * probes only at its next round).
   * Bounded: only RNs eligible under the RN Set Statement get a batch authenticated (heard()).
   */
  private readonly probers = new Map<string, number>();
  private readonly owed = new OwedUnstitches();
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private paused = false;
  /** When our NATS connection went down (paused). */
  private offSince = 0;
  private stopped = false;
  private readonly probeMs: number;
  private readonly silentMs: number;
  private readonly now: () => number;

  constructor(private readonly o: FarRnsOptions) {
    this.probeMs = o.probeMs ?? PROBE_MS;
    this.silentMs = o.silentMs ?? SILENT_MS;
    this.now = o.now ?? (() => performance.now());
  }

  connected(p: RemotePeer): void {
    const hex = toHex(p.rn!);
    let r = this.rns.get(hex);
    if (r !== undefined) return void r.stitches.add(p);
    const now = this.now();
    this.rns.set(hex, (r = { cid: p.rn!.slice(), stitches: new Set([p]), born: now, heardAt: now, heard: false, absent: 0, token: undefined, sentAt: now, noSubscriber: false, countedAt: now, probed: undefined, checkToken: undefined, checked: undefined }));
    this.arm();
    // Soon, so that it knows we probe (its judging our silence waits for that); not within the JOIN
    // being answered, whose OFFER_VIA and reply go first (the first probe derives the hop keys).
    const first = r;
    setImmediate(() => {
      if (this.rns.get(hex) === first && !this.stopped) this.probe(first);
    });
  }

  closed(p: RemotePeer): void {
    const hex = toHex(p.rn!);
    const r = this.rns.get(hex);
    if (r === undefined || !r.stitches.delete(p) || r.stitches.size > 0) return;
    this.rns.delete(hex);
    if (this.rns.size === 0) this.disarm();
  }

  /** An authenticated hop batch came from `rn`; `probing`: with a NATS reply subject (a probe). */
  heard(rn: Uint8Array, probing: boolean): void {
    if (!probing && this.rns.size === 0 && this.owed.empty) return;
    const hex = toHex(rn);
    const now = this.now();
    if (probing) this.probers.set(hex, now);
    const r = this.rns.get(hex);
    if (r !== undefined) r.heard = true;
    const owed = this.owed.take(hex, now);
    if (owed === undefined) return;
    // Back, holding its halves of the stitches that ended here when it was lost: it ends them (its
    // EPs hear UNSTITCH 3) as if it had heard us then; one it ended meanwhile is dropped there.
    this.o.log.info({ event: 'fabric_rn_back', rn: hex, stitches: owed.length }, 'an RN this one had found gone is heard from again; told that its stitches with this RN ended');
    const cid = rn.slice(); // `rn` is the batch's bytes; the outbox keeps its CID until the turn ends
    for (const stitch of owed) this.o.tell(cid, stitch, UnstitchCode.RN);
  }

  /**
   * Whether `token` is that of a probe or check of ours still waiting for its answer: anybody on the
   * cluster may publish to our reply subjects, and what comes under any other token is dropped unread.
   */
  expects(token: string): boolean {
    for (const r of this.rns.values()) if (r.token === token || r.checkToken === token) return true;
    return false;
  }

  /** NATS answered the probe with reply token `token` "no responders". */
  noResponders(token: string): void {
    for (const r of this.rns.values()) if (r.token === token) r.noSubscriber = true;
  }

  /**
   * RN `rn` answered the probe of reply token `token`: it has no stitch with us of its ids
   * `stitches`. To a probe of the tick: every stitch with it is checked at once, if the one the
   * probe named is among them (a check per probe at most). To the last check: those it named end.
   */
  unknown(rn: Uint8Array, token: string, stitches: readonly number[]): void {
    const r = this.rns.get(toHex(rn));
    if (r === undefined || this.stopped) return;
    const named = new Set(stitches);
    const p = r.probed;
    if (token === r.token) {
      if (p === undefined || !r.stitches.has(p) || !named.has(p.farStitch!)) return;
      r.token = undefined; // answered: nothing more comes for it, "no responders" included
      return this.check(r);
    }
    if (token !== r.checkToken || r.checked === undefined) return;
    const gone = [...r.checked].filter((q) => r.stitches.has(q) && named.has(q.farStitch!));
    if (gone.length === 0) return;
    for (const q of gone) r.checked.delete(q);
    this.o.stats.unknownStitches += gone.length;
    this.o.log.warn({ event: 'fabric_stitches_unknown', rn: toHex(r.cid), stitches: gone.length }, 'the RN at the other end of stitches across the fabric does not have them (restarted, or ended them unheard); they ended here');
    for (const q of gone) this.o.end(q, UnstitchCode.FAR_RN_GONE);
  }

  /**
   * Our NATS connection went down (false: nobody can be heard, nor probed) or came back (true):
   * then every far RN gets a fresh start. Down for OFFLINE_MS: every stitch across ends (tick()).
   */
  online(up: boolean): void {
    const now = this.now();
    if (!up && !this.paused) this.offSince = now;
    this.paused = !up;
    if (up) for (const r of this.rns.values()) restart(r, now);
  }

  /** The fabric is left: no more probes or judgements. */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /**
   * Our NATS connection closed for good (fabric.ts watch()): nothing crosses any stitch with a far RN
   * now, so each ends here as for a far RN gone (its EP hears UNSTITCH 4 and re-stitches). A far RN
   * ends its halves on our answer to its next probe once we joined again (UNKNOWN: probe-answers.ts),
   * or finds us absent if we do not. Returns how many.
   */
  leave(): number {
    this.stop();
    return this.endAll(undefined);
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.lastTick = this.now();
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (e) {
        this.o.log.error({ event: 'fabric_liveness_failed', reason: (e as Error)?.message ?? String(e) }, 'judging the far RNs failed; trying again at the next probe');
      }
    }, this.probeMs);
    this.timer.unref();
  }

  private disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Every probeMs: judges each far RN on what the last interval brought, and probes those not gone. */
  private tick(): void {
    const now = this.now();
    const late = now - this.lastTick > 2 * this.probeMs;
    this.lastTick = now;
    if (this.paused) {
      // Time we could not have spent reconnecting is not counted either.
      if (late) this.offSince = now;
      else if (now - this.offSince >= this.silentMs) this.offline(now);
      return;
    }
    for (const [hex, r] of this.rns) {
      if (late || r.heard) restart(r, now);
      else if (!r.noSubscriber) r.absent = 0;
      // Of two answers to probes sent a moment apart, the later adds nothing: ABSENT_PROBES spans time.
      else if (r.absent === 0 || r.sentAt - r.countedAt >= this.probeMs / 2) {
        r.absent++;
        r.countedAt = r.sentAt;
      }
      r.heard = false;
      r.noSubscriber = false;
      const loss: FarRnLoss | undefined = !this.o.eligible(r.cid) ? 'ineligible' : r.absent >= ABSENT_PROBES ? 'absent' : this.probed(hex, r) && now - r.heardAt >= this.silentMs ? 'silent' : undefined;
      if (loss !== undefined) this.lose(hex, r, loss, now);
      else this.probe(r);
    }
    if (this.rns.size === 0) this.disarm();
  }

  /**
   * Whether RN `hex` probed us during entry `r`, or within PROBED_BEFORE probe intervals before it
   * began: then its silence counts. Not only the interval before: a far RN that already had stitches
   * with us when ours began (its halves outlived ours, or ours ended first) sends no probe for the
   * new one, only its tick's, up to an interval later and later still on a busy box (1.4 s seen), and
   * an RN stopped in that gap was then never judged at all (its stitches here stayed up for good; a
   * CI run of fabric-rn-lost.test.ts). An RN restarted as an earlier release is judged by silence
   * only if our new stitches with it began within that window of its last probe: at most once.
   */
  private probed(hex: string, r: FarRn): boolean {
    return (this.probers.get(hex) ?? -Infinity) >= r.born - PROBED_BEFORE * this.probeMs;
  }

  private probe(r: FarRn): void {
    for (const p of r.stitches) {
      const c = p.lastCredit();
      if (c === undefined) continue;
      // Last in the set now: the next probe names the next stitch, so each is asked in turn.
      r.stitches.delete(p);
      r.stitches.add(p);
      r.probed = p;
      r.token = this.o.token();
      r.sentAt = this.now();
      return this.o.probe(r.cid, [encodeHopCredit(c.stitch, c.consumed)], r.token);
    }
  }

  /** One probe of every stitch with `r` (a CREDIT each, in batches): its answer names those it does not have. */
  private check(r: FarRn): void {
    const messages: Uint8Array[] = [];
    r.checked = new Set();
    for (const p of r.stitches) {
      const c = p.lastCredit();
      if (c === undefined) continue;
      messages.push(encodeHopCredit(c.stitch, c.consumed));
      r.checked.add(p);
    }
    r.checkToken = this.o.token();
    this.o.probe(r.cid, messages, r.checkToken);
  }

  /** Off NATS for OFFLINE_MS: every stitch across ends, and each far RN is told when heard from again. */
  private offline(now: number): void {
    const rns = this.rns.size;
    const n = this.endAll(now);
    this.o.log.warn({ event: 'fabric_offline_stitches_ended', rns, stitches: n, offline_ms: Math.round(now - this.offSince) }, 'off the NATS cluster for too long: every stitch across the fabric ended here');
  }

  /** Ends every stitch with every far RN (UNSTITCH 4 to its EP), owing each RN its ids if `now` is given; returns how many. */
  private endAll(now: number | undefined): number {
    const all = [...this.rns];
    this.rns.clear();
    this.disarm();
    let n = 0;
    for (const [hex, r] of all) {
      n += r.stitches.size;
      if (now !== undefined) this.owed.owe(hex, [...r.stitches].flatMap((p) => p.farStitch ?? []), now);
    }
    this.o.stats.offStitches += n;
    for (const [, r] of all) for (const p of [...r.stitches]) this.o.end(p, UnstitchCode.FAR_RN_GONE);
    return n;
  }

  private lose(hex: string, r: FarRn, loss: FarRnLoss, now: number): void {
    this.rns.delete(hex);
    const stitches = [...r.stitches];
    this.o.stats.rnsLost++;
    this.o.stats.rnLostStitches += stitches.length;
    this.o.log.warn({ event: 'fabric_rn_lost', rn: hex, reason: loss, stitches: stitches.length, silent_ms: Math.round(now - r.heardAt) }, WHY[loss]);
    // It may come back holding its halves (its NATS node restarted, stopped and continued, eligible
    // again), and nothing sent now surely reaches it (absent: nobody receives its hop subject;
    // silent: NATS may have dropped its connection already): it is told when next heard from.
    this.owed.owe(hex, stitches.flatMap((p) => p.farStitch ?? []), now);
    for (const p of stitches) this.o.end(p, UnstitchCode.FAR_RN_GONE);
  }
}

function restart(r: FarRn, now: number): void {
  r.heardAt = now;
  r.absent = 0;
  r.noSubscriber = false;
  r.heard = false;
}
