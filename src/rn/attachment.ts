// The RN's side of one attachment, decisions only (the connection moves the bytes and keeps the
// counters): the full attachment (HELLO -> HELLO_R, AUTH -> OK, src/uzp/link/attach.ts) or the 1-RTT
// one (HELLO version 2 -> HELLO_R, then the EP's key confirmation; attach-1rtt.ts), cheap checks
// before expensive ones (docs/PROFILE.md §Checks and their order, §1-RTT attachment).

import type { Signer } from '../uzp/crypto/provider.js';
import { ErrorCode, ProtocolError } from '../uzp/errors.js';
import { AttachResponder, type ResponderResult, type ResponderTrust } from '../uzp/link/attach.js';
import { acceptHello1, openConfirm } from '../uzp/link/attach-1rtt.js';
import type { OpeningDirection } from '../uzp/link/channel.js';
import { FrameType, LINK_VERSION_1RTT, RefusedCode } from '../uzp/link/constants.js';
import { encodeFrame } from '../uzp/link/frame.js';
import { decodeHello1, helloVersion } from '../uzp/link/messages-1rtt.js';
import type { AttachStrikes, StrikeRefusal } from './attach-strikes.js';

/** Why a source may not attach now, before any crypto (admission: HELLO bucket, link cap). */
export type AdmitRefusal = 'rate_limited' | 'link_cap';

/** What the connection does next. */
export type AttachStep =
  | { readonly step: 'refuse'; readonly code: number; readonly why: AdmitRefusal | StrikeRefusal }
  /** Full attachment: send HELLO_R, wait for AUTH. */
  | { readonly step: 'challenge'; readonly frame: Uint8Array }
  /** Attached: send `frame` (OK, or HELLO_R of the 1-RTT attachment). */
  | { readonly step: 'attached'; readonly frame: Uint8Array; readonly result: ResponderResult; readonly oneRtt: boolean };

export interface AttachmentContext {
  readonly trust: ResponderTrust;
  readonly signer: Signer;
  /** The X25519 form of the RN's identity key (ed-to-x25519.ts). */
  readonly staticPrivate: Uint8Array;
  readonly strikes: AttachStrikes;
  readonly maxFrame: number;
  readonly keepaliveMs: number;
}

export class RnAttachment {
  private readonly responder: AttachResponder;
  /** 1-RTT: opens the EP's key confirmation, then is the channel's EP -> RN direction. */
  private confirmRecv: OpeningDirection | null = null;

  constructor(
    private readonly ctx: AttachmentContext,
    /** The admission checks a HELLO passes before any crypto; a refusal reason or undefined. */
    private readonly admit: () => AdmitRefusal | undefined,
  ) {
    this.responder = new AttachResponder(ctx);
  }

  /** A 1-RTT attachment whose key confirmation has not come yet. */
  get confirming(): boolean {
    return this.confirmRecv !== null;
  }

  onHello(payload: Uint8Array): AttachStep {
    // A 1-RTT HELLO outside the window goes to the full attachment before it costs a HELLO token:
    // the EP's fallback HELLO must not find the bucket emptied by its first try.
    const hello1 = helloVersion(payload) === LINK_VERSION_1RTT ? decodeHello1(payload) : undefined;
    const early = hello1 === undefined ? undefined : this.ctx.strikes.check(hello1.timeEp);
    if (early !== undefined) return { step: 'refuse', code: RefusedCode.FULL_ATTACH, why: early };
    const refused = this.admit();
    if (refused !== undefined) return { step: 'refuse', code: RefusedCode.OVERLOADED, why: refused };
    if (hello1 === undefined) return { step: 'challenge', frame: encodeFrame(FrameType.HELLO_R, this.responder.onHello(payload)) };
    // The HELLO's checks, and only then its nonce into the strike register.
    const result = acceptHello1(this.ctx, payload, hello1);
    const why = this.ctx.strikes.take(hello1.nonceEp, hello1.timeEp);
    if (why === 'replay') throw new ProtocolError(ErrorCode.ATTACH_REPLAY, 'attach: a 1-RTT HELLO taken before (replayed)', 'policy');
    if (why !== undefined) return { step: 'refuse', code: RefusedCode.FULL_ATTACH, why };
    this.confirmRecv = result.confirmRecv;
    return { step: 'attached', frame: encodeFrame(FrameType.HELLO_R, result.helloR), result, oneRtt: true };
  }

  onAuth(payload: Uint8Array): AttachStep {
    const { ok, result } = this.responder.onAuth(payload);
    return { step: 'attached', frame: encodeFrame(FrameType.OK, ok), result, oneRtt: false };
  }

  /** 1-RTT: the EP's key confirmation (AUTH, short form); returns the channel's EP -> RN direction from counter 1. */
  confirm(payload: Uint8Array): OpeningDirection {
    const recv = this.confirmRecv;
    if (recv === null) throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, 'AUTH after the attachment');
    if (!openConfirm(recv, payload)) throw new ProtocolError(ErrorCode.CRYPTO_AEAD_OPEN, 'AUTH (key confirmation) does not authenticate');
    this.confirmRecv = null;
    return recv;
  }
}
