// The 1-RTT attachment as two pure state machines (docs/PROFILE.md §1-RTT attachment), for an EP
// that already knows the RN's identity key (it attached to that address before and the key is still
// in the RN Set Statement):
//   EP -> RN  HELLO v2  version, eph_ep, nonce_ep, time_ep, seal_ep_hs1{pcert, sig_ep}
//             CONTROL*  sealed under ep_early (its JOINs, at once)
//   RN -> EP  HELLO_R   eph_rn, nonce_rn, seal_rn_ctl{OK}                 (or REFUSED)
//   EP -> RN  AUTH      seal_ep_ctl{} (key confirmation; EP CONTROL continues under ep_ctl)
// The full attachment (attach.ts) spends a round trip on the RN's challenge before the EP may say who
// it is; here the RN's static key takes the challenge's place and the RN's replay window and strike
// register (src/rn/attach-strikes.ts) its freshness, which is what lets a JOIN leave in the first
// flight (issue #14, "fewer round trips where the draft allows").
// draft §11.1: the RN key must be eligible in the current RN Set Statement (checked here, before use).
// draft §11: the RN validates the EP's PCert before attaching it, in the same order as for AUTH.

import type { CryptoProvider, KeyPair, Signer } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { PCert, RnEntry, Valid } from '../artefacts/types.js';
import { x25519PublicFromEd25519 } from '../crypto/ed-to-x25519.js';
import { StateError } from '../../lib/errors.js';
import { attachAttestationContext, controlKeys } from './attach-keys.js';
import { earlyKey, ep1SignatureInput, helloKey, linkPrk, staticPrk, transcript0v2, transcript1v2, transcript2v2 } from './attach1-keys.js';
import { OK_AD, aeadOpen, aeadSeal, openOk, type InitiatorResult, type InitiatorTrust, type ResponderResult, type ResponderTrust } from './attach.js';
import { OpeningDirection, SealingDirection, type LinkChannel } from './channel.js';
import { FrameType, NONCE_LENGTH } from './constants.js';
import { CONFIRM_LENGTH, HELLO1_CLEAR_LENGTH, decodeHello1, decodeHelloR1, encodeHello1, encodeHello1Clear, encodeHelloR1, type Hello1 } from './messages-1rtt.js';
import { decodeAuthInner, encodeAuthInner, encodeOkInner } from './messages.js';

/** AD of AUTH's short form (the key confirmation): its frame type byte. */
const CONFIRM_AD = Uint8Array.of(FrameType.AUTH);

interface Attach1InitiatorOptions {
  readonly trust: InitiatorTrust;
  readonly signer: Signer;
  readonly pcert: Uint8Array;
  readonly pcertObjectId: Uint8Array;
  readonly rnRole?: string;
  /** The RN's Ed25519 identity key, from an earlier attachment to the same address. */
  readonly rnPublicKey: Uint8Array;
  /** Its X25519 form, when the caller has it already (x25519PublicFromEd25519 costs ~0.1 ms). */
  readonly rnX25519?: Uint8Array;
  /** Wall clock, ms since the Unix epoch (time_ep). */
  readonly nowMs: () => number;
  /** Fixed ephemeral key and nonce, for test vectors only. */
  readonly ephemeral?: KeyPair;
  readonly nonce?: Uint8Array;
}

/**
 * EP side. The constructor makes HELLO (an X25519, a signature, a seal: it can be made ahead);
 * hello() -> afterAuth() (its JOINs) -> onHelloR(); any throw ends the attempt. Throws from the
 * constructor when the RN key is not eligible: the caller then attaches the full way.
 */
export class Attach1Initiator {
  private state: 'start' | 'hello-r' | 'done' = 'start';
  private readonly p: CryptoProvider;
  private readonly rn: RnEntry;
  private readonly eph: KeyPair;
  private readonly helloPayload: Uint8Array;
  private readonly th1: Uint8Array;
  private readonly ssStatic: Uint8Array;
  private readonly early: SealingDirection;
  /** time_ep: HELLO is made here, so it can be made ahead of the attachment (rn-keys.ts). */
  readonly madeAt: number;

  constructor(private readonly opts: Attach1InitiatorOptions) {
    const p = (this.p = opts.trust.provider);
    this.rn = opts.trust.requireEligibleRn(opts.rnPublicKey, opts.rnRole);
    this.eph = opts.ephemeral ?? p.x25519Generate();
    const nonceEp = opts.nonce ?? p.randomBytes(NONCE_LENGTH);
    const timeEp = (this.madeAt = Math.floor(opts.nowMs()));
    const clear = encodeHello1Clear({ ephEp: this.eph.publicKey, nonceEp, timeEp });
    const th0 = transcript0v2(p, clear, opts.rnPublicKey);
    this.ssStatic = p.x25519(this.eph.privateKey, opts.rnX25519 ?? x25519PublicFromEd25519(opts.rnPublicKey));
    const prkS = staticPrk(p, th0, this.ssStatic);
    const sigEp = opts.signer.sign(ep1SignatureInput(th0, opts.pcertObjectId));
    const sealed = aeadSeal(p, helloKey(p, prkS, th0), encodeAuthInner({ pcert: opts.pcert, sigEp }), th0);
    this.th1 = transcript1v2(p, th0, sealed);
    this.early = new SealingDirection(p, earlyKey(p, prkS, this.th1));
    this.helloPayload = encodeHello1(clear, sealed);
  }

  /** The RN key HELLO is sealed to: only that RN can answer it. */
  get rnPublicKey(): Uint8Array {
    return this.opts.rnPublicKey;
  }

  /** The RN key is still in the current RN Set Statement (for a HELLO made ahead). */
  get eligible(): boolean {
    try {
      this.opts.trust.requireEligibleRn(this.opts.rnPublicKey, this.opts.rnRole);
      return true;
    } catch {
      return false;
    }
  }

  /** HELLO v2 payload: the EP's identity sealed to the RN's key. */
  hello(): Uint8Array {
    if (this.state !== 'start') throw new StateError(ErrorCode.HANDSHAKE_UNEXPECTED, `attach: hello() in state ${this.state}`);
    this.state = 'hello-r';
    return this.helloPayload;
  }

  /** Once HELLO is made: CONTROL records (JOINs) may follow it at once, sealed by this direction. */
  afterAuth(): { readonly send: SealingDirection; readonly rnCid: Uint8Array } | undefined {
    return this.state === 'hello-r' ? { send: this.early, rnCid: this.rn.cid } : undefined;
  }

  /**
   * Consumes HELLO_R (short form): the RN proved its key by making the keys OK opens under. Returns
   * the key confirmation to send (AUTH's short form) and the attached channel, whose EP -> RN
   * direction continues under ep_ctl at counter 1.
   */
  onHelloR(payload: Uint8Array): { confirm: Uint8Array; result: InitiatorResult } {
    if (this.state !== 'hello-r') throw new StateError(ErrorCode.HANDSHAKE_UNEXPECTED, `attach: HELLO_R in state ${this.state}`);
    this.state = 'done';
    const p = this.p;
    const m = decodeHelloR1(payload);
    const th2 = transcript2v2(p, this.th1, m.ephRn, m.nonceRn);
    const prk = linkPrk(p, th2, p.x25519(this.eph.privateKey, m.ephRn), this.ssStatic);
    const ctl = controlKeys(p, prk, th2);
    const recv = new OpeningDirection(p, ctl.rn);
    const ok = openOk(recv, m.sealedOk);
    const send = new SealingDirection(p, ctl.ep);
    const confirm = send.seal(new Uint8Array(0), CONFIRM_AD);
    return {
      confirm,
      result: {
        rn: this.rn,
        rnPublicKey: this.opts.rnPublicKey,
        maxFrame: ok.maxFrame,
        keepaliveMs: ok.keepaliveMs,
        channel: { send, recv },
        attestation: attachAttestationContext(p, prk, th2),
      },
    };
  }
}

interface Attach1ResponderOptions {
  readonly trust: ResponderTrust;
  /** The RN's identity key and its X25519 scalar (x25519PrivateFromEd25519Seed). */
  readonly signer: Signer;
  readonly staticPrivate: Uint8Array;
  readonly maxFrame: number;
  readonly keepaliveMs: number;
  readonly ephemeral?: KeyPair;
  readonly nonce?: Uint8Array;
}

export interface Responder1Result extends ResponderResult {
  /** HELLO_R (short form) to send. */
  readonly helloR: Uint8Array;
  /** Opens AUTH's short form (counter 0); from then on the EP -> RN direction of the channel. */
  readonly confirmRecv: OpeningDirection;
}

/**
 * RN side of a HELLO v2 already decoded (decodeHello1; the caller checks time_ep against its window
 * first, and its strike register after this returns). Order: X25519 with the static key, open (an
 * AEAD), PCert checks (window, role, issuer, revocation before any signature), refuse role `rn`, then
 * sig_ep; only then the RN's own ephemeral. Any throw means REFUSED and close.
 */
export function acceptHello1(opts: Attach1ResponderOptions, payload: Uint8Array, m: Hello1 = decodeHello1(payload)): Responder1Result {
  const p = opts.trust.provider;
  const th0 = transcript0v2(p, payload.subarray(0, HELLO1_CLEAR_LENGTH), opts.signer.publicKey);
  const ssStatic = p.x25519(opts.staticPrivate, m.ephEp);
  const prkS = staticPrk(p, th0, ssStatic);
  const inner = decodeAuthInner(aeadOpen(p, helloKey(p, prkS, th0), m.sealed, th0, 'HELLO'));
  const pcert: Valid<PCert> = opts.trust.validatePCert(inner.pcert);
  if (pcert.body.role === 'rn') throw new ValidationError(ErrorCode.PCERT_ROLE, 'attach: a PCert of role rn cannot attach as an endpoint');
  if (!p.ed25519Verify(pcert.body.publicKey, ep1SignatureInput(th0, pcert.objectId), inner.sigEp)) {
    throw new ValidationError(ErrorCode.SIG_INVALID, 'attach: the EP signature over the transcript does not verify');
  }
  const th1 = transcript1v2(p, th0, m.sealed);
  const eph = opts.ephemeral ?? p.x25519Generate();
  const nonceRn = opts.nonce ?? p.randomBytes(NONCE_LENGTH);
  const th2 = transcript2v2(p, th1, eph.publicKey, nonceRn);
  const prk = linkPrk(p, th2, p.x25519(eph.privateKey, m.ephEp), ssStatic);
  const ctl = controlKeys(p, prk, th2);
  const send = new SealingDirection(p, ctl.rn);
  const sealedOk = send.seal(encodeOkInner({ maxFrame: opts.maxFrame, keepaliveMs: opts.keepaliveMs }), OK_AD);
  const channel: LinkChannel = { send, recv: new OpeningDirection(p, earlyKey(p, prkS, th1)) };
  return {
    helloR: encodeHelloR1({ ephRn: eph.publicKey, nonceRn, sealedOk }),
    pcert,
    channel,
    confirmRecv: new OpeningDirection(p, ctl.ep),
    attestation: attachAttestationContext(p, prk, th2),
  };
}

/** RN: opens AUTH's short form with `recv` (counter 0); false when it does not authenticate. */
export function openConfirm(recv: OpeningDirection, payload: Uint8Array): boolean {
  return payload.length === CONFIRM_LENGTH && recv.open(payload, CONFIRM_AD) !== null;
}
