// EP side of one RN link: an outbound TCP connection (link-socket.ts: a client socket only, the
// zero-port rule of draft §4 step 1 and §13), the attachment, then the sealed control channel
// (ACCEPT / JOIN / OFFER ...) and RELAY frames for stitches. Protocol decisions live in attach.ts /
// attach-1rtt.ts / control.ts, the attachment while it is made in link-attachment.ts (which one to
// make in attach-choice.ts, JOINs asked for meanwhile in attaching-joins.ts), the stitches in
// link-stitches.ts, JOINs awaiting an answer in pending-joins.ts.

import { EventEmitter } from 'node:events';
import { equal } from '../bytes.js';
import { ErrorCode, ProtocolError } from '../errors.js';
import { StateError, type CodedError } from '../../lib/errors.js';
import { CONTROL_AD, type InitiatorResult } from './attach.js';
import { AttachChoice } from './attach-choice.js';
import type { MakeJoin } from './attaching-joins.js';
import type { AttachAttestationContext } from './attach-keys.js';
import type { LinkChannel } from './channel.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { LinkKeepalive } from './keepalive.js';
import { ControlKind, DEFAULT_ATTACH_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_JOIN_TIMEOUT_MS, DEFAULT_MAX_FRAME_PREAUTH, FrameType } from './constants.js';
import { decodeControl, encodeControl, type ControlMessage } from './control.js';
import { encodeFrame, relayFrameHeader, relayFrameLength, type Frame } from './frame.js';
import { LinkAttachment } from './link-attachment.js';
import { linkIdentity } from './link-identity.js';
import { LinkSocket } from './link-socket.js';
import { LinkStitches } from './link-stitches.js';
import { decodeRelay } from './messages.js';
import { PendingJoins } from './pending-joins.js';
import type { Offer, RnLinkEvents, RnLinkOptions } from './rn-link-types.js';
import type { Stitch, StitchHost } from './stitch.js';

export type { Offer, RnLinkEvents, RnLinkOptions };

export class RnLink extends EventEmitter<RnLinkEvents> implements StitchHost {
  private drainingValue = false;
  readonly cid: Uint8Array;
  readonly address: string;
  /** Counters a test or an operator may read. */
  readonly stats = { relayIn: 0, relayOut: 0, relayDropped: 0, pingsSent: 0, pongsReceived: 0 };
  private state: 'attaching' | 'attached' | 'closed' = 'attaching';
  private readonly conn: LinkSocket;
  private readonly clock: Clock;
  /** The attachment while it is made (link-attachment.ts). */
  private readonly attachment: LinkAttachment;
  private channel: LinkChannel | null = null;
  private rnCidValue: Uint8Array | null = null;
  private rnPublicKeyValue: Uint8Array | null = null;
  private attestationValue: AttachAttestationContext | null = null;
  private maxFrame = DEFAULT_MAX_FRAME_PREAUTH;
  private lastFrameAt: number;
  private readonly joins: PendingJoins;
  private readonly stitches: LinkStitches;
  private readonly keepalive: LinkKeepalive;
  private accepting = false;
  /** Why the link ended (shutdown's error; undefined while open or when closed locally). */
  private closedWithValue: CodedError | undefined;
  private settle: { resolve(l: RnLink): void; reject(e: CodedError): void } | null = null;

  private constructor(private readonly opts: RnLinkOptions) {
    super();
    const p = opts.trust.provider;
    this.address = opts.address;
    this.clock = opts.clock ?? systemClock;
    this.joins = new PendingJoins(this.clock, opts.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS);
    this.stitches = new LinkStitches({ host: this, sendControl: (m) => this.sendControl(m), joins: this.joins, rnOf: (via) => this.rnOf(via) });
    this.lastFrameAt = this.clock.now();
    this.keepalive = new LinkKeepalive({
      clock: this.clock,
      lastFrameAt: () => this.lastFrameAt,
      partial: () => this.conn.partial,
      ping: (nonce) => {
        this.stats.pingsSent++;
        this.sendControl({ kind: ControlKind.PING, nonce });
      },
      dead: (why) => this.shutdown(new ProtocolError(ErrorCode.LINK_TIMEOUT, `RN link ${this.address}: ${why}`), false),
    });
    const identity = linkIdentity(p, opts.identity);
    this.cid = identity.cid;
    const choice = new AttachChoice({
      address: this.address,
      trust: opts.trust,
      identity,
      clock: this.clock,
      ...(opts.rnRole !== undefined ? { rnRole: opts.rnRole } : {}),
      ...(opts.expectRn !== undefined ? { expectRn: opts.expectRn } : {}),
      ...(opts.oneRtt !== undefined ? { oneRtt: opts.oneRtt } : {}),
    });
    this.attachment = new LinkAttachment(
      choice,
      { address: this.address, clock: this.clock, signal: opts.signal, timeoutMs: opts.timeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS },
      { conn: () => this.conn, sendControl: (m) => void this.sendControl(m), failed: (e) => this.shutdown(e, false) },
    );
    this.conn = new LinkSocket(this.address, {
      frame: this.visitFrame,
      heard: () => (this.lastFrameAt = this.clock.now()),
      failed: (e) => this.shutdown(e, false),
      drained: () => this.stitches.drained(),
    });
  }

  /** Connects and attaches; resolves once the RN sent OK. */
  static attach(opts: RnLinkOptions): Promise<RnLink> {
    let link: RnLink;
    try {
      link = new RnLink(opts);
    } catch (e) {
      return Promise.reject(e);
    }
    return link.start();
  }

  /**
   * Connects and starts attaching, and returns the link at once with the attachment's promise:
   * join() may be called meanwhile, and its JOIN goes out right behind AUTH instead of a round trip
   * later, after OK (docs/PROFILE.md §Attachment, "JOIN behind AUTH"). A failed attachment rejects
   * `attached` and every join made on it.
   */
  static begin(opts: RnLinkOptions): { readonly link: RnLink; readonly attached: Promise<RnLink> } {
    const link = new RnLink(opts);
    return { link, attached: link.start() };
  }

  get rnCid(): Uint8Array {
    if (this.rnCidValue === null) throw new StateError(ErrorCode.LINK_CLOSED, 'RN link: not attached');
    return this.rnCidValue;
  }

  /** The attached RN's public key, to re-check its eligibility at failover time (draft §11.1). */
  get rnPublicKey(): Uint8Array {
    if (this.rnPublicKeyValue === null) throw new StateError(ErrorCode.LINK_CLOSED, 'RN link: not attached');
    return this.rnPublicKeyValue;
  }

  /**
   * What attestation evidence on this attachment must carry: `nonce` as eat_nonce, `binding` as the
   * binding claim (attach-keys.ts attachAttestationContext; known to this EP and the RN only).
   */
  get attestationContext(): AttachAttestationContext {
    if (this.attestationValue === null) throw new StateError(ErrorCode.LINK_CLOSED, 'RN link: not attached');
    return this.attestationValue;
  }

  get attached(): boolean {
    return this.state === 'attached';
  }

  /**
   * Why the link ended: the error shutdown() was given (a bad frame, a timeout, the RN's close), or
   * undefined while open and after close(). For whoever was not listening when it ended: a frame that
   * ends the link in the same read as OK closes it before the caller awaiting the attachment resumes.
   */
  get closedWith(): CodedError | undefined {
    return this.closedWithValue;
  }

  /** The RN sent DRAIN on this link. */
  get draining(): boolean {
    return this.drainingValue;
  }

  get maxPayload(): number {
    return this.maxFrame - relayFrameLength(0);
  }

  private start(): Promise<RnLink> {
    return new Promise<RnLink>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.attachment.start();
    });
  }

  private readonly visitFrame = (f: Frame): void => {
    if (this.state === 'closed') return;
    if (this.state === 'attaching') {
      const attached = this.attachment.onFrame({ type: f.type, payload: f.payload.slice(), raw: f.raw }); // rare: kept by the attach state
      if (attached !== undefined) this.attachedWith(attached);
    } else this.onFrame(f);
  };

  /** OK (full attachment) or HELLO_R (1-RTT): the link is attached. */
  private attachedWith(r: InitiatorResult): void {
    this.channel = r.channel;
    this.rnCidValue = r.rn.cid;
    this.rnPublicKeyValue = r.rnPublicKey;
    this.attestationValue = r.attestation;
    this.maxFrame = r.maxFrame;
    this.conn.setMaxFrame(r.maxFrame);
    this.state = 'attached';
    this.clearTimers();
    const keepalive = this.opts.keepaliveMs ?? r.keepaliveMs;
    this.keepalive.start(keepalive, this.opts.idleTimeoutMs ?? Math.max(DEFAULT_IDLE_TIMEOUT_MS, 3 * keepalive));
    // Ask for the RN's signed artefacts (draft §11.1): an opt-in, so an RN never sends ARTEFACT
    // to an endpoint that does not know it (docs/PROFILE.md §CONTROL ARTEFACT).
    this.sendControl({ kind: ControlKind.ARTEFACT, artefact: new Uint8Array(0) });
    this.attachment.joins.attached();
    const s = this.settle;
    this.settle = null;
    s?.resolve(this);
  }

  private onFrame(f: Frame): void {
    if (f.type === FrameType.RELAY) {
      this.stats.relayIn++;
      if (!this.stitches.relay(decodeRelay(f.payload))) this.stats.relayDropped++;
      return;
    }
    if (f.type !== FrameType.CONTROL) throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `RN link: unexpected frame 0x${f.type.toString(16)}`);
    const pt = this.channel!.recv.open(f.payload, CONTROL_AD);
    if (pt === null) throw new ProtocolError(ErrorCode.CRYPTO_AEAD_OPEN, 'RN link: CONTROL record does not authenticate');
    this.onControl(decodeControl(pt));
  }

  private onControl(m: ControlMessage): void {
    switch (m.kind) {
      case ControlKind.PING:
        this.sendControl({ kind: ControlKind.PONG, nonce: m.nonce });
        return;
      case ControlKind.PONG:
        this.stats.pongsReceived++;
        return;
      case ControlKind.OFFER:
      case ControlKind.OFFER_VIA:
        return this.stitches.offer(m, this.accepting, this.listenerCount('offer') === 0 ? undefined : (o) => this.emit('offer', o));
      case ControlKind.JOINED:
        return this.stitches.joined(m);
      case ControlKind.JOIN_REFUSED:
        return this.stitches.joinRefused(m);
      case ControlKind.DRAIN:
        // The RN is going away (draft §11.2): a failover trigger for whoever listens (LinkManager).
        // Remembered too: a DRAIN in the same read as OK comes before anyone could listen.
        this.drainingValue = true;
        this.emit('drain', m.deadlineMs);
        return;
      case ControlKind.ARTEFACT:
        // Unverified bytes: whoever listens verifies and adopts only newer valid ones (draft §11.1).
        // The RN sends them right after OK, often in the same TCP read: emitted on the next turn so
        // that the caller awaiting attach() has subscribed by then.
        setImmediate(() => {
          if (this.state === 'attached') this.emit('artefact', m.artefact);
        });
        return;
      case ControlKind.UNSTITCH:
        return this.stitches.unstitched(m);
      default:
        throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `RN link: the RN sent EP-only control kind 0x${m.kind.toString(16)}`);
    }
  }

  /**
   * The RN of an offered stitch: this link's, or for one that crossed the fabric (OFFER_VIA) the RN
   * the initiator JOINed at, with its key from our RN Set Statement; undefined unless that RN is
   * eligible now (draft §11.1: listed, unrevoked, the statement in its window), as the RN this link
   * attached to had to be. Then nothing that needs the RN — a continuity token — can be accepted on
   * that stitch.
   */
  private rnOf(via: Uint8Array | undefined): { cid: Uint8Array; publicKey: Uint8Array } | undefined {
    if (via === undefined) return { cid: this.rnCid, publicKey: this.rnPublicKey };
    const e = this.opts.trust.rnSet?.body.rns.find((r) => equal(r.cid, via));
    if (e === undefined) return undefined;
    try {
      this.opts.trust.requireEligibleRn(e.publicKey);
    } catch {
      return undefined;
    }
    return { cid: e.cid, publicKey: e.publicKey };
  }

  private sendControl(m: ControlMessage): boolean {
    if (this.state !== 'attached') return false;
    return this.conn.writeControl(encodeFrame(FrameType.CONTROL, this.channel!.send.seal(encodeControl(m), CONTROL_AD)));
  }

  /**
   * A JOIN while attaching: behind AUTH, sealed under the EP control key AUTH fixed (the attached
   * channel goes on with the same key and counter), when it fits the pre-auth frame limit the RN
   * still reads AUTH's chunk with; otherwise (or before AUTH is out) it waits: for AUTH, or for OK.
   */
  private joinBehindAuth(join: MakeJoin): void {
    if (this.state === 'attached') return void this.sendControl(join(this.rnCid));
    if (this.state === 'attaching') this.attachment.joins.add(join);
  }

  // ---- StitchHost ----

  sendRelay(stitchId: number, payload: Uint8Array | readonly Uint8Array[], length: number): boolean {
    if (this.state !== 'attached') throw new StateError(ErrorCode.LINK_CLOSED, 'RN link: closed');
    this.stats.relayOut++;
    // Header and payload (or the payload's pieces: a sealed block's header, ciphertext and tag) go
    // out separately, in one writev under the cork: the block is never copied into one buffer.
    let ok = this.conn.write(relayFrameHeader(stitchId, length));
    if (payload instanceof Uint8Array) return this.conn.write(payload);
    for (const p of payload) ok = this.conn.write(p);
    return ok;
  }

  flush(): void {
    this.conn.flush();
  }

  releaseStitch(stitchId: number): void {
    this.stitches.release(stitchId);
  }

  // ---- public API ----

  /** Become a responder: the RN may now send OFFERs (draft §4 step 4). */
  accept(): void {
    if (this.state !== 'attached') throw new StateError(ErrorCode.LINK_CLOSED, 'RN link: not attached');
    this.accepting = true;
    this.sendControl({ kind: ControlKind.ACCEPT });
  }

  /**
   * Sends attestation evidence made for attestationContext (CONTROL ATTEST). An RN that requires
   * attestation offers this link no stitch before valid evidence arrived; any other RN ignores it.
   * The RN answers nothing either way: a refusal shows up as JOIN_REFUSED(not attested) at joiners.
   */
  attest(evidence: Uint8Array): void {
    if (this.state !== 'attached') throw new StateError(ErrorCode.LINK_CLOSED, 'RN link: not attached');
    this.sendControl({ kind: ControlKind.ATTEST, evidence });
  }

  /**
   * draft §4 step 3: Join request with target CID, Grant and CH1 (flight [1]). `ch1` may be made
   * for this RN (a continuity token binds the RN it is presented at, draft §11.4).
   */
  join(target: Uint8Array, grant: Uint8Array, ch1: Uint8Array | ((rn: Uint8Array) => Uint8Array), signal?: AbortSignal): Promise<Stitch> {
    if (this.state === 'closed') return Promise.reject(new StateError(ErrorCode.LINK_CLOSED, 'RN link: not attached'));
    if (signal?.aborted) return Promise.reject(new StateError(ErrorCode.LINK_CLOSED, 'join aborted', { cause: signal.reason }));
    const { id: joinId, stitch } = this.joins.open(signal);
    this.joinBehindAuth((rn) => ({ kind: ControlKind.JOIN, joinId, target, grant, ch1: typeof ch1 === 'function' ? ch1(rn) : ch1 }));
    return stitch;
  }

  /**
   * Something above saw a path through this RN fail (a session's PoR, draft §11.2): ask the RN now
   * (PING) instead of waiting out the idle timeout; no frame at all within `ms` and the link is
   * taken as dead, so the link manager attaches elsewhere at once.
   */
  probe(): void {
    if (this.state === 'attached') this.keepalive.probe();
  }

  /** Closes the link; stitches end with by 'link', pending joins reject with LINK_CLOSED. */
  close(): void {
    this.shutdown(undefined, true);
  }

  private clearTimers(): void {
    this.attachment.stop();
    this.keepalive.stop();
  }

  private shutdown(err: CodedError | undefined, graceful: boolean): void {
    if (this.state === 'closed') return;
    // A failed 1-RTT attempt attaches again the full way instead (LinkAttachment.fellBack).
    if (this.state === 'attaching' && this.attachment.fellBack(err)) return;
    this.state = 'closed';
    this.closedWithValue = err;
    this.clearTimers();
    this.conn.close(graceful);
    const reason = err ?? new StateError(ErrorCode.LINK_CLOSED, 'RN link: closed locally');
    this.stitches.endAll(reason);
    if (this.settle !== null) {
      const s = this.settle;
      this.settle = null;
      s.reject(reason);
      return;
    }
    this.emit('close', err);
  }
}
