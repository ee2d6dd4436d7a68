// Link attachment as two pure state machines, one per role (no sockets; the drivers in
// rn-link.ts and src/rn/connection.ts move the bytes). SIGMA-I shaped mutual authentication:
//   EP -> RN  HELLO    version, eph_ep, nonce_ep
//   RN -> EP  HELLO_R  eph_rn, nonce_rn, seal_rn_hs{rn_public_key, sig_rn}
//   EP -> RN  AUTH     seal_ep_hs{pcert, sig_ep}
//   RN -> EP  OK       seal_rn_ctl{max_frame, keepalive_ms}        (or REFUSED)
// draft §11.1: the EP accepts only an RN whose key is in a currently valid RN Set Statement.
// draft §11: the RN validates the EP's Pantheon credential (PCert) before attaching it.

import type { CryptoProvider, KeyPair, Signer } from '../crypto/provider.js';
import { CryptoError, ErrorCode, ProtocolError, ValidationError } from '../errors.js';
import type { PCert, RnEntry, Valid } from '../artefacts/types.js';
import {
  attachAttestationContext,
  attachPrk,
  controlKeys,
  epSignatureInput,
  handshakeKeys,
  rnSignatureInput,
  transcript0,
  transcript1,
  transcript2,
  type AttachAttestationContext,
} from './attach-keys.js';
import { LINK_AEAD, OpeningDirection, SealingDirection, counterNonce, type LinkChannel } from './channel.js';
import { FrameType, LINK_VERSION, MAX_ANNOUNCED_MAX_FRAME, MIN_ANNOUNCED_MAX_FRAME, NONCE_LENGTH } from './constants.js';
import {
  AUTH_SEALED_MAX,
  AUTH_SEALED_MIN,
  OK_SEALED_LENGTH,
  decodeAuthInner,
  decodeHello,
  decodeHelloR,
  decodeHelloRInner,
  decodeOkInner,
  decodeSealed,
  encodeAuthInner,
  encodeHello,
  encodeHelloR,
  encodeHelloRInner,
  encodeOkInner,
} from './messages.js';
import { CommonCode, StateError } from '../../lib/errors.js';
import { equal, toHex } from '../bytes.js';

/** AD of the OK record and of every CONTROL record: the frame type byte. */
export const OK_AD = Uint8Array.of(FrameType.OK);
export const CONTROL_AD = Uint8Array.of(FrameType.CONTROL);

/** The part of TrustStore the EP side needs (src/uzp/artefacts/trust.ts). */
export interface InitiatorTrust {
  readonly provider: CryptoProvider;
  requireEligibleRn(rnPublicKey: Uint8Array, role?: string): RnEntry;
  /** The RN Set Statement held now (to name the RN an OFFER_VIA came through). */
  readonly rnSet?: { readonly body: { readonly rns: readonly RnEntry[] } } | null | undefined;
}

/** The part of TrustStore the RN side needs. */
export interface ResponderTrust {
  readonly provider: CryptoProvider;
  validatePCert(bytes: Uint8Array, opts?: { role?: PCert['body']['role']; cid?: Uint8Array }): Valid<PCert>;
}

export interface AttachInitiatorOptions {
  readonly trust: InitiatorTrust;
  /** The EP's Ed25519 identity key (Identity.signer). */
  readonly signer: Signer;
  /** The EP's PCert (envelope bytes) and its object_id. */
  readonly pcert: Uint8Array;
  readonly pcertObjectId: Uint8Array;
  /** RN Set role the RN must be listed with (draft §11.1 "eligible for the relevant transport role"); any when absent. */
  readonly rnRole?: string;
  /**
   * The RN the RN Set Statement lists at the address dialled: the RN that answers must be that one
   * (ATTACH_RN_MISMATCH), or a warm standby "at another RN" could be at the same RN (draft §11.1).
   */
  readonly expectRn?: { readonly publicKey: Uint8Array; readonly address: string };
  /** Fixed ephemeral key and nonce, for test vectors only. */
  readonly ephemeral?: KeyPair;
  readonly nonce?: Uint8Array;
}

export interface InitiatorResult {
  readonly rn: RnEntry;
  readonly rnPublicKey: Uint8Array;
  readonly maxFrame: number;
  readonly keepaliveMs: number;
  readonly channel: LinkChannel;
  /** Nonce and binding attestation evidence on this attachment must carry (ControlKind.ATTEST). */
  readonly attestation: AttachAttestationContext;
}

export function aeadOpen(p: CryptoProvider, key: { key: Uint8Array; iv: Uint8Array }, sealed: Uint8Array, ad: Uint8Array, what: string): Uint8Array {
  const pt = p.aead(LINK_AEAD, key.key).open(counterNonce(key.iv, 0), sealed, ad);
  if (pt === null) throw new CryptoError(`${what}: sealed part does not authenticate`, ErrorCode.CRYPTO_AEAD_OPEN);
  return pt;
}

export function aeadSeal(p: CryptoProvider, key: { key: Uint8Array; iv: Uint8Array }, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return p.aead(LINK_AEAD, key.key).seal(counterNonce(key.iv, 0), plaintext, ad);
}

/** The longest keepalive interval an EP takes from OK (one hour). */
export const KEEPALIVE_MAX_MS = 3_600_000;

/**
 * Opens OK's sealed plaintext (RN -> EP control key, counter 0) and checks the announced values; the
 * same in both attachments (in the 1-RTT one it rides in HELLO_R).
 */
export function openOk(recv: OpeningDirection, sealed: Uint8Array): { maxFrame: number; keepaliveMs: number } {
  const pt = recv.open(decodeSealed(sealed, OK_SEALED_LENGTH, OK_SEALED_LENGTH, 'OK'), OK_AD);
  if (pt === null) throw new CryptoError('OK: sealed part does not authenticate', ErrorCode.CRYPTO_AEAD_OPEN);
  const ok = decodeOkInner(pt);
  // keepalive_ms above KEEPALIVE_MAX_MS is refused: past 2^31 - 1 a timer fires at once (node),
  // and an RN could make the EP PING every millisecond with idle detection off.
  if (ok.maxFrame < MIN_ANNOUNCED_MAX_FRAME || ok.maxFrame > MAX_ANNOUNCED_MAX_FRAME || ok.keepaliveMs < 100 || ok.keepaliveMs > KEEPALIVE_MAX_MS) {
    throw new ProtocolError(CommonCode.DECODE_VALUE, `OK: max_frame ${ok.maxFrame} / keepalive_ms ${ok.keepaliveMs} out of range`);
  }
  return ok;
}

/** EP side. hello() -> onHelloR() -> onOk(); any throw ends the attempt. */
export class AttachInitiator {
  private state: 'start' | 'hello-r' | 'ok' | 'done' = 'start';
  private readonly p: CryptoProvider;
  private readonly eph: KeyPair;
  private readonly helloPayload: Uint8Array;
  private prk: Uint8Array | null = null;
  private th2: Uint8Array | null = null;
  private rn: RnEntry | null = null;
  private rnPublicKey: Uint8Array | null = null;
  private sendDirection: SealingDirection | null = null;

  constructor(private readonly opts: AttachInitiatorOptions) {
    this.p = opts.trust.provider;
    this.eph = opts.ephemeral ?? this.p.x25519Generate();
    const nonceEp = opts.nonce ?? this.p.randomBytes(NONCE_LENGTH);
    this.helloPayload = encodeHello({ version: LINK_VERSION, ephEp: this.eph.publicKey, nonceEp });
  }

  private expect(s: AttachInitiator['state'], what: string): void {
    if (this.state !== s) throw new StateError(ErrorCode.HANDSHAKE_UNEXPECTED, `attach: ${what} in state ${this.state}`);
  }

  /** HELLO payload. */
  hello(): Uint8Array {
    this.expect('start', 'hello()');
    this.state = 'hello-r';
    return this.helloPayload;
  }

  /** Consumes HELLO_R, authenticates the RN, returns the AUTH payload. */
  onHelloR(payload: Uint8Array): Uint8Array {
    this.expect('hello-r', 'HELLO_R');
    this.state = 'done'; // any throw below leaves the machine unusable
    const p = this.p;
    const m = decodeHelloR(payload);
    const th0 = transcript0(p, this.helloPayload, m.ephRn, m.nonceRn);
    const prk = attachPrk(p, th0, p.x25519(this.eph.privateKey, m.ephRn));
    const hs = handshakeKeys(p, prk, th0);
    const inner = decodeHelloRInner(aeadOpen(p, hs.rn, m.sealed, th0, 'HELLO_R'));
    // Eligibility first (a lookup), then the signature (draft §11.1: only an RN in a currently
    // valid RN Set Statement is acceptable; a valid signature by any other key means nothing).
    const rn = this.opts.trust.requireEligibleRn(inner.rnPublicKey, this.opts.rnRole);
    if (!p.ed25519Verify(inner.rnPublicKey, rnSignatureInput(th0), inner.sigRn)) {
      throw new ValidationError(ErrorCode.SIG_INVALID, 'attach: the RN signature over the transcript does not verify');
    }
    // After the signature: the key named in the refusal is the one that answered, not a claim.
    const expect = this.opts.expectRn;
    if (expect !== undefined && !equal(expect.publicKey, inner.rnPublicKey)) {
      throw new ValidationError(
        ErrorCode.ATTACH_RN_MISMATCH,
        `attach: the RN at ${expect.address} has key ${toHex(inner.rnPublicKey).slice(0, 16)}…, not ${toHex(expect.publicKey).slice(0, 16)}…, the RN the RN Set Statement lists there`,
      );
    }
    const th1 = transcript1(p, th0, m.sealed);
    const sigEp = this.opts.signer.sign(epSignatureInput(th1, this.opts.pcertObjectId));
    const auth = aeadSeal(p, hs.ep, encodeAuthInner({ pcert: this.opts.pcert, sigEp }), th1);
    this.prk = prk;
    this.th2 = transcript2(p, th1, auth);
    this.rn = rn;
    this.rnPublicKey = inner.rnPublicKey;
    this.sendDirection = new SealingDirection(p, controlKeys(p, prk, this.th2).ep);
    this.state = 'ok';
    return auth;
  }

  /**
   * Once AUTH is made, the EP's control key is known (it does not depend on OK): CONTROL records may
   * follow AUTH at once (a JOIN behind AUTH, docs/PROFILE.md §Attachment), sealed by this direction,
   * which the attached channel keeps using. The RN is the one whose HELLO_R was authenticated.
   */
  afterAuth(): { readonly send: SealingDirection; readonly rnCid: Uint8Array } | undefined {
    return this.sendDirection === null || this.rn === null ? undefined : { send: this.sendDirection, rnCid: this.rn.cid };
  }

  /** Consumes OK (sealed under the RN control key, counter 0); returns the attached channel. */
  onOk(payload: Uint8Array): InitiatorResult {
    this.expect('ok', 'OK');
    this.state = 'done';
    const p = this.p;
    const ctl = controlKeys(p, this.prk!, this.th2!);
    const recv = new OpeningDirection(p, ctl.rn);
    const ok = openOk(recv, payload);
    return {
      rn: this.rn!,
      rnPublicKey: this.rnPublicKey!,
      maxFrame: ok.maxFrame,
      keepaliveMs: ok.keepaliveMs,
      channel: { send: this.sendDirection!, recv },
      attestation: attachAttestationContext(p, this.prk!, this.th2!),
    };
  }
}

interface AttachResponderOptions {
  readonly trust: ResponderTrust;
  /** The RN's Ed25519 identity key, created once per RN (not per HELLO). */
  readonly signer: Signer;
  readonly maxFrame: number;
  readonly keepaliveMs: number;
  readonly ephemeral?: KeyPair;
  readonly nonce?: Uint8Array;
}

export interface ResponderResult {
  readonly pcert: Valid<PCert>;
  readonly channel: LinkChannel;
  /** Nonce and binding the EP's attestation evidence must carry on this attachment. */
  readonly attestation: AttachAttestationContext;
}

/** RN side. onHello() -> onAuth(); any throw means REFUSED and close. */
export class AttachResponder {
  private state: 'hello' | 'auth' | 'done' = 'hello';
  private readonly p: CryptoProvider;
  private prk: Uint8Array | null = null;
  private th1: Uint8Array | null = null;
  private epHs: { key: Uint8Array; iv: Uint8Array } | null = null;

  constructor(private readonly opts: AttachResponderOptions) {
    this.p = opts.trust.provider;
  }

  /** Consumes HELLO, returns HELLO_R (one X25519 and one signature: callers rate-limit first). */
  onHello(payload: Uint8Array): Uint8Array {
    if (this.state !== 'hello') throw new StateError(ErrorCode.HANDSHAKE_UNEXPECTED, `attach: HELLO in state ${this.state}`);
    this.state = 'done';
    const p = this.p;
    const hello = decodeHello(payload);
    const eph = this.opts.ephemeral ?? p.x25519Generate();
    const nonceRn = this.opts.nonce ?? p.randomBytes(NONCE_LENGTH);
    const ss = p.x25519(eph.privateKey, hello.ephEp);
    const th0 = transcript0(p, payload, eph.publicKey, nonceRn);
    const prk = attachPrk(p, th0, ss);
    const hs = handshakeKeys(p, prk, th0);
    const signer = this.opts.signer;
    const inner = encodeHelloRInner({ rnPublicKey: signer.publicKey, sigRn: signer.sign(rnSignatureInput(th0)) });
    const sealed = aeadSeal(p, hs.rn, inner, th0);
    this.prk = prk;
    this.th1 = transcript1(p, th0, sealed);
    this.epHs = hs.ep;
    this.state = 'auth';
    return encodeHelloR({ ephRn: eph.publicKey, nonceRn, sealed });
  }

  /**
   * Consumes AUTH. Order: open (cheap AEAD), decode, PCert checks (TrustStore checks window, role,
   * issuer and revocation before any signature), refuse role `rn`, then verify sig_ep.
   * Returns the OK payload and the attached channel.
   */
  onAuth(payload: Uint8Array): { ok: Uint8Array; result: ResponderResult } {
    if (this.state !== 'auth') throw new StateError(ErrorCode.HANDSHAKE_UNEXPECTED, `attach: AUTH in state ${this.state}`);
    this.state = 'done';
    const p = this.p;
    const sealed = decodeSealed(payload, AUTH_SEALED_MIN, AUTH_SEALED_MAX, 'AUTH');
    const inner = decodeAuthInner(aeadOpen(p, this.epHs!, sealed, this.th1!, 'AUTH'));
    const pcert = this.opts.trust.validatePCert(inner.pcert);
    // An RN identity may not attach as an endpoint: it would be offered stitches it must never terminate.
    if (pcert.body.role === 'rn') throw new ValidationError(ErrorCode.PCERT_ROLE, 'attach: a PCert of role rn cannot attach as an endpoint');
    if (!p.ed25519Verify(pcert.body.publicKey, epSignatureInput(this.th1!, pcert.objectId), inner.sigEp)) {
      throw new ValidationError(ErrorCode.SIG_INVALID, 'attach: the EP signature over the transcript does not verify');
    }
    const th2 = transcript2(p, this.th1!, payload);
    const ctl = controlKeys(p, this.prk!, th2);
    const send = new SealingDirection(p, ctl.rn);
    const ok = send.seal(encodeOkInner({ maxFrame: this.opts.maxFrame, keepaliveMs: this.opts.keepaliveMs }), OK_AD);
    return { ok, result: { pcert, channel: { send, recv: new OpeningDirection(p, ctl.ep) }, attestation: attachAttestationContext(p, this.prk!, th2) } };
  }
}
