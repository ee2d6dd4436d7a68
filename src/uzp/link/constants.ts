// RN link wire constants (our profile of draft §4 / §11 attachment; the draft leaves bytes to
// profiles, §5.1) and implementation defaults, kept apart as wireguard-go keeps its constants.
// Every timeout and bound used by src/uzp/link and src/rn has its default here and nowhere else.

import { MAX_ENVELOPE_BYTES } from '../artefacts/constants.js';

// ---- wire constants (docs/PROFILE.md) ----

export const LINK_VERSION = 1;
/**
 * HELLO version of the 1-RTT attachment (docs/PROFILE.md §1-RTT attachment): the EP's identity goes
 * in its first flight, sealed to the RN's static key, so its JOIN can follow at once.
 */
export const LINK_VERSION_1RTT = 2;

/** Frame header: u32be length (type + payload) || u8 type. */
export const FRAME_HEADER_LENGTH = 5;

export const FrameType = {
  HELLO: 0x01,
  HELLO_R: 0x02,
  AUTH: 0x03,
  OK: 0x04,
  REFUSED: 0x05,
  CONTROL: 0x10,
  RELAY: 0x20,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const ControlKind = {
  ACCEPT: 0x01,
  JOIN: 0x02,
  OFFER: 0x03,
  JOINED: 0x04,
  JOIN_REFUSED: 0x05,
  UNSTITCH: 0x06,
  REJECT_OFFER: 0x07,
  PING: 0x08,
  PONG: 0x09,
  /** EP -> RN: attestation evidence bound to this attachment (docs/PROFILE.md §Control). */
  ATTEST: 0x0a,
  /**
   * RN -> EP: the RN is going away (maintenance, draft §11.2 "authenticated ... maintenance
   * signalling"): it closes this link after `deadline_ms`. Sealed, so only the attached RN can send it.
   */
  DRAIN: 0x0b,
  /**
   * RN -> EP: one signed artefact the RN holds (RN Set Statement, revocation list), offered right
   * after OK and whenever the RN adopts a newer one (draft §11.1). The EP verifies it against its
   * trust anchor and adopts it only if newer: the RN can withhold artefacts, never forge them.
   */
  ARTEFACT: 0x0c,
  /**
   * RN -> EP: an OFFER that crossed the rendezvous fabric (issue #16, UZPIF multi-hop): OFFER's
   * fields plus `via`, the CID of the RN the initiator JOINed through. Continuity tokens, RESUMED
   * and PoR name that RN on both sides (the initiator knows no other), so the responder's stitch
   * takes it as its RN (docs/PROFILE.md §Fabric).
   */
  OFFER_VIA: 0x0d,
} as const;
export type ControlKind = (typeof ControlKind)[keyof typeof ControlKind];

/** REFUSED codes: generic on purpose; the precise reason stays in the RN's local log (STYLE §3). */
export const RefusedCode = {
  REFUSED: 1,
  OVERLOADED: 2,
  /**
   * A 1-RTT HELLO this RN will not take now (its clock window, its strike register full, the
   * blackout after its start, or a key it does not hold): attach again with the full attachment.
   */
  FULL_ATTACH: 3,
} as const;

/**
 * JOIN_REFUSED codes. NOT_ATTESTED: the RN requires attestation evidence and the target's accepting
 * link has not presented valid attachment-bound evidence (yet). 5-8 say what is wrong with the
 * joiner's *own* Grant (it holds the Grant, so this tells it nothing about anyone else): outside its
 * window (expired, or not yet valid by the RN's clock), revoked (the Grant or an identity it names),
 * not for this joiner and target, stale (early data only). 1 covers the rest (signature, issuer, form).
 */
export const JoinRefusedCode = { REFUSED: 1, PEER_NOT_ATTACHED: 2, OVERLOADED: 3, NOT_ATTESTED: 4, GRANT_WINDOW: 5, GRANT_REVOKED: 6, GRANT_PARTIES: 7, GRANT_STALE: 8 } as const;

/** UNSTITCH codes. */
export const UnstitchCode = {
  /** One side closed the stitch on purpose. */
  CLOSED: 0,
  /** The other side's link to the RN went away. */
  PEER_GONE: 1,
  /** The target refused the OFFER. */
  REJECTED: 2,
  /** The RN tore the stitch down (shutdown, slow link, revocation). */
  RN: 3,
  /**
   * The other RN of a stitch across the fabric is gone: its NATS presence ended, it went silent,
   * or it is no longer eligible (docs/PROFILE.md §Fabric "Liveness of the far RN").
   */
  FAR_RN_GONE: 4,
} as const;

/** Transcript and signature labels of the attachment (SIGMA-I shape). */
export const ATTACH_TRANSCRIPT_LABEL = 'uzp-gw/1 attach';
export const ATTACH_SIG_RN = 'uzp-gw/1 attach-rn';
export const ATTACH_SIG_EP = 'uzp-gw/1 attach-ep';
/** expandLabel labels (keyschedule.ts adds the "uzp-gw/1 " prefix). One per direction and phase. */
export const LABEL_RN_HS = 'attach rn hs';
export const LABEL_EP_HS = 'attach ep hs';
export const LABEL_RN_CTL = 'attach rn ctl';
export const LABEL_EP_CTL = 'attach ep ctl';
/** Attachment-bound attestation values (attachAttestationContext): eat_nonce and binding claim. */
export const LABEL_ATTEST_NONCE = 'attach attest nonce';
export const LABEL_ATTEST_BINDING = 'attach attest binding';
/** Labels of the 1-RTT attachment (its transcript, the EP's signature, two keys of its own). */
export const ATTACH1_TRANSCRIPT_LABEL = 'uzp-gw/1 attach1';
export const ATTACH1_SIG_EP = 'uzp-gw/1 attach1-ep';
export const LABEL_EP_HS1 = 'attach1 ep hs';
export const LABEL_EP_EARLY = 'attach1 ep early';
export const ATTEST_NONCE_LENGTH = 16;
export const ATTEST_BINDING_LENGTH = 32;

export const NONCE_LENGTH = 32;
export const CID_LENGTH = 32;

/** Upper bounds of variable fields, far above anything valid, so junk cannot make us allocate. */
export const MAX_PCERT_BYTES = 8 * 1024;
export const MAX_GRANT_BYTES = 16 * 1024;
/** CH1 may carry an ML-KEM-768 share plus a PCert and extensions. */
export const MAX_CH1_BYTES = 64 * 1024;
/** ATTEST evidence: one artefact envelope (MAX_ENVELOPE_BYTES, src/uzp/artefacts/constants.ts). */
export const MAX_ATTEST_EVIDENCE_BYTES = MAX_ENVELOPE_BYTES;
/** ARTEFACT body: one artefact envelope. */
export const MAX_ARTEFACT_BYTES = MAX_ENVELOPE_BYTES;

// ---- implementation defaults ----

/** Frame cap before attachment completes: a stranger cannot make us buffer more than this. */
export const DEFAULT_MAX_FRAME_PREAUTH = 16 * 1024;
/** Frame cap after attachment (announced by the RN in OK). */
export const DEFAULT_MAX_FRAME = 256 * 1024;
/** Bounds the EP accepts for the RN's announced max_frame. */
export const MIN_ANNOUNCED_MAX_FRAME = DEFAULT_MAX_FRAME_PREAUTH;
export const MAX_ANNOUNCED_MAX_FRAME = 16 * 1024 * 1024;

/** PING interval (OpenZiti's heartbeat: 10 s, dead after 30 s). */
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** A link with no frame at all for this long is dead (EP) / idle and closed (RN). */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** A probe of a link whose path a session found dead (RnLink.probe): the RN answers a PING in ms. */
export const PROBE_TIMEOUT_MS = 1_000;
/**
 * Liveness counts whole frames, at both ends (docs/PROFILE.md §Liveness; the rule: liveness.ts):
 * bytes alone never keep a link up, or a peer that sends a frame header and then a byte now and then
 * held the link for good. A frame still arriving counts only while it grows at least this fast: a
 * RELAY frame of max_frame (256 KiB by default, up to 16 MiB announced) on a slow link takes longer
 * than the idle timeout or a probe, and is not cut while the link moves at 8 kbit/s or more.
 */
export const LINK_MIN_BYTES_PER_S = 1_024;
/** EP: TCP connect + HELLO..OK must finish within this. */
export const DEFAULT_ATTACH_TIMEOUT_MS = 10_000;
/**
 * RN: a 1-RTT HELLO's time_ep may be this far behind the RN's clock (replay window, draft §9 "bounded
 * validity")...
 */
export const ATTACH1_WINDOW_PAST_MS = 30_000;
/** ...and this far ahead of it. An EP whose clock is off by more attaches the full way. */
export const ATTACH1_WINDOW_FUTURE_MS = 5_000;
/**
 * EP: a 1-RTT HELLO made ahead (rn-keys.ts) is used while younger than this (a third of the RN's
 * past window: room for the trip and for clocks apart), and made this long after an attachment, when
 * the process is likely idle rather than in the middle of a handshake.
 */
export const ATTACH1_MADE_AHEAD_MAX_AGE_MS = 10_000;
export const ATTACH1_MADE_AHEAD_DELAY_MS = 25;
/**
 * RN: nonces of 1-RTT HELLOs taken within the window (the strike register). When full, 1-RTT HELLOs
 * are answered REFUSED 3 until entries expire: never a second use, at worst a slower attachment.
 */
export const ATTACH1_STRIKES_MAX = 65_536;
/** RN: an unauthenticated connection must reach OK within this. */
export const DEFAULT_PREAUTH_DEADLINE_MS = 5_000;
/** EP: JOIN must be answered (JOINED / JOIN_REFUSED) within this. */
export const DEFAULT_JOIN_TIMEOUT_MS = 10_000;

/** Reconnect backoff with full jitter (AWS architecture blog "Exponential Backoff And Jitter"). */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
/**
 * An attachment that stayed up this long resets the backoff, so the failover after an RN that was
 * working dies starts at the base delay. A few seconds rather than a minute (issue #11: with 60 s, a
 * gateway whose RN was killed took a median 9.4 s, up to 26.6 s, to move); still long enough that an
 * RN which accepts and drops at once is backed off (draft §11.2: avoid flapping).
 */
export const BACKOFF_STABLE_MS = 5_000;

/** EP: RELAY payloads buffered for an OFFER not yet accepted (the initiator may be quick). */
export const PENDING_OFFER_MAX_PAYLOADS = 64;

// ---- RN defaults ----

/** Per-source HELLO token bucket (WireGuard: 20 handshakes/s per source). */
export const RN_HELLO_RATE_PER_S = 20;
export const RN_HELLO_BURST = 40;
/** Sources remembered by the token bucket; the least recently seen is forgotten beyond this. */
export const RN_RATE_TABLE_MAX = 10_000;
/** Concurrent unauthenticated connections (DERP added an accept cap after connection floods). */
export const RN_MAX_PREAUTH = 256;
export const RN_MAX_LINKS = 10_000;
/**
 * Links one identity (CID) may hold attached at one RN. An EP's link pool holds one per RN; each
 * `uzpgw connect` process of an operator holds its own. Without a cap one identity (an operator
 * key that turned hostile) could take all RN_MAX_LINKS and lock every other EP out.
 */
export const RN_MAX_LINKS_PER_CID = 32;
/** Stitches one link may take part in; beyond, JOIN_REFUSED(overloaded). */
export const RN_MAX_STITCHES_PER_LINK = 1024;
/** Stitches one initiator (CID, all its links) may hold to one target link: an eighth of the target's. */
export const RN_MAX_STITCHES_PER_INITIATOR = 128;
/**
 * EP side: control frames written behind a full socket (no 'drain' since) before the link is closed.
 * Data writers stop at a full socket; a control frame answers the RN (PONG, UNSTITCH, REJECT_OFFER)
 * or leaves on a timer, so an RN that sends and never reads could otherwise grow our write buffer.
 */
export const LINK_CONTROL_BACKLOG_MAX = 1024;
/** Per-link outbound control queue: control is never dropped; overflow closes the slow link. */
export const RN_CONTROL_QUEUE_MAX = 256;
/** Per-link outbound data queue, drop-oldest (DERP keeps 32 packets per client). */
export const RN_DATA_QUEUE_MAX_FRAMES = 2048;
export const RN_DATA_QUEUE_MAX_BYTES = 4 * 1024 * 1024;
/** Longest the RN pauses a sending link for a congested receiver before drop-oldest takes over. */
export const RN_HOLD_MAX_MS = 1_000;
/** How often the RN looks for idle and pre-auth-expired connections. */
export const RN_SWEEP_MS = 1_000;
/** SIGTERM: how long the RN keeps serving attached links after sending DRAIN (`uzpgw rn --drain-ms`). */
export const RN_DRAIN_MS = 5_000;

// RN admission under load (docs/PROFILE.md §RN admission). Every table below is bounded.
/** Concurrent pre-auth connections one source (IPv4 address, IPv6 /64) may hold. */
export const RN_MAX_PREAUTH_PER_SOURCE = 8;
/** Per-source budget of new pre-auth connections (charged at accept, before any byte is read). */
export const RN_PREAUTH_RATE_PER_S = 40;
export const RN_PREAUTH_BURST = 80;
/** Share of the pre-auth table only sources with a recent successful AUTH may use (1/4). */
export const RN_PREAUTH_RESERVE_DIVISOR = 4;
/** A CID that attached from a source keeps it "known" this long after it was last seen attached. */
export const RN_KNOWN_SOURCE_TTL_MS = 10 * 60_000;
/** (CID, source) pairs remembered for that; the least recently seen is forgotten beyond this. */
export const RN_KNOWN_CIDS_MAX = 10_000;
/** A known source's buckets and pre-auth cap scale by 1 + its remembered CIDs, at most this. */
export const RN_KNOWN_SOURCE_FACTOR_MAX = 8;
