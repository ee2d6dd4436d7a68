// Initiator (EP_I) handshake states (draft §5.2): start -> ExpectResponderFlight -> SessionKeys.
// CH1 carries EID_I (key shares), our PCert, the Grant's object_id and an Ed25519 signature binding the
// EID to our CID; the RN forwards it with the Grant to the responder ([1] -> [2]).

import { concat, equal, Writer } from '../bytes.js';
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
import { sealSessionKeys, type SessionKeys } from './keys.js';
import {
  decodeResponderFlight,
  decodeServerHello,
  encodeClientHelloBody,
  encodeFinished,
  EXT_EARLY_DATA,
  type HandshakeExtension,
} from './messages.js';
import { decodeEarlyAnswer, encodeEarlyCh1, encodeEarlyMessages, sealEarly, type EarlyMessage } from '../resumption/early-data.js';
import { earlyTrafficKey, resumptionMaster, ticketPsk } from '../resumption/early-keys.js';
import type { HeldTicket } from '../resumption/ticket-cache.js';
import { applicationSecrets, handshakeAd, handshakeSecrets, openHandshake, sealHandshake } from './schedule.js';
import { DEFAULT_OFFER, suiteById } from './suites.js';
import { CommonCode } from '../../lib/errors.js';
import { soon } from '../../lib/soon.js';

interface InitiatorOptions {
  readonly trust: HandshakeTrust;
  readonly identity: HandshakeIdentity;
  /** Responder CID. */
  readonly target: Uint8Array;
  /** The Grant envelope we present (the RN and the responder both validate it). */
  readonly grant: Uint8Array;
  readonly suites?: readonly number[];
  /** CH1 extensions (e.g. attestation evidence in EXT_ATTESTATION). */
  readonly extensions?: readonly HandshakeExtension[];
  /** 0-RTT (draft §9): ask the responder for a resumption ticket. */
  readonly askTicket?: boolean;
  /**
   * 0-RTT: what to send before the handshake ends, under a ticket of this responder and Grant
   * (`ticketFor` gets the Grant's object_id; asked only when the Grant allows early data).
   */
  readonly resume?: { readonly ticketFor: (grantId: Uint8Array) => HeldTicket | undefined; readonly early: readonly EarlyMessage[] };
}

interface InitiatorStart {
  readonly ch1: Uint8Array;
  /** What goes in the CH1 position of the JOIN: the CH1, or the EARLY_CH1 container with the early record. */
  readonly joinPayload: Uint8Array;
  /** Whether early data was sealed and sent. */
  readonly earlySent: boolean;
  /** object_id of the Grant (validated here): what tickets and continuity are bound to. */
  readonly grantId: Uint8Array;
  readonly next: ExpectResponderFlight;
}

/** Flight [3]/[4] processed: Finished_I to send, then the session keys (made on first use). */
export interface InitiatorResult {
  readonly finished: Uint8Array;
  readonly keys: SessionKeys;
  /** What the responder announced in EE, known before the keys are made (limits, continuity). */
  readonly peer: { readonly extensions: SessionKeys['peerExtensions']; readonly responderParams: SessionKeys['responderParams'] };
  readonly resumption: ResumptionResult;
}

/** What the responder said about 0-RTT in EE; `ticket` is ready for the TicketCache. */
export interface ResumptionResult {
  readonly earlyAccepted: boolean;
  readonly ticket?: { readonly ticket: Uint8Array; readonly psk: Uint8Array; readonly suite: number; readonly lifetimeS: number };
}

export function startInitiator(o: InitiatorOptions): InitiatorStart {
  const p = o.trust.provider;
  const suites = o.suites ?? DEFAULT_OFFER;
  for (const s of suites) if (suiteById(s) === undefined) throw new RangeError(`unknown suite 0x${s.toString(16)}`);
  // Sanity-check our own Grant so a misconfiguration fails here with a clear reason rather than
  // as an anonymous refusal from the RN. Nonce state is the verifiers' business, not ours.
  const grant = o.trust.validateGrant(o.grant, { audience: o.target, subject: o.identity.cid, nonce: 'ignore' });
  const x = p.x25519Generate();
  const kem = suites.some((s) => suiteById(s)!.hybrid) ? p.mlkem768Generate() : undefined;
  // Early data only under a Grant that allows it and with the ticket's suite on offer (its AEAD seals it).
  const ticket = o.resume !== undefined && o.resume.early.length > 0 && grant.body.earlyData && !grant.body.noReplay ? o.resume.ticketFor(grant.objectId) : undefined;
  const resume = ticket !== undefined && suites.includes(ticket.suite) ? { ticket, early: o.resume!.early } : undefined;
  const earlyExt: HandshakeExtension[] = resume !== undefined ? [{ type: EXT_EARLY_DATA, data: resume.ticket.ticket }] : o.askTicket === true ? [{ type: EXT_EARLY_DATA, data: new Uint8Array(0) }] : [];
  const body = encodeClientHelloBody({
    random: p.randomBytes(32),
    suites,
    x25519: x.publicKey,
    mlkem: kem?.publicKey ?? new Uint8Array(0),
    target: o.target,
    grantId: grant.objectId,
    pcert: o.identity.pcert,
    extensions: [...(o.extensions ?? []), ...earlyExt],
  });
  const signature = o.identity.signer.sign(signatureInput(CTX_EID_BINDING, body));
  const ch1 = concat(body, signature);
  // Our EID is needed once the responder's flight is in: made after the JOIN left, not in front of it.
  const eid = soon(() => eidOf(p, x.publicKey, kem?.publicKey ?? new Uint8Array(0)));
  const next = new ExpectResponderFlight(o, ch1, x.privateKey, kem?.privateKey, suites, eid, grant, resume !== undefined);
  if (resume === undefined) return { ch1, joinPayload: ch1, earlySent: false, grantId: grant.objectId, next };
  const aead = suiteById(resume.ticket.suite)!.aead;
  const sealed = sealEarly(p, aead, earlyTrafficKey(p, resume.ticket.psk, ch1), encodeEarlyMessages(resume.early));
  return { ch1, joinPayload: encodeEarlyCh1(ch1, sealed), earlySent: true, grantId: grant.objectId, next };
}

class ExpectResponderFlight {
  private used = false;
  constructor(
    private readonly o: InitiatorOptions,
    private readonly ch1: Uint8Array,
    private readonly x25519Private: Uint8Array,
    private readonly kemSecret: Uint8Array | undefined,
    private readonly offered: readonly number[],
    private readonly eid: () => Uint8Array,
    private readonly grant: SessionKeys['grant'],
    private readonly earlySent: boolean,
  ) {}

  /** Consumes flight [3]/[4]; returns Finished_I ([5]) to send, the session keys and the 0-RTT outcome. */
  receive(flight: Uint8Array): InitiatorResult {
    if (this.used) fail(ErrorCode.HANDSHAKE_UNEXPECTED, 'responder flight already processed', 'local');
    this.used = true;
    try {
      return this.process(flight);
    } catch (e) {
      throw stageError('responder-flight', e);
    }
  }

  private process(flight: Uint8Array): InitiatorResult {
    const { trust, target } = this.o;
    const p = trust.provider;
    const { hello, header } = decodeServerHello(flight);
    const suite = suiteById(hello.suite);
    if (suite === undefined || !this.offered.includes(hello.suite)) fail(ErrorCode.HANDSHAKE_NO_SUITE, `responder chose suite 0x${hello.suite.toString(16)} we did not offer`);
    if (suite.hybrid !== (hello.mlkemCipherText.length > 0)) fail(CommonCode.DECODE_VALUE, 'ML-KEM ciphertext presence does not match the suite');
    const x25519Shared = p.x25519(this.x25519Private, hello.x25519);
    const shared = suite.hybrid ? concat(p.mlkem768Decapsulate(hello.mlkemCipherText, this.kemSecret!), x25519Shared) : x25519Shared;
    const thSh = transcriptHash(p, this.ch1, header);
    const hs = handshakeSecrets(p, shared, thSh);
    const inner = openHandshake(p, suite.aead, hs.responder, handshakeAd(thSh, 1), hello.sealed);
    if (inner === null) fail(ErrorCode.CRYPTO_AEAD_OPEN, 'responder flight does not authenticate');
    const f = decodeResponderFlight(inner);
    // CERT_R: the responder must be exactly the CID we asked the RN for, never a substitute.
    const peerPCert = trust.validatePCert(f.cert.pcert, { cid: target });
    requireEndpointRole(peerPCert);
    const cvInput = signatureInput(CTX_RESPONDER_VERIFY, transcriptHash(p, this.ch1, header, f.eeBytes, f.certPcertBytes));
    if (!p.ed25519Verify(peerPCert.body.publicKey, cvInput, f.cert.signature)) fail(ErrorCode.SIG_INVALID, 'responder CertificateVerify does not verify');
    const expectedFin = p.hmacSha256(hs.responderFinishedKey, transcriptHash(p, this.ch1, header, f.eeBytes, f.certBytes));
    if (!equal(expectedFin, f.finished)) fail(ErrorCode.HANDSHAKE_FINISHED, 'responder Finished does not verify');
    const answerExt = f.ee.extensions.find((e) => e.type === EXT_EARLY_DATA);
    const answer = answerExt === undefined ? { accepted: false } : decodeEarlyAnswer(answerExt.data);
    if (answer.accepted && !this.earlySent) fail(ErrorCode.HANDSHAKE_UNEXPECTED, 'the responder accepted early data we did not send');
    const resumption: ResumptionResult = {
      earlyAccepted: answer.accepted,
      ...(answer.ticket === undefined
        ? {}
        : { ticket: { ticket: answer.ticket.ticket, psk: ticketPsk(p, resumptionMaster(p, hs.master, thSh), answer.ticket.ticketId), suite: suite.id, lifetimeS: answer.ticket.lifetimeS } }),
    };
    const thApp = transcriptHash(p, this.ch1, header, inner);
    const myFin = p.hmacSha256(hs.initiatorFinishedKey, thApp);
    const finished = encodeFinished(sealHandshake(p, suite.aead, hs.initiator, handshakeAd(thSh, 0), myFin));
    const responderParams = { maxBlockPlaintext: f.ee.maxBlockPlaintext, windowBlocks: f.ee.windowBlocks };
    // The session keys are made on first use: the caller sends Finished first, so that the responder
    // checks it while we make them (application secrets, the peer's EID, the block engine's keys).
    let keys: SessionKeys | undefined;
    const makeKeys = (): SessionKeys => (keys ??= this.sessionKeys(hs.master, thApp, hello, suite, peerPCert, responderParams, f.eeBytes, f.ee.extensions));
    return {
      finished,
      get keys() {
        return makeKeys();
      },
      peer: { extensions: f.ee.extensions, responderParams },
      resumption,
    };
  }

  private sessionKeys(
    master: Uint8Array,
    thApp: Uint8Array,
    hello: { readonly x25519: Uint8Array; readonly mlkemCipherText: Uint8Array },
    suite: SessionKeys['suite'],
    peerPCert: SessionKeys['peerPCert'],
    responderParams: SessionKeys['responderParams'],
    eeBytes: Uint8Array,
    peerExtensions: SessionKeys['peerExtensions'],
  ): SessionKeys {
    const { trust, identity, target } = this.o;
    const p = trust.provider;
    const app = applicationSecrets(p, master, thApp);
    const peerEid = eidOf(p, hello.x25519, hello.mlkemCipherText);
    return sealSessionKeys({
      role: 'initiator',
      suite,
      localCid: identity.cid,
      peerCid: target,
      localEid: this.eid(),
      peerEid,
      sendSecret: app.initiator,
      recvSecret: app.responder,
      adContext: concat(identity.cid, this.eid(), target, peerEid),
      direction: 0,
      exporterMaster: app.exporterMaster,
      exporterBinding: exporterBinding(p, identity.cid, target, suite.id, eeBytes),
      responderParams,
      peerPCert,
      grant: this.grant,
      peerExtensions,
    });
  }
}

/** draft §8: exporters incorporate both CIDs and the negotiated transport parameters. */
export function exporterBinding(p: HandshakeTrust['provider'], cidI: Uint8Array, cidR: Uint8Array, suite: number, eeBytes: Uint8Array): Uint8Array {
  return p.sha256(new Writer(100 + eeBytes.length).bytes(cidI).bytes(cidR).u16(suite).bytes(eeBytes).finish());
}
