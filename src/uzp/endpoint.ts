// The small session API the HIL builds on: open a session to a peer CID with a Grant, or accept
// sessions offered by the RN; then any number of channels over each session.
// This file wires handshake states (./handshake), the association state (draft §4.2) and the
// block-driven Session onto an RN link; it holds no crypto of its own. Its handshake timeouts and
// the sessions it makes run on the injected Clock. The ports and options it takes are in
// endpoint-types.ts.

import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../lib/clock.js';
import { BASELINE_BLOCK_PLAINTEXT, withDefaults } from './blocks/limits.js';
import type { BlockLimits } from './blocks/engine.js';
import { MIN_BLOCK_PLAINTEXT } from './blocks/constants.js';
import { CH1_PRESENTATIONS_MAX, Ch1Replays } from './handshake/ch1-replays.js';
import type { CryptoProvider } from './crypto/provider.js';
import { ErrorCode, ProtocolError, UzpError } from './errors.js';
import { startInitiator } from './handshake/initiator.js';
import { EXT_CONTINUITY, EXT_STANDBY, type HandshakeExtension } from './handshake/messages.js';
import { keepStandby, keepStitched, RESTITCH_ATTEMPT_MS, type RestitchContext } from './continuity-initiator.js';
import { ResumeRegistry } from './continuity-responder.js';
import { isContinuityToken, CONTINUITY_VERSION } from './session/continuity.js';
import { DEFAULT_CONTINUITY_WINDOW_MS, type SessionContinuityOptions } from './session/failover.js';
import { DEFAULT_POR_INTERVAL_MS, DEFAULT_POR_TIMEOUT_MS } from './session/liveness.js';
import { respond } from './handshake/responder.js';
import type { TransportParams } from './handshake/keys.js';
import { Association } from './session/association.js';
import { Session, type StitchPort } from './session/session.js';
import { decodeEarlyCh1, EARLY_CH1 } from './resumption/early-data.js';
import { earlyMessagesOf, earlySession, openEarlyChannels } from './resumption/early-session.js';

export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * Responder handshakes waiting for the initiator's Finished at once, beyond which an OFFER is
 * refused before any work: an RN sees every JOIN's Grant and CH1, and replaying one OFFER under
 * fresh stitch ids cost a verify, a key agreement and a signature each, and held its state for
 * HANDSHAKE_TIMEOUT_MS (14,200 of them, +130 MB, in a review's test).
 */
export const MAX_PENDING_HANDSHAKES = 256;

import type { ConnectOptions, EndpointOptions, OfferPort } from './endpoint-types.js';

export type { ConnectOptions, EndpointContinuity, EndpointOptions, IncomingSessionInfo, JoinPreference, LinkPort, OfferPort } from './endpoint-types.js';

export class Endpoint extends EventEmitter {
  private accepting = false;
  /** Responder handshakes waiting for the initiator's Finished (MAX_PENDING_HANDSHAKES). */
  private pendingHandshakes = 0;
  /** CH1s offered to us, counted: a replayed OFFER is refused before the handshake's work. */
  private readonly ch1Replays = new Ch1Replays();
  private readonly onOffer = (offer: OfferPort): void => this.handleOffer(offer);
  private readonly resumable: ResumeRegistry | undefined;
  /** Our block limits, the defaults overlaid with the options' (the options never change). */
  private readonly own: BlockLimits;
  /**
   * Our block limits as a responder: blocks no larger than every initiator accepts, since an
   * initiator announces nothing (docs/PROFILE.md §End-to-end handshake, transport parameters).
   */
  private readonly responderLimits: Partial<BlockLimits>;
  /** What we announce as a responder: our real receive limits. */
  private readonly responderParams: TransportParams;

  constructor(private readonly o: EndpointOptions) {
    super();
    this.resumable = o.continuity === undefined ? undefined : new ResumeRegistry(o.continuity.trust, o.identity.cid, this.clock);
    this.own = withDefaults(o.limits);
    this.responderLimits = { ...o.limits, maxBlockPlaintext: Math.min(this.own.maxBlockPlaintext, BASELINE_BLOCK_PLAINTEXT) };
    this.responderParams = o.params ?? announcedParams(o.limits);
  }

  /** Our continuity extension, when we offer continuity. */
  private continuityExt(): HandshakeExtension[] {
    const c = this.o.continuity;
    if (c === undefined) return [];
    const version = Uint8Array.of(CONTINUITY_VERSION);
    return c.standby === false ? [{ type: EXT_CONTINUITY, data: version }] : [{ type: EXT_CONTINUITY, data: version }, { type: EXT_STANDBY, data: version }];
  }

  /** Standby stitches when continuity is on and both sides announced EXT_STANDBY version 1. */
  private standbyAgreed(peerExtensions: readonly HandshakeExtension[]): boolean {
    const peer = peerExtensions.find((e) => e.type === EXT_STANDBY);
    return this.o.continuity?.standby !== false && peer !== undefined && peer.data.length >= 1 && peer.data[0] === CONTINUITY_VERSION;
  }

  /** Session continuity options when both sides announced EXT_CONTINUITY. */
  private sessionContinuity(peerExtensions: readonly HandshakeExtension[]): SessionContinuityOptions | undefined {
    const c = this.o.continuity;
    const peer = peerExtensions.find((e) => e.type === EXT_CONTINUITY);
    if (c === undefined || peer === undefined || peer.data.length < 1 || peer.data[0] !== CONTINUITY_VERSION) return undefined;
    const por = c.por === undefined ? { intervalMs: DEFAULT_POR_INTERVAL_MS, timeoutMs: DEFAULT_POR_TIMEOUT_MS } : c.por;
    return { windowMs: c.windowMs ?? DEFAULT_CONTINUITY_WINDOW_MS, por, skewMs: c.trust.skewSeconds * 1000 };
  }

  private get provider(): CryptoProvider {
    return this.o.trust.provider;
  }

  private get clock(): Clock {
    return this.o.clock ?? systemClock;
  }

  /** Initiator: Join through the RN with the Grant, run the handshake, return a stitched session. */
  async connect(target: Uint8Array, grant: Uint8Array, opts: ConnectOptions = {}): Promise<Session> {
    const assoc = new Association();
    assoc.to('pending');
    try {
      const cache = this.o.ticketCache;
      const { joinPayload, grantId, next } = startInitiator({
        trust: this.o.trust,
        identity: this.o.identity,
        target,
        grant,
        suites: opts.suites ?? this.o.suites,
        extensions: [...(opts.extensions ?? []), ...this.continuityExt()],
        askTicket: cache !== undefined,
        ...(cache !== undefined ? { resume: { ticketFor: (id: Uint8Array) => cache.take(target, id), early: earlyMessagesOf(opts.early) } } : {}),
      });
      const stitch = await this.o.link.join(target, grant, joinPayload, opts.signal);
      const flight = await firstPayload(stitch, this.clock, this.o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS, opts.signal);
      let result;
      try {
        result = next.receive(flight.payload);
      } catch (e) {
        stitch.close();
        throw e;
      }
      assoc.to('authenticated');
      const continuity = this.sessionContinuity(result.peer.extensions);
      const limits = this.initiatorLimits(result.peer.responderParams); // may refuse the responder: before Finished
      // Finished leaves before the session keys are made and the session is built (~0.3 ms of key
      // schedule and engine set-up), so the responder verifies it and builds its own meanwhile.
      stitch.send(result.finished);
      stitch.flush?.();
      const session = new Session({ provider: this.provider, keys: result.keys, association: assoc, limits, clock: this.clock, ...(continuity ? { continuity } : {}) });
      const t = result.resumption.ticket;
      if (cache !== undefined && t !== undefined) cache.put(target, grantId, { ticket: t.ticket, psk: t.psk, suite: t.suite }, t.lifetimeS);
      assoc.to('stitched');
      session.attach(stitch);
      if (opts.early !== undefined && opts.early.length > 0) openEarlyChannels(session, opts.early, result.resumption.earlyAccepted);
      // On the next turn, when the caller holds the session: replies to early data (0.5-RTT) may have
      // come with the flight, and their 'message' events must find the caller's listeners. Blocks
      // that overtake them meanwhile are reordered by the block engine.
      if (flight.extra.length > 0) setImmediate(() => flight.extra.forEach((p) => session.receive(p)));
      const c = this.o.continuity;
      if (continuity !== undefined && c !== undefined) {
        const ctx: RestitchContext = {
          provider: this.provider,
          clock: this.clock,
          link: this.o.link,
          target,
          grant,
          grantId,
          rnSet: () => c.trust.rnSet,
          timeoutMs: Math.min(this.o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS, RESTITCH_ATTEMPT_MS),
          trust: c.trust,
          localCid: this.o.identity.cid,
        };
        keepStitched(session, ctx);
        if (this.standbyAgreed(result.peer.extensions)) keepStandby(session, ctx);
      }
      return session;
    } catch (e) {
      assoc.close();
      throw e;
    }
  }

  /**
   * Our block limits as an initiator, clamped to what the responder announced in EE: blocks no
   * larger than it accepts, no more in flight than it buffers.
   */
  private initiatorLimits(p: TransportParams): Partial<BlockLimits> {
    if (p.maxBlockPlaintext < MIN_BLOCK_PLAINTEXT || p.windowBlocks < 1) {
      throw new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, `responder transport parameters out of range (block ${p.maxBlockPlaintext}, window ${p.windowBlocks})`);
    }
    return { ...this.o.limits, maxBlockPlaintext: Math.min(this.own.maxBlockPlaintext, p.maxBlockPlaintext), sendWindowBlocks: Math.min(this.own.sendWindowBlocks, p.windowBlocks) };
  }

  /** Responder: tell the RN we accept stitches and emit 'session' for each authenticated one. */
  accept(): void {
    if (this.accepting) return;
    this.accepting = true;
    this.o.link.on('offer', this.onOffer);
    this.o.link.accept();
  }

  stopAccepting(): void {
    this.accepting = false;
    this.o.link.off('offer', this.onOffer);
  }

  private handleOffer(offer: OfferPort): void {
    if (isContinuityToken(offer.ch1)) return this.handleResume(offer);
    if (this.pendingHandshakes >= MAX_PENDING_HANDSHAKES) {
      offer.reject();
      this.refuse(new ProtocolError(ErrorCode.HANDSHAKES_PENDING, `${MAX_PENDING_HANDSHAKES} handshakes already wait for their Finished`), offer);
      return;
    }
    const assoc = new Association();
    assoc.to('pending');
    let reply;
    try {
      const { ch1, early } = offer.ch1[0] === EARLY_CH1 ? decodeEarlyCh1(offer.ch1) : { ch1: offer.ch1, early: undefined };
      // Before any cryptography: a CH1 offered more often than an initiator would (ch1-replays.ts).
      if (!this.ch1Replays.admit(this.provider.sha256(ch1))) throw new ProtocolError(ErrorCode.HANDSHAKE_REPLAYED, `a CH1 offered more than ${CH1_PRESENTATIONS_MAX} times (an RN replaying a captured JOIN)`);
      reply = respond(
        { trust: this.o.trust, identity: this.o.identity, suites: this.o.suites, params: this.responderParams, extensions: [...(this.o.responderExtensions ?? []), ...this.continuityExt()], ...(this.o.tickets !== undefined ? { tickets: this.o.tickets } : {}) },
        { initiator: offer.initiator, grant: offer.grant, ch1, ...(early !== undefined ? { early } : {}) },
      );
      this.o.authorize?.({ initiator: offer.initiator, initiatorPCert: reply.initiatorPCert, grant: reply.grant, extensions: reply.initiatorExtensions });
    } catch (e) {
      assoc.close();
      offer.reject();
      this.refuse(toUzpError(e), offer);
      return;
    }
    // With the RN that made the offer, as 'refused': the gateway bounds these lines per RN too.
    if (reply.early.refused !== undefined) this.emit('early-refused', reply.early.refused, offer.initiator, offer.rn?.cid);
    if (reply.early.messages.length > 0) return this.acceptEarly(offer, assoc, reply);
    const stitch = offer.accept();
    // Counted until the handshake ends, whichever way (pendingHandshakes).
    this.pendingHandshakes++;
    let counted = true;
    const ended = (): void => {
      if (counted) this.pendingHandshakes--;
      counted = false;
    };
    const cancelTimeout = this.clock.setTimeout(() => {
      ended();
      assoc.close();
      stitch.close();
      this.refuse(new ProtocolError(ErrorCode.HANDSHAKE_TIMEOUT, 'no Finished from the initiator in time'), offer);
    }, this.o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    let session: Session | undefined;
    stitch.onClose(() => {
      ended();
      if (session === undefined) {
        cancelTimeout();
        assoc.close();
      }
    });
    stitch.onPayload((payload) => {
      if (session !== undefined) return session.receive(payload);
      if (assoc.state !== 'pending') return;
      ended();
      cancelTimeout();
      let keys;
      try {
        keys = reply.next.receive(payload);
      } catch (e) {
        assoc.close();
        // The initiator is stitched already: it hears CLOSE PROTOCOL_VIOLATION, then UNSTITCH.
        stitch.send(reply.next.violationBlock());
        stitch.close();
        this.refuse(toUzpError(e), offer);
        return;
      }
      try {
        assoc.to('authenticated');
        const continuity = this.sessionContinuity(reply.initiatorExtensions);
        session = new Session({ provider: this.provider, keys, association: assoc, limits: this.responderLimits, clock: this.clock, ...(continuity ? { continuity } : {}) });
        assoc.to('stitched');
        session.attach(stitch);
        this.resumable?.add(session, reply.grant, continuity !== undefined && this.standbyAgreed(reply.initiatorExtensions));
        this.emit('session', session, { grant: reply.grant, initiatorPCert: reply.initiatorPCert, extensions: reply.initiatorExtensions });
      } catch (e) {
        assoc.close();
        stitch.close();
        this.refuse(toUzpError(e), offer);
      }
    });
    stitch.send(reply.flight);
  }

  /** The handshake took early data (0-RTT): the session starts before Finished_I (early-session.ts). */
  private acceptEarly(offer: OfferPort, association: Association, reply: ReturnType<typeof respond>): void {
    const stitch = offer.accept();
    stitch.send(reply.flight);
    // The flight leaves now: the initiator verifies it while this side builds the early session and
    // hands the early data over (~0.3 ms), instead of after (issue #14's 0-RTT path).
    stitch.flush?.();
    const continuity = this.sessionContinuity(reply.initiatorExtensions);
    const session = earlySession({
      provider: this.provider,
      keys: reply.next.keysBeforeFinished(),
      association,
      limits: this.responderLimits,
      clock: this.clock,
      ...(continuity ? { continuity } : {}),
      stitch,
      timeoutMs: this.o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
      verifyFinished: (fin) => void reply.next.receive(fin),
      onRefused: (e) => this.refuse(e, offer),
    });
    this.resumable?.add(session, reply.grant, continuity !== undefined && this.standbyAgreed(reply.initiatorExtensions));
    this.emit('session', session, { grant: reply.grant, initiatorPCert: reply.initiatorPCert, extensions: reply.initiatorExtensions, early: true });
    session.deliverEarly(reply.early.messages);
  }

  /**
   * 'refused' with the error, the initiator CID the OFFER named, and the RN that made the offer
   * when known: the gateway bounds its log lines per RN (src/lib/repeat-limiter.ts), since the
   * initiator CID is only the RN's word until the handshake checks it.
   */
  private refuse(e: UzpError, offer: OfferPort): void {
    this.emit('refused', e, offer.initiator, offer.rn?.cid);
  }

  /** A RESUME in the CH1 position: re-stitch one of our sessions (continuity-responder.ts) or refuse. */
  private handleResume(offer: OfferPort): void {
    if (this.resumable === undefined) {
      offer.reject();
      this.refuse(new ProtocolError(ErrorCode.CONTINUITY_REFUSED, 'a RESUME arrived but this endpoint does not do continuity'), offer);
      return;
    }
    try {
      this.emit('resumed', this.resumable.resume(offer));
    } catch (e) {
      this.refuse(toUzpError(e), offer);
    }
  }
}

/**
 * The transport parameters a responder announces in EE: the largest block plaintext it accepts and
 * its receive buffer (docs/PROFILE.md §Session states; 65,536 and 64 with the default limits).
 */
export function announcedParams(limits?: Partial<BlockLimits>): TransportParams {
  const own = withDefaults(limits);
  return { maxBlockPlaintext: own.acceptBlockPlaintext, windowBlocks: own.recvBufferBlocks };
}

function toUzpError(e: unknown): UzpError {
  return e instanceof UzpError ? e : new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, String(e), 'local', { cause: e });
}

/** Wait for the responder's flight; payloads that arrive with it (none expected) are kept in order. */
function firstPayload(stitch: StitchPort, clock: Clock, timeoutMs: number, signal?: AbortSignal): Promise<{ payload: Uint8Array; extra: Uint8Array[] }> {
  return new Promise((resolve, reject) => {
    const extra: Uint8Array[] = [];
    let first: Uint8Array | undefined;
    let settled = false;
    const done = (err?: Error): void => {
      if (settled) return;
      settled = true;
      cancelTimer();
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        // Settle before closing: a stitch may report its close synchronously, and that report
        // must not turn a timeout or an abort into "refused".
        reject(err);
        stitch.close();
      } else resolve({ payload: first!, extra });
    };
    const onAbort = (): void => done(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
    const cancelTimer = clock.setTimeout(() => done(new ProtocolError(ErrorCode.HANDSHAKE_TIMEOUT, `no responder flight within ${timeoutMs} ms`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    stitch.onPayload((p) => {
      if (first === undefined) {
        first = p;
        done();
      } else extra.push(p);
    });
    stitch.onClose((e) => {
      if (first === undefined) done(new ProtocolError(ErrorCode.HANDSHAKE_REFUSED, `the session was refused${e ? ` (${e.message})` : ''}`, 'policy'));
    });
  });
}
