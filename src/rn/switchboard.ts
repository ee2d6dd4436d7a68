// The RN's matching and stitching logic (draft §4 steps 3-5, §11), free of sockets: attached EPs
// indexed by CID, JOIN evaluation, stitch table, teardown, and RELAY routing by stitch id. The RN
// is a relay and policy point, never a truth source (§11): it checks the Grant it is shown (§9:
// freshness, scope, nonce state) and forwards opaque E2E bytes it never parses or decrypts.

import { equal, fromHex, toHex } from '../uzp/bytes.js';
import { ControlKind, FRAME_HEADER_LENGTH, FrameType, JoinRefusedCode, RN_MAX_STITCHES_PER_INITIATOR, RN_MAX_STITCHES_PER_LINK, UnstitchCode } from '../uzp/link/constants.js';
import { frameBytes, frameU32, type Frame } from '../uzp/link/frame.js';
import type { ControlMessage } from '../uzp/link/control.js';
import type { FabricHooks, RemoteJoin, RemoteSide } from './fabric/hooks.js';
import type { RnLog } from './log.js';
import type { RnStats } from './stats.js';
import { checkJoinGrant, type GrantTrust } from './join-grant.js';

/** Frames held for a cross-RN stitch until its JOINED is out (a handshake flight or two). */
const EARLY_MAX = 64;

/** RELAY payload = stitch_id u32 || E2E bytes, right behind the 5-byte frame header. */
const RELAY_STITCH_OFFSET = FRAME_HEADER_LENGTH;

/** One attached link as the switchboard sees it. */
export interface Peer {
  readonly cid: Uint8Array;
  /** Unique per link, increasing: "most recent" means largest. */
  readonly linkId: number;
  sendControl(m: ControlMessage): void;
  /** One RELAY frame as received: one buffer, or the pieces of a frame that spanned reads. */
  sendData(frame: Uint8Array | readonly Uint8Array[]): void;
  /** This link's outbound data queue is over its high-water mark. */
  readonly congested: boolean;
  /** Stop reading from this link until `other` is relieved (bounded in time; see RnConnection). */
  holdFor(other: Peer): void;
  /** Registers a callback for when this link's data queue is relieved. */
  onRelieved(cb: () => void): void;
  /** A sender gave up waiting for this link: stop pausing senders for it until it drains. */
  markStuck(): void;
}

interface StitchRecord {
  readonly id: number;
  readonly initiator: Peer;
  readonly target: Peer;
}

export type JoinMessage = Extract<ControlMessage, { kind: typeof ControlKind.JOIN }>;

/** A hop message held for a stitch whose far RN is not known yet: DATA, or UNSTITCH (`code`). */
type Early = { readonly from: Uint8Array; readonly offset: number; readonly frame: Uint8Array } | { readonly from: Uint8Array; readonly code: number };


interface SwitchboardOptions {
  readonly trust: GrantTrust;
  readonly stats: RnStats;
  readonly log: RnLog;
  /** Stitches one link may take part in before JOINs are refused as overloaded. */
  readonly maxStitchesPerLink?: number;
  /** Stitches one initiator may hold to one target link (default RN_MAX_STITCHES_PER_INITIATOR). */
  readonly maxStitchesPerInitiator?: number;
  /** Offers the RN's artefacts to links that ask (ARTEFACT, empty) and forgets them on detach (src/rn/artefacts.ts). */
  readonly artefacts?: { attached(peer: Peer): void; detached(peer: Peer): void };
}

export class Switchboard {
  private readonly byCid = new Map<string, Set<Peer>>();
  private readonly accepting = new Set<Peer>();
  /** Links that sent ACCEPT but may not be offered stitches until they attest (--require-attestation). */
  private readonly awaitingAttestation = new Set<Peer>();
  private readonly stitches = new Map<number, StitchRecord>();
  private readonly byPeer = new Map<Peer, Set<number>>();
  private readonly idDraw = new Uint32Array(1);
  private fabric: FabricHooks | undefined;
  /** Cross-RN stitches: the far side of each, by local stitch id. */
  private readonly remotes = new Map<number, RemoteSide>();
  /**
   * Hop messages for a cross-RN stitch whose JOIN reply has not come yet (the target's first flight
   * can overtake it), with the RN that sent them: held, at most EARLY_MAX, and once the reply named
   * the egress RN, those it sent are acted on right after JOINED (the joiner drops RELAY for a
   * stitch it does not know yet), the others dropped.
   */
  private readonly early = new Map<number, Early[]>();

  constructor(private readonly opts: SwitchboardOptions) {}

  /** Joins this RN to a fabric: presence of accepting links, and JOINs for CIDs held elsewhere. */
  setFabric(f: FabricHooks | undefined): void {
    this.fabric = f;
    if (f === undefined) return;
    for (const cid of new Set([...this.accepting].map((p) => toHex(p.cid)))) f.present(fromHex(cid));
  }

  get stitchCount(): number {
    return this.stitches.size;
  }

  attach(peer: Peer): void {
    const k = toHex(peer.cid);
    let set = this.byCid.get(k);
    if (set === undefined) this.byCid.set(k, (set = new Set()));
    set.add(peer);
    this.byPeer.set(peer, new Set());
  }

  /** Stitches of `target`'s link whose initiator is `cid` (any of its links). */
  private stitchesFrom(cid: Uint8Array, target: Peer): number {
    let n = 0;
    for (const id of this.byPeer.get(target) ?? []) {
      const rec = this.stitches.get(id);
      if (rec !== undefined && rec.initiator !== target && equal(rec.initiator.cid, cid)) n++;
    }
    return n;
  }

  /** How many links `cid` holds attached here. */
  linksOf(cid: Uint8Array): number {
    return this.byCid.get(toHex(cid))?.size ?? 0;
  }

  /** Link gone: every stitch it was part of ends, and the other side hears UNSTITCH(peer gone). */
  detach(peer: Peer): void {
    const k = toHex(peer.cid);
    const set = this.byCid.get(k);
    set?.delete(peer);
    if (set?.size === 0) this.byCid.delete(k);
    const wasAccepting = this.accepting.delete(peer);
    if (wasAccepting && this.responderFor(peer.cid, peer) === undefined) this.fabric?.absent(peer.cid);
    this.awaitingAttestation.delete(peer);
    for (const id of [...(this.byPeer.get(peer) ?? [])]) this.teardown(id, peer, UnstitchCode.PEER_GONE);
    this.byPeer.delete(peer);
    this.opts.artefacts?.detached(peer);
  }

  /** ARTEFACT (empty) from an EP: it wants the RN's artefacts now and whenever newer ones come. */
  subscribeArtefacts(peer: Peer): void {
    if (this.byPeer.has(peer)) this.opts.artefacts?.attached(peer);
  }

  /** ACCEPT: the link takes the responder role (draft §4 step 4). */
  setAccepting(peer: Peer): void {
    if (!this.byPeer.has(peer)) return;
    this.awaitingAttestation.delete(peer);
    const first = this.responderFor(peer.cid, peer) === undefined;
    this.accepting.add(peer);
    // Presence is written on attach and detach only (not per JOIN): the first accepting link of a CID.
    if (first) this.fabric?.present(peer.cid);
  }

  /**
   * ACCEPT from a link that must attest first (the RN requires attestation and this gateway link has
   * not presented valid evidence yet): it is not offered stitches, and JOINs to it are refused with
   * NOT_ATTESTED rather than PEER_NOT_ATTACHED. setAccepting() activates it once it has attested.
   */
  setAwaitingAttestation(peer: Peer): void {
    if (this.byPeer.has(peer) && !this.accepting.has(peer)) this.awaitingAttestation.add(peer);
  }

  /** The most recent accepting link of `cid`, other than `except`. */
  private responderFor(cid: Uint8Array, except: Peer | undefined): Peer | undefined {
    let best: Peer | undefined;
    for (const p of this.byCid.get(toHex(cid)) ?? []) {
      if (p !== except && this.accepting.has(p) && (best === undefined || p.linkId > best.linkId)) best = p;
    }
    return best;
  }

  /** Some link of `cid` (other than `except`) sent ACCEPT but has not attested. */
  private awaitsAttestation(cid: Uint8Array, except: Peer | undefined): boolean {
    for (const p of this.byCid.get(toHex(cid)) ?? []) if (p !== except && this.awaitingAttestation.has(p)) return true;
    return false;
  }

  join(peer: Peer, m: JoinMessage): void {
    this.opts.stats.joins++;
    const refuse = (code: number, why: object): void => {
      this.opts.stats.joinsRefused++;
      // The precise reason stays here; the EP learns the code (STYLE §3), which for its own Grant
      // says what is wrong with it, and never anything about another party beyond "not attached".
      this.opts.log.info({ event: 'join_refused', link: peer.linkId, joinId: m.joinId, code, ...why }, 'JOIN refused');
      peer.sendControl({ kind: ControlKind.JOIN_REFUSED, joinId: m.joinId, code });
    };
    const target = this.responderFor(m.target, peer);
    if (target === undefined && this.awaitsAttestation(m.target, peer)) return refuse(JoinRefusedCode.NOT_ATTESTED, { target: toHex(m.target), reason: 'not attested' });
    if (target === undefined && this.fabric === undefined) return refuse(JoinRefusedCode.PEER_NOT_ATTACHED, { target: toHex(m.target) });
    const max = this.opts.maxStitchesPerLink ?? RN_MAX_STITCHES_PER_LINK;
    if ((this.byPeer.get(peer)?.size ?? 0) >= max || (target !== undefined && (this.byPeer.get(target)?.size ?? 0) >= max)) {
      return refuse(JoinRefusedCode.OVERLOADED, { reason: 'stitch cap' });
    }
    // One initiator takes at most an eighth of a target link's stitches: the cap above is shared by
    // everyone reaching that target, and one operator holding a valid Grant could otherwise fill it
    // with real sessions and lock every other operator out of that gateway at this RN.
    if (target !== undefined && this.stitchesFrom(peer.cid, target) >= (this.opts.maxStitchesPerInitiator ?? RN_MAX_STITCHES_PER_INITIATOR)) {
      return refuse(JoinRefusedCode.OVERLOADED, { reason: 'stitch cap for this initiator', target: toHex(m.target) });
    }
    const verdict = checkJoinGrant(this.opts.trust, m, peer.cid);
    if ('refuse' in verdict) return refuse(verdict.refuse, verdict.why);
    if (verdict.earlyDropped) {
      this.opts.stats.earlyDropped++;
      this.opts.log.info({ event: 'early_dropped', link: peer.linkId, joinId: m.joinId }, 'early data dropped: the Grant is no-replay');
      m = { ...m, ch1: verdict.ch1 };
    }
    if (target === undefined) return this.joinAcross(peer, m, refuse);
    const id = this.allocateId();
    const rec: StitchRecord = { id, initiator: peer, target };
    this.stitches.set(id, rec);
    this.byPeer.get(peer)!.add(id);
    this.byPeer.get(target)!.add(id);
    this.opts.stats.stitches = this.stitches.size;
    this.opts.log.info({ event: 'stitch', stitch: id, initiator: peer.linkId, target: target.linkId }, 'stitched');
    // draft §5.2 flight [2]: CH1 forwarded to the responder inside OFFER.
    target.sendControl({ kind: ControlKind.OFFER, stitchId: id, initiator: peer.cid, grant: m.grant, ch1: m.ch1 });
    peer.sendControl({ kind: ControlKind.JOINED, joinId: m.joinId, stitchId: id });
  }

  /**
   * The target is not here: the fabric asks the RN that holds it (UZPIF multi-hop: EP A -> RN1 ->
   * NATS -> RN2 -> EP B). The stitch is recorded first, its far side pending, so the target's first
   * flight (which may come back before the JOIN reply) already has somewhere to go.
   */
  private joinAcross(peer: Peer, m: JoinMessage, refuse: (code: number, why: object) => void): void {
    const fabric = this.fabric!;
    const id = this.allocateId();
    const remote = fabric.remote(m.target, id);
    this.stitches.set(id, { id, initiator: peer, target: remote });
    this.byPeer.get(peer)!.add(id);
    this.byPeer.set(remote, new Set([id]));
    this.remotes.set(id, remote);
    this.early.set(id, []);
    this.opts.stats.stitches = this.stitches.size;
    const failed = (code: number, why: object): void => {
      this.early.delete(id);
      // Nobody else heard of this stitch: it goes without an UNSTITCH.
      if (this.stitches.get(id)?.target === remote) this.forget(id);
      refuse(code, { target: toHex(m.target), via: 'fabric', ...why });
    };
    void fabric.route(peer, m, id).then(
      (r) => {
        if ('code' in r) return failed(r.code, {});
        // If the initiator left while the JOIN was on its way, the closed far side tells the egress now.
        remote.connect(r.rn, r.stitch);
        const held = this.early.get(id) ?? [];
        this.early.delete(id);
        if (this.stitches.get(id)?.target !== remote) return;
        this.opts.log.info({ event: 'stitch', stitch: id, initiator: peer.linkId, via: 'fabric' }, 'stitched across the fabric');
        peer.sendControl({ kind: ControlKind.JOINED, joinId: m.joinId, stitchId: id });
        // Only what the egress RN sent: another RN's messages for this id (one that took a replayed
        // JOIN request) are not this stitch's.
        for (const h of held) {
          if (!equal(h.from, r.rn)) this.opts.stats.dropped.foreign_stitch++;
          else if ('code' in h) this.unstitch(remote, id, h.code);
          else if (this.remotes.get(id) === remote) this.deliverRemote(remote, h.offset, h.frame);
        }
      },
      (e: unknown) => failed(JoinRefusedCode.PEER_NOT_ATTACHED, { error: (e as Error)?.message }),
    );
  }

  /**
   * Egress half of a cross-RN JOIN (the fabric checked the ingress RN): stitch the local target to
   * the remote initiator and OFFER it. Returns the local stitch id, or a JOIN_REFUSED code.
   */
  acceptRemote(j: RemoteJoin): { stitchId: number } | { code: number } {
    this.opts.stats.joins++;
    const target = this.responderFor(j.target, undefined);
    if (target === undefined) {
      this.opts.stats.joinsRefused++;
      return { code: this.awaitsAttestation(j.target, undefined) ? JoinRefusedCode.NOT_ATTESTED : JoinRefusedCode.PEER_NOT_ATTACHED };
    }
    if ((this.byPeer.get(target)?.size ?? 0) >= (this.opts.maxStitchesPerLink ?? RN_MAX_STITCHES_PER_LINK) || this.stitchesFrom(j.initiator, target) >= (this.opts.maxStitchesPerInitiator ?? RN_MAX_STITCHES_PER_INITIATOR)) {
      this.opts.stats.joinsRefused++;
      return { code: JoinRefusedCode.OVERLOADED };
    }
    const id = this.allocateId();
    const remote = j.remote(id);
    this.stitches.set(id, { id, initiator: remote, target });
    this.byPeer.set(remote, new Set([id]));
    this.byPeer.get(target)!.add(id);
    this.remotes.set(id, remote);
    this.opts.stats.stitches = this.stitches.size;
    this.opts.log.info({ event: 'stitch', stitch: id, target: target.linkId, via: 'fabric' }, 'stitched across the fabric');
    target.sendControl({ kind: ControlKind.OFFER_VIA, stitchId: id, initiator: j.initiator, via: j.ingress, grant: j.grant, ch1: j.ch1 });
    return { stitchId: id };
  }

  /**
   * The far side of local stitch `stitchId` if RN `from` is the one it was made with; undefined
   * (counted) when it is not, or when the stitch is still waiting for its JOIN reply and the
   * message was held for it (`hold`).
   */
  private remoteFrom(from: Uint8Array, stitchId: number, hold?: Early): RemoteSide | undefined {
    const remote = this.remotes.get(stitchId);
    const held = this.early.get(stitchId);
    if (remote !== undefined && held !== undefined && remote.rn === undefined) {
      if (hold === undefined) return undefined; // CREDIT before anything was sent: nothing to credit
      if (held.length < EARLY_MAX) held.push(hold);
      else this.opts.stats.dropped.queue_overflow++;
      return undefined;
    }
    if (remote === undefined || remote.rn === undefined || !equal(remote.rn, from)) {
      this.opts.stats.dropped.foreign_stitch++;
      return undefined;
    }
    return remote;
  }

  /** Hop DATA from RN `from` for local stitch `stitchId` (the frame's own stitch id, already ours). */
  remoteData(from: Uint8Array, stitchId: number, offset: number, frame: Uint8Array): void {
    const remote = this.remoteFrom(from, stitchId, { from, offset, frame });
    if (remote !== undefined) this.deliverRemote(remote, offset, frame);
  }

  private deliverRemote(remote: RemoteSide, offset: number, frame: Uint8Array): void {
    this.relay(remote, { type: FrameType.RELAY, payload: frame.subarray(FRAME_HEADER_LENGTH), raw: frame });
    remote.delivered(offset, frame.length);
  }

  /** The far side of cross-RN stitch `stitchId`, while it is up. */
  remoteOf(stitchId: number): RemoteSide | undefined {
    return this.remotes.get(stitchId);
  }

  remoteCredit(from: Uint8Array, stitchId: number, consumed: number): void {
    this.remoteFrom(from, stitchId)?.credit(consumed);
  }

  remoteUnstitch(from: Uint8Array, stitchId: number, code: number): void {
    const remote = this.remoteFrom(from, stitchId, { from, code });
    if (remote !== undefined) this.unstitch(remote, stitchId, code);
  }

  /** Removes a stitch nobody needs to hear about (a cross-RN JOIN that failed). */
  private forget(id: number): void {
    const rec = this.stitches.get(id);
    if (rec === undefined) return;
    this.stitches.delete(id);
    this.byPeer.get(rec.initiator)?.delete(id);
    this.byPeer.delete(rec.target);
    this.remotes.get(id)?.close();
    this.remotes.delete(id);
    this.opts.stats.stitches = this.stitches.size;
  }

  /** UNSTITCH from one side: tell the other side. Ignored for stitches the link is not part of. */
  unstitch(peer: Peer, stitchId: number, code: number): void {
    if (this.partOf(peer, stitchId)) this.teardown(stitchId, peer, code);
  }

  /** REJECT_OFFER: only the target of a stitch may reject it. */
  rejectOffer(peer: Peer, stitchId: number): void {
    if (this.stitches.get(stitchId)?.target === peer) this.teardown(stitchId, peer, UnstitchCode.REJECTED);
  }

  /**
   * RELAY payload (stitch_id || opaque bytes) from `peer`: forward to the other side or drop.
   * Stitch ids are RN-wide, so both sides know a stitch by the same id and the received frame
   * (`raw`) is forwarded byte for byte — no re-encoding, no copy on the hot path.
   */
  relay(peer: Peer, frame: Frame): void {
    const stitchId = frameU32(frame, RELAY_STITCH_OFFSET); // the only field the RN ever reads
    if (stitchId === undefined) {
      this.opts.stats.dropped.malformed_relay++;
      return;
    }
    const rec = this.stitches.get(stitchId);
    const other = rec === undefined ? undefined : rec.initiator === peer ? rec.target : rec.target === peer ? rec.initiator : undefined;
    if (other === undefined) {
      this.opts.stats.dropped.foreign_stitch++;
      this.opts.log.debug({ event: 'relay_dropped', link: peer.linkId, stitch: stitchId }, 'RELAY for a stitch this link is not part of');
      return;
    }
    this.opts.stats.framesRelayed++;
    this.opts.stats.bytesRelayed += frameBytes(frame) - RELAY_STITCH_OFFSET - 4;
    // A frame that spanned reads goes out as the views of those reads: no copy of it either.
    other.sendData(frame.pieces ?? frame.raw);
    // Backpressure instead of drop-oldest under ordinary load: the sender's link waits while the
    // receiver's queue is over high water. Drop-oldest stays the hard bound (draft §11: the RN may
    // shape traffic; it can only ever drop or delay, never read).
    if (other.congested) peer.holdFor(other);
  }

  /** Ends every stitch (RN shutdown). */
  clear(): void {
    for (const id of [...this.stitches.keys()]) this.teardown(id, undefined, UnstitchCode.RN);
  }

  private partOf(peer: Peer, stitchId: number): boolean {
    const rec = this.stitches.get(stitchId);
    return rec !== undefined && (rec.initiator === peer || rec.target === peer);
  }

  /** Removes a stitch and sends UNSTITCH to every side other than `by`. */
  private teardown(id: number, by: Peer | undefined, code: number): void {
    const rec = this.stitches.get(id);
    if (rec === undefined) return;
    this.stitches.delete(id);
    this.byPeer.get(rec.initiator)?.delete(id);
    this.byPeer.get(rec.target)?.delete(id);
    this.opts.stats.stitches = this.stitches.size;
    for (const p of [rec.initiator, rec.target]) {
      if (p !== by && this.byPeer.has(p)) p.sendControl({ kind: ControlKind.UNSTITCH, stitchId: id, code });
    }
    const remote = this.remotes.get(id);
    this.early.delete(id);
    if (remote !== undefined) {
      this.remotes.delete(id);
      this.byPeer.delete(remote);
      remote.close();
    }
  }

  private allocateId(): number {
    // Random u32 ids, never 0, never one in use: an id someone learnt (an EP its own, a NATS
    // participant one on the hop) says nothing about the others, so none can be guessed to be
    // ended or written to (review: sequential ids let one batch of UNSTITCH for 1..1000 end them all).
    for (;;) {
      const id = crypto.getRandomValues(this.idDraw)[0]!;
      if (id !== 0 && !this.stitches.has(id)) return id;
    }
  }
}
