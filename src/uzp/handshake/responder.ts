// Responder (EP_R) handshake states (draft §5.2): respond(CH1') -> ExpectFinished -> SessionKeys.
// The responder validates the Grant itself — it never trusts the RN's check alone (draft §4.3, §9) —
// and checks that the Grant the RN forwarded is the one the initiator bound into CH1.

import type { Grant, PCert, Valid } from '../artefacts/types.js';
import { concat, equal } from '../bytes.js';
import { ErrorCode } from '../errors.js';
import { signatureInput } from '../signing.js';
import {
  CTX_EID_BINDING,
  CTX_RESPONDER_VERIFY,
  eidOf,
  fail,
  requireEndpointRole,
  stageError,
  transcriptHash,
  type HandshakeIdentity,
  type HandshakeTrust,
} from './common.js';
import { exporterBinding } from './initiator.js';
import { sealSessionKeys, type SessionKeys, type TransportParams } from './keys.js';
import {
  decodeClientHello,
  decodeFinished,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeServerHello,
  encodeServerHelloHeader,
  EXT_EARLY_DATA,
  type HandshakeExtension,
} from './messages.js';
import { encodeEarlyAnswer, type EarlyMessage } from '../resumption/early-data.js';
import { resumptionMaster } from '../resumption/early-keys.js';
import type { TicketIssuer } from '../resumption/ticket-issuer.js';
import { applicationSecrets, handshakeAd, handshakeSecrets, openHandshake, sealHandshake } from './schedule.js';
import { DEFAULT_RESPONDER_PREFERENCE, suiteById } from './suites.js';
import { CommonCode } from '../../lib/errors.js';
import { soon } from '../../lib/soon.js';
import { CloseCode } from '../blocks/constants.js';
import { sealLoneClose } from '../blocks/lone-close.js';

interface ResponderOptions {
  readonly trust: HandshakeTrust;
  readonly identity: HandshakeIdentity;
  /** Our preference order; the first one the initiator also offered wins (downgrades are caught by CV and FIN). */
  readonly suites?: readonly number[];
  readonly params: TransportParams;
  readonly extensions?: readonly HandshakeExtension[];
  /** 0-RTT (draft §9): issues tickets and judges early data; absent, neither is done. */
  readonly tickets?: TicketIssuer;
}

/** What the RN forwarded: flight [2] plus the Grant from the Join and the initiator CID it attached. */
interface IncomingJoin {
  readonly initiator: Uint8Array;
  readonly grant: Uint8Array;
  readonly ch1: Uint8Array;
  /** The early record of an EARLY_CH1 container (resumption/early-data.ts), if one came. */
  readonly early?: Uint8Array;
}

interface ResponderReply {
  readonly flight: Uint8Array;
  readonly next: ExpectFinished;
  readonly grant: Valid<Grant>;
  readonly initiatorPCert: Valid<PCert>;
  readonly initiatorExtensions: readonly HandshakeExtension[];
  /** Early messages taken (0-RTT), to deliver once the session exists; `refused` says why early data that came was not. */
  readonly early: { readonly messages: readonly EarlyMessage[]; readonly refused?: string };
}

export function respond(o: ResponderOptions, join: IncomingJoin): ResponderReply {
  try {
    return respondInner(o, join);
  } catch (e) {
    throw stageError('ch1', e);
  }
}

function respondInner(o: ResponderOptions, join: IncomingJoin): ResponderReply {
  const { trust, identity } = o;
  const p = trust.provider;
  // Cheap checks first: decode, addressing, suite overlap — before any signature or DH.
  const { hello, signedPart } = decodeClientHello(join.ch1);
  if (!equal(hello.target, identity.cid)) fail(ErrorCode.GRANT_AUDIENCE, 'CH1 is addressed to another CID');
  const prefs = o.suites ?? DEFAULT_RESPONDER_PREFERENCE;
  const chosen = prefs.find((s) => hello.suites.includes(s));
  const suite = chosen === undefined ? undefined : suiteById(chosen);
  if (suite === undefined) fail(ErrorCode.HANDSHAKE_NO_SUITE, 'no cipher suite in common', 'incompatible');
  if (suite.hybrid && hello.mlkem.length === 0) fail(CommonCode.DECODE_VALUE, 'hybrid suite offered without an ML-KEM share');
  const initiatorPCert = trust.validatePCert(hello.pcert, { cid: join.initiator });
  requireEndpointRole(initiatorPCert);
  const grant = trust.validateGrant(join.grant, { audience: identity.cid, subject: join.initiator });
  if (!equal(grant.objectId, hello.grantId)) fail(ErrorCode.GRANT_SCOPE, 'the Grant forwarded by the RN is not the one bound in CH1');
  if (!p.ed25519Verify(initiatorPCert.body.publicKey, signatureInput(CTX_EID_BINDING, signedPart), hello.signature)) {
    fail(ErrorCode.SIG_INVALID, 'CH1 EID binding signature does not verify');
  }

  const x = p.x25519Generate();
  const x25519Shared = p.x25519(x.privateKey, hello.x25519);
  let shared = x25519Shared;
  let mlkemCipherText: Uint8Array = new Uint8Array(0);
  if (suite.hybrid) {
    const enc = p.mlkem768Encapsulate(hello.mlkem);
    mlkemCipherText = enc.cipherText;
    shared = concat(enc.sharedSecret, x25519Shared);
  }
  const random = p.randomBytes(32);
  const header = encodeServerHelloHeader({ random, suite: suite.id, x25519: x.publicKey, mlkemCipherText });
  const thSh = transcriptHash(p, join.ch1, header);
  const hs = handshakeSecrets(p, shared, thSh);

  const ticketExt = hello.extensions.find((e) => e.type === EXT_EARLY_DATA);
  const decision =
    o.tickets === undefined || ticketExt === undefined
      ? undefined
      : o.tickets.decide({ ext: ticketExt.data, ch1: join.ch1, early: join.early, suite, grant, grantBytes: join.grant, trust, initiator: join.initiator, responder: identity.cid, resMaster: resumptionMaster(p, hs.master, thSh) });
  const early = decision ?? { messages: [], ...(join.early !== undefined ? { refused: o.tickets === undefined ? 'this responder takes no early data' : 'early data without a ticket' } : {}) };
  const extensions = [...(o.extensions ?? []), ...(decision === undefined ? [] : [{ type: EXT_EARLY_DATA, data: encodeEarlyAnswer(decision.answer) }])];
  const eeBytes = encodeEncryptedExtensions({ ...o.params, extensions });
  const certNoSig = encodeCertificateVerify({ pcert: identity.pcert, signature: new Uint8Array(64) }).subarray(0, 2 + identity.pcert.length);
  const cv = identity.signer.sign(signatureInput(CTX_RESPONDER_VERIFY, transcriptHash(p, join.ch1, header, eeBytes, certNoSig)));
  const certBytes = concat(certNoSig, cv);
  const fin = p.hmacSha256(hs.responderFinishedKey, transcriptHash(p, join.ch1, header, eeBytes, certBytes));
  const inner = concat(eeBytes, certBytes, fin);
  const sealed = sealHandshake(p, suite.aead, hs.responder, handshakeAd(thSh, 1), inner);
  const flight = encodeServerHello({ random, suite: suite.id, x25519: x.publicKey, mlkemCipherText, sealed });

  // What Finished_I is checked against and the session keys: needed when Finished_I arrives, a round
  // trip from now, so made after the flight has left (soon), not in front of it.
  const settle = soon(() => {
    const thApp = transcriptHash(p, join.ch1, header, inner);
    const app = applicationSecrets(p, hs.master, thApp);
    const initiatorEid = eidOf(p, hello.x25519, hello.mlkem);
    const myEid = eidOf(p, x.publicKey, mlkemCipherText);
    const keys = sealSessionKeys({
      role: 'responder',
      suite,
      localCid: identity.cid,
      peerCid: join.initiator,
      localEid: myEid,
      peerEid: initiatorEid,
      sendSecret: app.responder,
      recvSecret: app.initiator,
      adContext: concat(join.initiator, initiatorEid, identity.cid, myEid),
      direction: 1,
      exporterMaster: app.exporterMaster,
      exporterBinding: exporterBinding(p, join.initiator, identity.cid, suite.id, eeBytes),
      responderParams: o.params,
      peerPCert: initiatorPCert,
      grant,
      peerExtensions: hello.extensions,
    });
    return { keys, expectedFin: p.hmacSha256(hs.initiatorFinishedKey, thApp) };
  });
  return {
    flight,
    next: new ExpectFinished(p, suite.aead, hs.initiator, handshakeAd(thSh, 0), settle),
    grant,
    initiatorPCert,
    initiatorExtensions: hello.extensions,
    early,
  };
}

class ExpectFinished {
  private used = false;
  constructor(
    private readonly p: HandshakeTrust['provider'],
    private readonly aead: 'chacha20-poly1305' | 'aes-256-gcm',
    private readonly secret: Uint8Array,
    private readonly ad: Uint8Array,
    /** The session keys and the expected Finished_I MAC, made soon after the flight left. */
    private readonly settle: () => { readonly keys: SessionKeys; readonly expectedFin: Uint8Array },
  ) {}

  /**
   * 0-RTT only: the session keys before Finished_I, so that early data the handshake took can be
   * answered at once (0.5-RTT, as a TLS 1.3 server does). The initiator is known by its PCert, the
   * CH1 signature and the ticket's PSK; Finished_I, when it comes, must still verify (receive()),
   * and the endpoint ends the session if it does not.
   */
  keysBeforeFinished(): SessionKeys {
    return this.settle().keys;
  }

  /** Consumes Finished_I ([6]); only now does the responder hold usable session keys. */
  receive(b: Uint8Array): SessionKeys {
    if (this.used) throw stageError('finished', new Error('Finished already processed'));
    this.used = true;
    try {
      const sealed = decodeFinished(b);
      const mac = openHandshake(this.p, this.aead, this.secret, this.ad, sealed);
      const { keys, expectedFin } = this.settle();
      if (mac === null || !equal(mac, expectedFin)) fail(ErrorCode.HANDSHAKE_FINISHED, 'initiator Finished does not verify');
      return keys;
    } catch (e) {
      throw stageError('finished', e);
    }
  }

  /**
   * After a Finished that did not verify: CLOSE PROTOCOL_VIOLATION sealed as our data block 0, for
   * the initiator, which already holds its session keys. Only the holder of the EID private key can
   * open it, and it says nothing but the generic code; the keys themselves never leave this state.
   */
  violationBlock(): Uint8Array {
    const k = this.settle().keys;
    return sealLoneClose(this.p, { aead: k.suite.aead, sendSecret: k.sendSecret, adContext: k.adContext, direction: k.direction }, CloseCode.PROTOCOL_VIOLATION);
  }
}
