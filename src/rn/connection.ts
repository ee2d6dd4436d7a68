// One EP connection at the RN: pre-auth (HELLO, AUTH) with cheap checks before any expensive
// crypto, then the attached state (sealed CONTROL, RELAY). Thin driver around RnAttachment
// (attachment.ts: the full and the 1-RTT attachment) and the Switchboard; decisions live there.

import type { Socket } from 'node:net';
import { toHex } from '../uzp/bytes.js';
import type { PCert, Role, Valid } from '../uzp/artefacts/types.js';
import type { AttachAttestationContext } from '../uzp/link/attach-keys.js';
import { ErrorCode, ProtocolError } from '../uzp/errors.js';
import { CONTROL_AD } from '../uzp/link/attach.js';
import { RnAttachment, type AttachmentContext, type AttachStep } from './attachment.js';
import type { LinkChannel } from '../uzp/link/channel.js';
import type { Clock } from '../lib/clock.js';
import { ControlKind, FrameType, JoinRefusedCode, RefusedCode } from '../uzp/link/constants.js';
import { decodeControl, encodeControl, type ControlMessage } from '../uzp/link/control.js';
import { FrameDecoder, encodeFrame, type Frame } from '../uzp/link/frame.js';
import { encodeRefused } from '../uzp/link/messages.js';
import { checkAttachEvidence } from './attestation.js';
import type { RnLog } from './log.js';
import { corkingWriter } from '../uzp/link/cork.js';
import { OutboundQueue, type QueueLimits } from './queues.js';
import { LinkLiveness } from './link-liveness.js';
import { ReadHold } from './read-hold.js';
import type { Admission } from './admission.js';
import type { PreauthHolder } from './preauth-table.js';
import type { RnStats } from './stats.js';
import type { Peer, Switchboard } from './switchboard.js';
import { type CodedError, isCodedError } from '../lib/errors.js';

/** PCert roles whose links may send ACCEPT (take the responder role of a stitch). */
const RESPONDER_ROLES: readonly Role[] = ['gateway', 'collector'];

/** What a connection needs of its RN; the attachment's part (keys, strike register) in attachment.ts. */
export interface ConnectionContext extends AttachmentContext {
  readonly switchboard: Switchboard;
  /** Pre-auth slots, HELLO buckets and known sources (src/rn/admission.ts). */
  readonly admission: Admission;
  readonly stats: RnStats;
  readonly log: RnLog;
  readonly clock: Clock;
  readonly maxFramePreauth: number;
  /** Links one CID may hold attached (RN_MAX_LINKS_PER_CID). */
  readonly maxLinksPerCid: number;
  readonly maxLinks: number;
  readonly queue: QueueLimits;
  /** Gateway links are offered stitches only after a valid ATTEST (src/rn/attestation.ts). */
  readonly requireAttestation: boolean;
  /** Unix seconds and the allowed skew, for the evidence window (the trust store's clock). */
  nowSeconds(): number;
  readonly skewSeconds: number;
  nextLinkId(): number;
  closed(c: RnConnection): void;
  /** The RN is draining (SIGTERM, draft §11.2): JOINs are refused with JOIN_REFUSED 3 (overloaded). */
  draining(): boolean;
}

type CloseCause = 'normal' | 'idle' | 'preauth_deadline' | 'slow' | 'revoked' | 'expired' | 'protocol' | 'shutdown' | 'evicted' | 'drained';

export class RnConnection implements Peer, PreauthHolder {
  readonly openedAt: number;
  linkId = 0;
  private stateValue: 'hello' | 'auth' | 'attached' | 'closed' = 'hello';
  private readonly decoder: FrameDecoder;
  private readonly attachment: RnAttachment;
  private readonly queue: OutboundQueue;
  private readonly liveness: LinkLiveness;
  private readonly hold: ReadHold;
  private channel: LinkChannel | null = null;
  private cidValue: Uint8Array | null = null;
  private pcertValue: Valid<PCert> | null = null;
  private attestationValue: AttachAttestationContext | null = null;
  private attestedValue = false;
  private acceptPending = false;
  private heard = false;
  readonly source: string;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ConnectionContext,
    /** What admission accounts this connection to (src/rn/source.ts). */
    readonly sourceKey: string,
  ) {
    this.openedAt = ctx.clock.now();
    this.liveness = new LinkLiveness(this.openedAt);
    this.source = socket.remoteAddress ?? 'unknown';
    // Every read is a fresh buffer from node: a RELAY frame spanning reads is forwarded as their views.
    this.decoder = new FrameDecoder(ctx.maxFramePreauth, { pieces: true });
    this.attachment = new RnAttachment(ctx, () => {
      if (!this.ctx.admission.takeHello(this.sourceKey)) return 'rate_limited';
      return this.ctx.stats.links >= this.ctx.maxLinks ? 'link_cap' : undefined;
    });
    this.queue = new OutboundQueue(corkingWriter(socket), ctx.queue, () => ctx.clock.now());
    this.hold = new ReadHold({ pause: () => void socket.pause(), resume: () => void socket.resume(), open: () => this.stateValue !== 'closed' }, ctx.clock, ctx.stats);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.queue.onDrain());
    socket.on('error', (e) => this.ctx.log.debug({ event: 'socket_error', link: this.linkId, source: this.source, error: e.message }, 'socket error'));
    socket.on('close', () => this.close('normal'));
  }

  get state(): 'hello' | 'auth' | 'attached' | 'closed' {
    return this.stateValue;
  }

  /** PreauthHolder: not a byte received yet. */
  get silent(): boolean {
    return !this.heard;
  }

  /** PreauthHolder: admission gave this pre-auth slot to a newcomer from a lighter source. */
  evict(): void {
    this.ctx.log.debug({ event: 'preauth_evicted', source: this.source, silent: this.silent }, 'pre-auth connection evicted');
    this.close('evicted');
  }

  get cid(): Uint8Array {
    return this.cidValue!;
  }

  get pcert(): Valid<PCert> | null {
    return this.pcertValue;
  }

  /** The attachment's attestation nonce and binding (attach-keys.ts attachAttestationContext). */
  get attestationContext(): AttachAttestationContext | null {
    return this.attestationValue;
  }

  /** This link presented valid attachment-bound evidence (only tracked when the RN requires it). */
  get attested(): boolean {
    return this.attestedValue;
  }

  /** The RN requires attestation and this is a gateway link: no OFFER before a valid ATTEST. */
  private get mustAttest(): boolean {
    return this.ctx.requireAttestation && this.pcertValue?.body.role === 'gateway';
  }

  get queuedDataBytes(): number {
    return this.queue.queuedDataBytes;
  }

  get congested(): boolean {
    return this.queue.congested;
  }

  onRelieved(cb: () => void): void {
    this.queue.onRelieved(cb);
  }

  markStuck(): void {
    this.queue.markStuck();
  }

  /** Stops reading from this link until `other` drains (bounded in time: read-hold.ts). */
  holdFor(other: Peer): void {
    if (this.stateValue === 'attached') this.hold.holdFor(other);
  }

  /**
   * The sweep's question (link-liveness.ts): no whole frame for `idleMs`, nor a frame in flight
   * growing at LINK_MIN_BYTES_PER_S since the sweep before.
   */
  idle(now: number, idleMs: number): boolean {
    return this.liveness.idle(now, this.decoder.buffered, idleMs);
  }

  private onData(chunk: Uint8Array): void {
    // Any byte makes a pre-auth connection not silent (admission evicts silent ones first); only a
    // whole frame is a sign of life for the idle sweep.
    this.heard = true;
    try {
      const frames = this.decoder.push(chunk);
      if (frames.length > 0) this.liveness.frame(this.ctx.clock.now());
      for (const f of frames) {
        if (this.stateValue === 'closed') return;
        if (this.stateValue === 'attached') this.onFrame(f);
        else this.onPreauthFrame(f);
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Any error ends the connection; before attachment the EP hears only REFUSED(1). */
  private fail(e: unknown): void {
    const err: CodedError = isCodedError(e) ? e : new ProtocolError(ErrorCode.LINK_CLOSED, String(e), 'local', { cause: e });
    if (!isCodedError(e)) this.ctx.log.error({ event: 'bug', link: this.linkId, error: String((e as Error)?.stack ?? e) }, 'unexpected error');
    if (this.stateValue === 'attached') {
      this.ctx.log.info({ event: 'link_error', link: this.linkId, code: err.code, detail: err.message }, 'closing link');
      this.close('protocol');
      return;
    }
    this.ctx.stats.refused.attach_failed++;
    this.ctx.log.info({ event: 'attach_refused', source: this.source, code: err.code, detail: err.message }, 'attachment refused');
    this.refuse(RefusedCode.REFUSED);
  }

  private refuse(code: number): void {
    if (this.stateValue === 'closed') return;
    this.socket.write(encodeFrame(FrameType.REFUSED, encodeRefused(code)));
    this.close('normal', true);
  }

  private onPreauthFrame(f: Frame): void {
    const expected = this.stateValue === 'hello' ? FrameType.HELLO : FrameType.AUTH;
    if (f.type !== expected) throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `pre-auth: expected frame 0x${expected.toString(16)}, got 0x${f.type.toString(16)}`);
    this.take(expected === FrameType.HELLO ? this.attachment.onHello(f.payload) : this.attachment.onAuth(f.payload));
  }

  private take(s: AttachStep): void {
    switch (s.step) {
      case 'challenge':
        this.stateValue = 'auth';
        this.socket.write(s.frame);
        return;
      case 'attached':
        return this.attachAs(s);
      case 'refuse': {
        // Before any crypto: admission (REFUSED 2), or a 1-RTT HELLO sent the full way (REFUSED 3).
        const admit = s.why === 'rate_limited' || s.why === 'link_cap';
        this.ctx.stats.refused[admit ? s.why : 'full_attach']++;
        this.ctx.log.debug({ event: admit ? s.why : 'attach1_refused', source: this.source, reason: s.why }, 'attachment refused before any crypto');
        return this.refuse(s.code);
      }
    }
  }

  /** The attachment succeeded (AUTH or HELLO v2): its answer (OK or HELLO_R) goes out, the link is attached. */
  private attachAs({ result, frame, oneRtt }: Extract<AttachStep, { step: 'attached' }>): void {
    const cap = this.ctx.stats.links >= this.ctx.maxLinks ? 'link_cap' : this.ctx.switchboard.linksOf(result.pcert.subject!) >= this.ctx.maxLinksPerCid ? 'cid_link_cap' : undefined;
    if (cap !== undefined) {
      this.ctx.stats.refused[cap]++;
      if (cap === 'cid_link_cap') this.ctx.log.info({ event: cap, cid: toHex(result.pcert.subject!), source: this.source }, 'attachment refused: this identity already holds its share of links here');
      return this.refuse(RefusedCode.OVERLOADED);
    }
    this.channel = result.channel;
    this.pcertValue = result.pcert;
    this.attestationValue = result.attestation;
    // A valid PCert's subject is the CID of its key (pcert.ts check): no BLAKE3 per attachment.
    // Copied: an envelope decoded without the cache holds views of the frame it came in.
    this.cidValue = result.pcert.subject!.slice();
    this.linkId = this.ctx.nextLinkId();
    this.stateValue = 'attached';
    this.ctx.admission.leave(this);
    this.ctx.admission.attached(this.sourceKey, toHex(this.cidValue));
    this.ctx.stats.links++;
    this.decoder.setMaxFrame(this.ctx.maxFrame);
    // Corked (queue): it leaves after a JOIN behind AUTH or HELLO in the same read has its OFFER, so
    // the EP it wakes cannot hold the RN back first (on one box it ran on our core: docs/BENCH.md).
    this.queue.pushControl(frame);
    this.ctx.switchboard.attach(this);
    if (oneRtt) this.ctx.stats.attachedOneRtt++;
    this.ctx.log.info({ event: 'attached', link: this.linkId, cid: toHex(this.cidValue), role: result.pcert.body.role, source: this.source, attach: oneRtt ? '1rtt' : 'full' }, 'EP attached');
  }

  private onFrame(f: Frame): void {
    if (f.type === FrameType.RELAY) return this.ctx.switchboard.relay(this, f);
    // 1-RTT: the EP's key confirmation; its CONTROL records go on under ep_ctl (counter 1).
    if (f.type === FrameType.AUTH && this.attachment.confirming) return void (this.channel = { send: this.channel!.send, recv: this.attachment.confirm(f.payload) });
    if (f.type !== FrameType.CONTROL) throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `attached: unexpected frame 0x${f.type.toString(16)}`);
    const pt = this.channel!.recv.open(f.payload, CONTROL_AD);
    if (pt === null) throw new ProtocolError(ErrorCode.CRYPTO_AEAD_OPEN, 'CONTROL record does not authenticate');
    const m = decodeControl(pt);
    const sb = this.ctx.switchboard;
    switch (m.kind) {
      case ControlKind.PING:
        return this.sendControl({ kind: ControlKind.PONG, nonce: m.nonce });
      case ControlKind.PONG:
        return;
      case ControlKind.ACCEPT:
        // Only gateways and collectors take the responder role: an operator initiates and Grants name a
        // gateway as audience (docs/PROFILE.md §CONTROL); a gateway publishing readings initiates to a
        // collector, the OI draft's Indexer (OI §11.1: the Publisher initiates the session). A violation
        // like a kind sent the wrong way: link closed. Attestation stays a gateway-only rule (mustAttest).
        if (!RESPONDER_ROLES.includes(this.pcertValue!.body.role)) {
          throw new ProtocolError(
            ErrorCode.PCERT_ROLE,
            `ACCEPT from a link whose PCert role is ${this.pcertValue!.body.role}: only gateway and collector links may accept stitches`,
            'policy',
          );
        }
        if (this.mustAttest && !this.attestedValue) {
          // Pending, not refused: the gateway may send ATTEST right after ACCEPT (evidence takes a
          // measurement); whichever comes first, the link is activated once both are in.
          this.acceptPending = true;
          this.ctx.log.debug({ event: 'accept_pending', link: this.linkId }, 'ACCEPT held until the gateway attests');
          return sb.setAwaitingAttestation(this);
        }
        return sb.setAccepting(this);
      case ControlKind.ATTEST:
        return this.onAttest(m.evidence);
      case ControlKind.JOIN:
        if (this.ctx.draining()) {
          // Draft §11.2: a draining RN takes no new stitches; "overloaded" sends the joiner elsewhere.
          this.ctx.stats.joins++;
          this.ctx.stats.joinsRefused++;
          this.ctx.stats.joinsRefusedDraining++;
          this.ctx.log.info({ event: 'join_refused', link: this.linkId, joinId: m.joinId, code: JoinRefusedCode.OVERLOADED, reason: 'draining' }, 'JOIN refused');
          return this.sendControl({ kind: ControlKind.JOIN_REFUSED, joinId: m.joinId, code: JoinRefusedCode.OVERLOADED });
        }
        return sb.join(this, m);
      case ControlKind.UNSTITCH:
        return sb.unstitch(this, m.stitchId, m.code);
      case ControlKind.REJECT_OFFER:
        return sb.rejectOffer(this, m.stitchId);
      case ControlKind.ARTEFACT:
        // EP -> RN with an empty body: "send me the artefacts you hold, and newer ones" (an opt-in,
        // so endpoints that do not know ARTEFACT never receive one). Anything else is a violation.
        if (m.artefact.length !== 0) throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, 'EP sent an ARTEFACT with a body: only the RN offers artefacts');
        return sb.subscribeArtefacts(this);
      default:
        throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `EP sent RN-only control kind 0x${m.kind.toString(16)}`);
    }
  }

  /**
   * ATTEST: with --require-attestation, a gateway link becomes reachable once its evidence is bound to
   * this attachment and signed by its own identity (src/rn/attestation.ts: presence and binding only;
   * the RN never appraises claims, draft §4.3). Bad evidence is logged and leaves the link
   * unattested; the link stays up (the gateway may try again on this attachment).
   */
  private onAttest(evidence: Uint8Array): void {
    if (!this.mustAttest || this.attestedValue) {
      const why = this.attestedValue ? 'already attested on this attachment' : 'not required of this link';
      this.ctx.log.debug({ event: 'attest_ignored', link: this.linkId, bytes: evidence.length, why }, 'ATTEST ignored');
      return;
    }
    const r = checkAttachEvidence(this.ctx.trust.provider, evidence, {
      cid: this.cidValue!,
      context: this.attestationValue!,
      nowSeconds: this.ctx.nowSeconds(),
      skewSeconds: this.ctx.skewSeconds,
    });
    if (!r.ok) {
      this.ctx.stats.attestRefused++;
      this.ctx.log.warn({ event: 'attest_refused', link: this.linkId, cid: toHex(this.cidValue!), reason: r.reason, detail: r.detail }, 'attestation evidence refused');
      return;
    }
    this.ctx.stats.attested++;
    this.attestedValue = true;
    this.ctx.log.info(
      { event: 'attested', link: this.linkId, cid: toHex(this.cidValue!), key_origin: r.evidence.claims.key_origin, iat: r.evidence.issuedAt, evidence: toHex(r.evidence.objectId) },
      'gateway attested',
    );
    if (this.acceptPending) {
      this.acceptPending = false;
      this.ctx.switchboard.setAccepting(this);
    }
  }

  // ---- Peer ----

  sendControl(m: ControlMessage): void {
    if (this.stateValue !== 'attached') return;
    // Sealed at enqueue time: the control queue is FIFO and never drops, so counters stay in step.
    const frame = encodeFrame(FrameType.CONTROL, this.channel!.send.seal(encodeControl(m), CONTROL_AD));
    if (!this.queue.pushControl(frame)) {
      this.ctx.log.warn({ event: 'slow_link', link: this.linkId }, 'control queue overflow: closing the slow link');
      this.close('slow');
    }
  }

  sendData(frame: Uint8Array | readonly Uint8Array[]): void {
    if (this.stateValue !== 'attached') return;
    this.ctx.stats.dropped.queue_overflow += this.queue.pushData(frame);
  }

  /** Ends the connection; `graceful` lets already written bytes (REFUSED) reach the EP first. */
  close(cause: CloseCause, graceful = false): void {
    if (this.stateValue === 'closed') return;
    const was = this.stateValue;
    this.stateValue = 'closed';
    this.hold.cancel();
    this.queue.clear();
    if (was === 'attached') {
      this.ctx.stats.links--;
      this.ctx.switchboard.detach(this);
      this.ctx.log.info({ event: 'detached', link: this.linkId, cause }, 'EP detached');
    } else {
      this.ctx.admission.leave(this);
    }
    if (cause !== 'normal' && cause !== 'shutdown') this.ctx.stats.closed[cause]++;
    if (graceful) {
      this.socket.end();
      // A peer that never reads must not keep the socket: give the REFUSED a moment, then cut.
      this.ctx.clock.setTimeout(() => this.socket.destroy(), 2_000, { unref: true });
    } else {
      this.socket.destroy();
    }
    this.ctx.closed(this);
  }
}
