// The rendezvous fabric (issue #16; UZPIF multi-hop; docs/SCALE.md, docs/PROFILE.md §Fabric): the
// RNs of one trust domain on a NATS cluster. Three uses of NATS, nothing home-made:
//
// - Presence: an RN subscribes `uzp.<domain>.join.<cid>` (queue group "rn") while it holds an
//   accepting link of that CID — written on attach and detach only. A dead RN's subscriptions die
//   with its NATS connection, so nothing has to expire by hand: at once when its socket closes; for
//   a silent one (stopped, partitioned) only when the server gives up on the connection — its own
//   ping_interval x ping_max (default 2 min x 2; docs/SCALE.md shortens it), and not while it is
//   still delivering to it. Meanwhile JOINs routed there go unanswered, so an unanswered one is
//   asked again, up to JOIN_ATTEMPTS times (join-request.ts), and the queue group picks again.
// - JOIN routing: a JOIN whose target is not attached here is a NATS request to that subject, its
//   answer asked on `uzp.<domain>.reply.<our cid>.<random>`; "no responders" means no RN holds the
//   target (JOIN_REFUSED at once, not after a timeout). The request is signed by this RN
//   (messages.ts); the answering RN checks the signer is eligible under its current RN Set
//   Statement and revocations (peers.ts) and the request is fresh and new. Its reply is signed in
//   turn and names the request: only an eligible RN's reply to this very request is taken, the
//   first such one; anything else on the reply subject is dropped.
// - The hop: stitched RELAY frames go to `uzp.<domain>.hop.<rn cid>` as hop DATA with credit flow
//   control (remote-peer.ts). Ciphertext only, as on an EP link. Batches name their sender and
//   carry a tag under the key the two RNs share (hop-keys.ts); a batch that does not verify is
//   dropped, and the switchboard acts on a hop message only for a stitch made with its sender.
//   An RN that is gone (its hop subject without a subscriber, silent, or no longer eligible) has
//   its stitches here ended at once, probed with hop batches sent with a reply subject; if it comes
//   back holding its halves, it is told they ended (far-rns.ts). An RN probed for a stitch it does
//   not have (restarted, or the UNSTITCH lost) answers so on the reply subject (probe-answers.ts).
//   Off NATS for 20 s, or for good, this RN ends every stitch across.
//
// Whatever NATS does, it can only drop or delay: a lost JOIN is a refusal, lost frames are
// retransmitted end to end, a forged or replayed reply is dropped. The connection retries for ever
// with jittered backoff, and the client's subscriptions come back with it.

import type { NatsConnection, Msg, Subscription } from '@nats-io/transport-node';
import { equal, toHex } from '../../uzp/bytes.js';
import type { CryptoProvider, Signer } from '../../uzp/crypto/provider.js';
import { JoinRefusedCode } from '../../uzp/link/constants.js';
import type { RnLog } from '../log.js';
import type { RnStats } from '../stats.js';
import type { JoinMessage, Peer, Switchboard } from '../switchboard.js';
import type { FabricHooks, RemoteSide } from './hooks.js';
import { HopKeys, HOP_TAG_LENGTH } from './hop-keys.js';
import { HopType, decodeFabricJoin, decodeFabricJoinReply, decodeHops, encodeFabricJoin, encodeFabricJoinReply, hopBatchHeader, splitHopBatch, type FabricJoinReply } from './messages.js';
import { FarRns } from './far-rns.js';
import { connectFabric } from './connect.js';
import { JoinRegister } from './join-register.js';
import { sendJoinRequest } from './join-request.js';
import { HopOutbox } from './outbox.js';
import { answerProbe, readProbeAnswer } from './probe-answers.js';
import { RemotePeer } from './remote-peer.js';

/** A JOIN request older or newer than this (clock skew between RNs included) is refused as stale. */
export const JOIN_FRESH_MS = 30_000;
/** JOIN requests remembered for replay detection and retries (bounded; beyond it the oldest go, still fenced by JOIN_FRESH_MS). */
const SEEN_MAX = 100_000;
/** How long one attempt of a fabric JOIN waits for an answer, and how many attempts: 7.5 s in all, inside an EP's 10 s JOIN timeout. */
const JOIN_TIMEOUT_MS = 2_500;
const JOIN_ATTEMPTS = 3;
/** How long leaving the fabric may wait for NATS to take what is queued. */
const CLOSE_MS = 1_000;

export interface FabricOptions {
  /** nats://host:port of one or more cluster nodes. */
  readonly servers: readonly string[];
  readonly rnCid: Uint8Array;
  readonly signer: Signer;
  /** This RN's X25519 private key: the first 32 bytes of SHA-512 of its Ed25519 seed (hop-keys.ts). */
  readonly x25519Private: Uint8Array;
  readonly provider: CryptoProvider;
  /** Subject token of the trust domain (its root CID, hex): domains sharing a cluster never meet. */
  readonly domain: string;
  /** The public key of an RN eligible now as a fabric peer (peers.ts), or undefined. */
  readonly rnKey: (cid: Uint8Array) => Uint8Array | undefined;
  readonly log: RnLog;
  readonly stats: RnStats;
  /** How long one attempt of a JOIN routed to another RN waits for its answer (default 2.5 s; three attempts). */
  readonly joinTimeoutMs?: number;
  /** This RN's name on the cluster (NATS connection name); default the start of its CID. */
  readonly name?: string;
  /** NATS user and password of this RN (docs/SCALE.md "NATS credentials"). */
  readonly user?: string;
  readonly pass?: string;
  readonly now?: () => number;
  /**
   * The connection closed for good, not by close(): the switchboard no longer has this fabric, and
   * the caller may start another (RnServer does).
   */
  readonly onLost?: () => void;
}

export class Fabric implements FabricHooks {
  private readonly presence = new Map<string, Subscription>();
  private readonly register = new JoinRegister(SEEN_MAX);
  /** The at_ms of our last JOIN request: each attempt's is new, so none is refused as a replay. */
  private lastAtMs = 0;
  private withdrawn = false;
  private closing = false;
  private readonly prefix: string;
  /** Where answers to our JOIN requests come: `<prefix>.reply.<our cid>.` and a random token per request. */
  private readonly replyPrefix: string;
  private readonly now: () => number;
  private readonly keys: HopKeys;
  private readonly out: HopOutbox;
  private readonly far: FarRns;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: FabricOptions,
    private readonly switchboard: Switchboard,
  ) {
    this.prefix = `uzp.${o.domain}`;
    this.replyPrefix = `${this.prefix}.reply.${toHex(o.rnCid)}.`;
    this.now = o.now ?? Date.now;
    this.keys = new HopKeys(o.provider, o.rnCid, o.x25519Private, o.rnKey);
    this.out = new HopOutbox((rn, bytes, reply) => this.publishHop(rn, bytes, reply), {
      header: hopBatchHeader(o.rnCid),
      tagLength: HOP_TAG_LENGTH,
      tag: (rn, batch) => this.keys.tag(rn, batch),
      dropped: () => void this.o.stats.fabric.hopDropped++,
    });
    // A probe's reply subject hears NATS's "no responders" (start()).
    const probe = (rn: Uint8Array, messages: readonly Uint8Array[], token: string): void => this.out.probe(rn, messages, `${this.replyPrefix}probe.${token}`);
    this.far = new FarRns({ token: () => toHex(o.provider.randomBytes(12)), eligible: (rn) => o.rnKey(rn) !== undefined, probe, end: (p, code) => switchboard.unstitch(p, p.stitchId, code), tell: (rn, stitch, code) => this.out.unstitch(rn, stitch, code), log: o.log, stats: o.stats.fabric });
  }

  /**
   * Connects, retrying for ever with jittered backoff until `signal` aborts (the RN serves its own
   * EPs meanwhile), and joins `switchboard` to the fabric. Resolves undefined when aborted first.
   */
  static async start(o: FabricOptions, switchboard: Switchboard, signal: AbortSignal): Promise<Fabric | undefined> {
    const nc = await connectFabric({ servers: o.servers, name: `uzp-rn-${o.name ?? toHex(o.rnCid).slice(0, 16)}`, user: o.user, pass: o.pass, log: o.log }, signal);
    if (nc === undefined) return undefined;
    const f = new Fabric(nc, o, switchboard);
    nc.subscribe(`${f.prefix}.hop.${toHex(o.rnCid)}`, { callback: (err, m) => (err === null ? f.guard('hop', () => f.onHop(m)) : undefined) });
    // NATS's "no responders" to a probe: nobody receives that RN's hop subject (far-rns.ts); or the
    // RN's answer: it has no stitch the probe named (probe-answers.ts).
    const probes = `${f.replyPrefix}probe.`;
    nc.subscribe(`${probes}*`, {
      callback: (err, m) => {
        if (err !== null) return;
        const token = m.subject.slice(probes.length);
        if (m.data.length > 0) f.guard('probe answer', () => f.onAnswer(token, m.data));
        else if (m.headers?.code === 503) f.far.noResponders(token);
      },
    });
    switchboard.setFabric(f);
    void f.watch();
    o.log.info({ event: 'fabric_connected', server: nc.getServer(), ...(o.name !== undefined ? { rn_id: o.name } : {}) }, 'joined the rendezvous fabric');
    return f;
  }

  /** A message from another RN must never take this one down: a failure is logged and dropped. */
  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.o.stats.fabric.malformed++;
      this.o.log.error({ event: 'fabric_message_failed', what, reason: (e as Error)?.message ?? String(e) }, 'a fabric message could not be handled; dropped');
    }
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      // Nothing can be heard from the far RNs while this RN is off NATS (far-rns.ts).
      if (s.type === 'disconnect' || s.type === 'reconnect') this.far.online(s.type === 'reconnect');
      if (s.type === 'disconnect') this.o.log.warn({ event: 'fabric_disconnected', server: s.server }, 'lost the NATS server; reconnecting');
      else if (s.type === 'reconnect') this.o.log.info({ event: 'fabric_reconnected', server: s.server }, 'back on the NATS cluster');
    }
    const err = await this.nc.closed();
    if (this.closing) return this.far.stop();
    // Closed for good by the client itself: nothing more goes through this connection, so the
    // switchboard stops asking it (JOINs for other RNs' targets are refused, not thrown), and no
    // stitch across crosses it any more: each ends (its EP hears UNSTITCH 4 and re-stitches).
    const stitches = this.far.leave();
    this.o.log.error({ event: 'fabric_lost', reason: err instanceof Error ? err.message : 'closed', stitches }, 'the NATS connection closed for good; every stitch across the fabric ended; joining the fabric again');
    this.switchboard.setFabric(undefined);
    this.presence.clear();
    this.o.onLost?.();
  }

  /**
   * Leaves the fabric: presence first (drain: subscriptions end, what is queued goes out), bounded
   * by CLOSE_MS, then the connection — also when NATS is unreachable, where a drain would wait for
   * a reconnect that may never come and keep the process alive.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.far.stop();
    this.switchboard.setFabric(undefined);
    this.out.flush();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.nc.drain().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, CLOSE_MS)))]);
    clearTimeout(timer);
    await this.nc.close().catch(() => undefined);
  }

  /**
   * The RN is draining (draft §11.2): its presence goes, so no new JOIN is routed here, and one that
   * is already on its way is refused as overloaded; stitches already across the hop keep relaying.
   */
  withdraw(): void {
    this.withdrawn = true;
    for (const sub of this.presence.values()) sub.unsubscribe();
    this.presence.clear();
  }

  present(cid: Uint8Array): void {
    const hex = toHex(cid);
    if (this.withdrawn || this.presence.has(hex)) return;
    let sub: Subscription;
    try {
      sub = this.nc.subscribe(`${this.prefix}.join.${hex}`, { queue: 'rn', callback: (err, m) => (err === null ? this.guard('join', () => this.onJoin(cid, m)) : undefined) });
    } catch (e) {
      // A closed connection (watch() is replacing it): the endpoint's link is not the fabric's to
      // fail; the new fabric presents every accepting CID again when it joins.
      this.o.log.warn({ event: 'fabric_present_failed', cid: hex, reason: (e as Error).message }, 'cannot announce an endpoint on the fabric now');
      return;
    }
    this.presence.set(hex, sub);
  }

  absent(cid: Uint8Array): void {
    const hex = toHex(cid);
    this.presence.get(hex)?.unsubscribe();
    this.presence.delete(hex);
  }

  remote(cid: Uint8Array, stitchId: number): RemoteSide {
    return new RemotePeer(cid, stitchId, this.out, this.o.stats.fabric, this.far);
  }

  async route(initiator: Peer, m: JoinMessage, stitchId: number): Promise<{ rn: Uint8Array; stitch: number } | { code: number }> {
    this.o.stats.fabric.joinsRouted++;
    // Every attempt's at_ms, so a late answer to an earlier one still counts.
    const sent = new Set<number>();
    const r = await sendJoinRequest({
      nc: this.nc,
      subject: `${this.prefix}.join.${toHex(m.target)}`,
      reply: this.replyPrefix + toHex(this.o.provider.randomBytes(12)),
      next: () => {
        const atMs = Math.max(this.now(), this.lastAtMs + 1);
        this.lastAtMs = atMs;
        sent.add(atMs);
        return encodeFabricJoin({ ingress: this.o.rnCid, ingressStitch: stitchId, atMs, initiator: initiator.cid, target: m.target, grant: m.grant, ch1: m.ch1 }, this.o.signer);
      },
      accept: (data) => {
        let v: FabricJoinReply | undefined;
        this.guard('reply', () => (v = this.replyFor(data, stitchId, sent)));
        return v;
      },
      timeoutMs: this.o.joinTimeoutMs ?? JOIN_TIMEOUT_MS,
      attempts: JOIN_ATTEMPTS,
      onRetry: (attempt) => {
        this.o.stats.fabric.joinRetries++;
        this.o.log.info({ event: 'fabric_join_retry', target: toHex(m.target), attempt }, 'no answer to a fabric JOIN in time (an RN holding the target may be silent); asking again');
      },
    });
    // No responders (no RN holds the target), no valid reply in time, or no NATS: not reachable now.
    if (typeof r === 'string') return { code: JoinRefusedCode.PEER_NOT_ATTACHED };
    return r.ok ? { rn: r.egress, stitch: r.egressStitch } : { code: r.code };
  }

  /** `data` if it is an eligible RN's signed reply to one of our attempts (`stitchId`, `sent`), else undefined (counted, dropped). */
  private replyFor(data: Uint8Array, stitchId: number, sent: ReadonlySet<number>): FabricJoinReply | undefined {
    let d: ReturnType<typeof decodeFabricJoinReply>;
    try {
      d = decodeFabricJoinReply(this.o.provider, data, this.o.rnKey);
    } catch {
      this.o.stats.fabric.malformed++;
      return undefined;
    }
    const r = d.reply;
    if (d.signer === 'valid' && equal(r.ingress, this.o.rnCid) && r.ingressStitch === stitchId && sent.has(r.atMs)) return r;
    // Counted, logged only at debug: whoever sees our requests can send these as often as it likes.
    this.o.stats.fabric.repliesDropped++;
    this.o.log.debug({ event: 'fabric_reply_dropped', egress: toHex(r.egress), why: d.signer !== 'valid' ? `signer ${d.signer}` : 'for another request' }, 'a JOIN reply that is not an eligible RN\'s answer to this request was dropped');
    return undefined;
  }

  private onJoin(subjectCid: Uint8Array, m: Msg): void {
    let d: ReturnType<typeof decodeFabricJoin>;
    try {
      d = decodeFabricJoin(this.o.provider, m.data, this.o.rnKey);
    } catch {
      this.o.stats.fabric.malformed++;
      return; // junk: a silent drop (the requester times out)
    }
    const j = d.join;
    // Every answer is signed and names the request it answers (messages.ts).
    const answer = (a: { ok: true; egressStitch: number } | { ok: false; code: number }): void => {
      m.respond(encodeFabricJoinReply({ ingress: j.ingress, ingressStitch: j.ingressStitch, atMs: j.atMs, egress: this.o.rnCid, ...a }, this.o.signer));
    };
    const refuse = (code: number, why: string): void => {
      this.o.stats.fabric.joinsRefused++;
      this.o.log.info({ event: 'fabric_join_refused', code, why }, 'fabric JOIN refused');
      answer({ ok: false, code });
    };
    if (this.withdrawn) return refuse(JoinRefusedCode.OVERLOADED, 'this RN is draining');
    if (d.signer !== 'valid') return refuse(JoinRefusedCode.REFUSED, d.signer === 'unknown' ? 'the ingress RN is not eligible under the current RN Set Statement (not listed with role relay, revoked, or the statement is outside its window)' : 'bad signature');
    if (!equal(j.target, subjectCid)) return refuse(JoinRefusedCode.REFUSED, 'target differs from the subject');
    const now = this.now();
    if (Math.abs(now - j.atMs) > JOIN_FRESH_MS) return refuse(JoinRefusedCode.REFUSED, 'stale request');
    if (this.register.replayed(j)) return refuse(JoinRefusedCode.REFUSED, 'replayed request');
    // Remembered while the request could pass the freshness check above: an ingress clock ahead of
    // ours keeps it fresh until its own atMs + JOIN_FRESH_MS, later than our now + JOIN_FRESH_MS.
    const until = Math.max(now, j.atMs) + JOIN_FRESH_MS;
    // The ingress asked again (no answer in time) and the queue group chose us again: the same stitch.
    const made = this.register.madeFor(j);
    if (made !== undefined && this.switchboard.remoteOf(made.id) === made.remote) {
      this.register.answered(j, until, now);
      return answer({ ok: true, egressStitch: made.id });
    }
    let remote: RemoteSide | undefined;
    const r = this.switchboard.acceptRemote({
      ingress: j.ingress,
      initiator: j.initiator,
      target: j.target,
      grant: j.grant,
      ch1: j.ch1,
      remote: (stitchId) => {
        remote = this.remote(j.initiator, stitchId);
        remote.connect(j.ingress, j.ingressStitch);
        return remote;
      },
    });
    this.register.answered(j, until, now, 'code' in r || remote === undefined ? undefined : { id: r.stitchId, remote });
    this.o.stats.fabric.joinsAnswered++;
    answer('code' in r ? { ok: false, code: r.code } : { ok: true, egressStitch: r.stitchId });
  }

  private onHop(m: Msg): void {
    let batch: ReturnType<typeof splitHopBatch>;
    let hops: ReturnType<typeof decodeHops>;
    try {
      batch = splitHopBatch(m.data, HOP_TAG_LENGTH);
      hops = decodeHops(batch.messages);
    } catch {
      this.o.stats.fabric.malformed++;
      return;
    }
    // Not from an eligible RN, or not made with the key it shares with us: nothing in it counts
    // (counted, not logged: anybody on the cluster can send these, as often as it likes).
    if (!this.keys.verify(batch.sender, batch.authenticated, batch.tag)) {
      this.o.stats.fabric.hopRefused++;
      return;
    }
    const from = batch.sender;
    this.far.heard(from, Boolean(m.reply));
    for (const h of hops) {
      if (h.type === HopType.DATA) this.switchboard.remoteData(from, h.stitch, h.offset, h.frame);
      else if (h.type === HopType.CREDIT) this.switchboard.remoteCredit(from, h.stitch, h.consumed);
      else if (h.type === HopType.UNSTITCH) this.switchboard.remoteUnstitch(from, h.stitch, h.code);
      else this.o.stats.fabric.malformed++; // UNKNOWN belongs on a probe's reply subject only
    }
    // A probe: the stitches it names that we do not have with its sender, said (probe-answers.ts).
    if (!m.reply) return;
    const unknown = answerProbe(hops, from, (id) => this.switchboard.remoteOf(id));
    const answer = unknown.length > 0 ? this.out.sealed(from, unknown) : undefined;
    if (answer !== undefined) this.publish(m.reply, answer);
  }

  /** An answer to our probe of reply token `token` (probe-answers.ts). */
  private onAnswer(token: string, data: Uint8Array): void {
    // Counted, not logged, as on the hop subject: anybody on the cluster may publish here, as often
    // as it likes. Only an answer to a probe in flight is read (and its tag computed).
    if (!this.far.expects(token)) return void this.o.stats.fabric.hopRefused++;
    let a: ReturnType<typeof readProbeAnswer>;
    try {
      a = readProbeAnswer(data, HOP_TAG_LENGTH, (rn, authenticated, tag) => this.keys.verify(rn, authenticated, tag));
    } catch {
      this.o.stats.fabric.malformed++;
      return;
    }
    if (a === undefined) this.o.stats.fabric.hopRefused++;
    else this.far.unknown(a.sender, token, a.stitches);
  }

  private publishHop(rn: Uint8Array, bytes: Uint8Array, reply?: string): void {
    this.publish(`${this.prefix}.hop.${toHex(rn)}`, bytes, reply);
  }

  private publish(subject: string, bytes: Uint8Array, reply?: string): void {
    try {
      this.nc.publish(subject, bytes, reply === undefined ? undefined : { reply });
    } catch (e) {
      // Closed connection or a frame over the cluster's max_payload: dropped, repaired end to end.
      this.o.stats.fabric.hopDropped++;
      this.o.log.debug({ event: 'hop_publish_failed', reason: (e as Error).message }, 'hop frame dropped');
    }
  }
}
