// The shapes around an endpoint (endpoint.ts): the RN link and offer ports it drives, its options
// (trust, identity, limits, continuity, 0-RTT), what its responder policy hook sees, and connect()'s
// options.

import type { Clock } from '../lib/clock.js';
import type { Grant, PCert, Valid } from './artefacts/types.js';
import type { BlockLimits } from './blocks/engine.js';
import type { ContinuityTrust } from './continuity-responder.js';
import type { HandshakeIdentity, HandshakeTrust } from './handshake/common.js';
import type { TransportParams } from './handshake/keys.js';
import type { HandshakeExtension } from './handshake/messages.js';
import type { TicketCache } from './resumption/ticket-cache.js';
import type { TicketIssuer } from './resumption/ticket-issuer.js';
import type { LivenessOptions } from './session/liveness.js';
import type { StitchPort } from './session/session-types.js';

/** The part of an RN link the endpoint uses (src/uzp/link RnLink implements it). */
export interface LinkPort {
  /** `ch1` as a function: made for the RN the JOIN goes to (a continuity token binds it). */
  join(target: Uint8Array, grant: Uint8Array, ch1: Uint8Array | ((rn: Uint8Array) => Uint8Array), signal?: AbortSignal, prefer?: JoinPreference): Promise<StitchPort>;
  /**
   * CIDs of the RNs attached now, when the port holds several (a LinkPool): only such a port can
   * carry a standby stitch, which must go through another RN than the session's.
   */
  attachedRns?(): Uint8Array[];
  accept(): void;
  on(event: 'offer', cb: (offer: OfferPort) => void): unknown;
  off(event: 'offer', cb: (offer: OfferPort) => void): unknown;
}

/** Where a JOIN should go first: after a failover, not through the RN that just failed. */
export interface JoinPreference {
  readonly avoid?: Uint8Array;
  /** Never through this RN (a standby must not share the session's RN). */
  readonly exclude?: Uint8Array;
}

export interface OfferPort {
  readonly stitchId: number;
  readonly initiator: Uint8Array;
  readonly grant: Uint8Array;
  readonly ch1: Uint8Array;
  /** The RN that made the offer; absent on test links (continuity then is refused). */
  readonly rn?: { readonly cid: Uint8Array; readonly publicKey: Uint8Array };
  accept(): StitchPort;
  reject(): void;
}

/** What the responder's policy hook sees before it lets a session through (the HIL checks slot scope here). */
export interface IncomingSessionInfo {
  readonly initiator: Uint8Array;
  readonly initiatorPCert: Valid<PCert>;
  readonly grant: Valid<Grant>;
  readonly extensions: readonly HandshakeExtension[];
}

export interface EndpointOptions {
  readonly trust: HandshakeTrust;
  readonly identity: HandshakeIdentity;
  readonly link: LinkPort;
  readonly suites?: readonly number[];
  readonly params?: TransportParams;
  readonly limits?: Partial<BlockLimits>;
  readonly handshakeTimeoutMs?: number;
  /** Time source for handshake timeouts and for every session this endpoint makes; default systemClock. */
  readonly clock?: Clock;
  /** Responder policy hook; throw a UzpError to refuse (the initiator only learns "refused"). */
  readonly authorize?: (info: IncomingSessionInfo) => void;
  /** Extensions the responder puts into EE. */
  readonly responderExtensions?: readonly HandshakeExtension[];
  /**
   * Session continuity across RN loss and PoR liveness (draft §11-§12), announced as EXT_CONTINUITY
   * and used with peers that announce it too. The trust store is read at every re-stitch.
   */
  readonly continuity?: EndpointContinuity;
  /**
   * 0-RTT (draft §9), initiator: keeps the tickets responders issue (CH1 asks for them) and uses one
   * when connect() has early messages. Absent: no tickets, early messages go after the handshake.
   */
  readonly ticketCache?: TicketCache;
  /** 0-RTT, responder: issues tickets under Grants with `ed` and judges early data. Absent: neither. */
  readonly tickets?: TicketIssuer;
}

export interface EndpointContinuity {
  readonly trust: ContinuityTrust;
  /** How long a session waits in failover for a re-stitch (default 30 s). */
  readonly windowMs?: number;
  /** PoR timing; false: no PoR challenges from this side (it still answers). */
  readonly por?: LivenessOptions | false;
  /**
   * Standby stitches (EXT_STANDBY, default on): an initiator keeps a second verified stitch at
   * another attached RN and moves onto it without a JOIN when the first is lost; a responder holds it.
   */
  readonly standby?: boolean;
}

export interface ConnectOptions {
  readonly signal?: AbortSignal;
  readonly suites?: readonly number[];
  readonly extensions?: readonly HandshakeExtension[];
  /**
   * Messages to send before the handshake ends (0-RTT), one array per channel; the channels get ids
   * 1, 3, 5, … and are in `session.early`. They go as early data when a ticket of this responder and
   * Grant is held and the Grant allows it, and as ordinary data right after the handshake otherwise
   * (or when the responder does not take them). Only what may be replayed belongs here (draft §9).
   */
  readonly early?: readonly (readonly Uint8Array[])[];
}
