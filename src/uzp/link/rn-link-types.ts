// The shapes around an outbound RN link (rn-link.ts): its options, the OFFERs it surfaces, its
// events, and a JOIN awaiting the RN's answer.

import type { CodedError } from '../../lib/errors.js';
import type { Clock } from '../../lib/clock.js';
import type { InitiatorTrust } from './attach.js';
import type { Stitch } from './stitch.js';

export interface RnLinkOptions {
  /** "host:port" of the RN (from the RN Set Statement entry). */
  readonly address: string;
  readonly trust: InitiatorTrust;
  readonly identity: { readonly seed: Uint8Array; readonly pcert: Uint8Array };
  /** RN Set role the RN must be listed with; any listed RN when absent. */
  readonly rnRole?: string;
  /**
   * The public key of the RN whose RN Set Statement entry lists `address`: the RN that answers there
   * must be that one, or the attachment fails with ATTACH_RN_MISMATCH before AUTH (LinkManager always
   * sets it: otherwise two links of a pool "at distinct RNs" could reach one RN). Any eligible RN when absent.
   */
  readonly expectRn?: Uint8Array;
  /** Aborts the attachment (not the attached link: use close()). */
  readonly signal?: AbortSignal;
  /** Connect + attach deadline (default constants.ts DEFAULT_ATTACH_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /** PING interval; default: what the RN announced in OK. */
  readonly keepaliveMs?: number;
  /** No whole frame for this long = dead link (default 30 s or 3 keepalives, whichever is longer; a frame still arriving at LINK_MIN_BYTES_PER_S counts). */
  readonly idleTimeoutMs?: number;
  readonly joinTimeoutMs?: number;
  readonly clock?: Clock;
  /**
   * The 1-RTT attachment (docs/PROFILE.md §1-RTT attachment) where this process attached to the same
   * address before; falls back to the full attachment by itself. Default true.
   */
  readonly oneRtt?: boolean;
}

/** An OFFER from the RN: another EP joined us (draft §5.2 flight [2], CH1 forwarded). */
export interface Offer {
  readonly stitchId: number;
  readonly initiator: Uint8Array;
  readonly grant: Uint8Array;
  readonly ch1: Uint8Array;
  /**
   * The RN of the stitch: the one this link is attached to, or for an offer that crossed the
   * fabric (OFFER_VIA) the RN the initiator JOINed at — undefined unless it is eligible under our RN
   * Set Statement and revocations now.
   */
  readonly rn?: { readonly cid: Uint8Array; readonly publicKey: Uint8Array };
  accept(): Stitch;
  reject(): void;
}

export interface RnLinkEvents {
  offer: [Offer];
  /**
   * The RN sent DRAIN (draft §11.2 maintenance signalling, authenticated: sealed on this link's
   * control channel): it closes this link after `deadlineMs`. Stitches keep relaying until then.
   */
  drain: [deadlineMs: number];
  /**
   * The RN offered a signed artefact it holds (CONTROL ARTEFACT, draft §11.1): unverified envelope
   * bytes, for the listener to verify against its trust anchor and adopt only if newer.
   */
  artefact: [bytes: Uint8Array];
  close: [CodedError | undefined];
}
