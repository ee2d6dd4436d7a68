// RN counters: what an operator (and a test) needs to see that relaying works and why frames
// were dropped, without the RN ever looking inside a payload (draft §11: metadata only).

type DropReason =
  /** RELAY for a stitch the sending link is not part of. */
  | 'foreign_stitch'
  /** RELAY too short to carry a stitch id. */
  | 'malformed_relay'
  /** Oldest data frame dropped because the receiving link could not keep up. */
  | 'queue_overflow';

/**
 * Attachments refused. At accept (socket cut, no byte sent; src/rn/admission.ts): `preauth_budget`
 * (the source's accept budget is spent), `preauth_source_cap` (the source holds its share of
 * pre-auth slots), `preauth_cap` (the table is full and the newcomer may evict no one). After HELLO
 * (REFUSED 2): `rate_limited` (HELLO bucket), `link_cap`; after AUTH, `cid_link_cap` (REFUSED 2: the
 * identity already holds RN_MAX_LINKS_PER_CID links here). After AUTH: `attach_failed` (REFUSED 1).
 * A 1-RTT HELLO outside the window, too early after a start or with the strike register full:
 * `full_attach` (REFUSED 3, the EP attaches the full way).
 */
type RefuseReason = 'rate_limited' | 'preauth_budget' | 'preauth_source_cap' | 'preauth_cap' | 'link_cap' | 'cid_link_cap' | 'attach_failed' | 'full_attach' | 'protocol';

export class RnStats {
  links = 0;
  preauth = 0;
  stitches = 0;
  framesRelayed = 0;
  bytesRelayed = 0;
  readonly dropped: Record<DropReason, number> = { foreign_stitch: 0, malformed_relay: 0, queue_overflow: 0 };
  readonly refused: Record<RefuseReason, number> = { rate_limited: 0, preauth_budget: 0, preauth_source_cap: 0, preauth_cap: 0, link_cap: 0, cid_link_cap: 0, attach_failed: 0, full_attach: 0, protocol: 0 };
  /** Attachments that took the 1-RTT way (HELLO version 2); the rest of `links` attached in full. */
  attachedOneRtt = 0;
  joins = 0;
  joinsRefused = 0;
  /** JOINs refused (JOIN_REFUSED 3) because the RN is draining; also counted in joinsRefused. */
  joinsRefusedDraining = 0;
  /** JOINs whose early data (0-RTT) was dropped because their Grant is no-replay (draft §9); the CH1 went on. */
  earlyDropped = 0;
  /** Sources that count as known to admission now (an endpoint attached from there recently). */
  knownSources = 0;
  /** Times a sending link was paused for a congested receiver (relay backpressure). */
  holds = 0;
  /** ATTEST messages whose evidence was accepted / refused (only counted when attestation is required). */
  attested = 0;
  attestRefused = 0;
  /**
   * Links closed by the RN: idle, pre-auth deadline, slow (control overflow), revoked, expired,
   * protocol, `evicted` (a pre-auth slot given to a newcomer from a lighter source, admission.ts),
   * `drained` (still attached when the drain deadline passed).
   */
  closed = { idle: 0, preauth_deadline: 0, slow: 0, revoked: 0, expired: 0, protocol: 0, evicted: 0, drained: 0 };
  /**
   * The rendezvous fabric (src/rn/fabric/): hop frames out and in, frames dropped on the hop (a
   * window ignored past twice its size, or NATS refused the publish), JOINs routed out and answered,
   * fabric messages dropped as malformed, JOIN requests refused (RN not eligible, bad signature,
   * stale), JOIN replies dropped (not an eligible RN's signed answer to the request it names), hop
   * batches refused (not from an eligible RN, or their tag does not verify), JOIN requests sent
   * again after no answer came in time, far RNs found gone with the stitches that ended with
   * them, stitches ended because the far RN answered a probe that it does not have them, and
   * stitches ended because this RN was off NATS for 20 s or for good (fabric/far-rns.ts).
   */
  readonly fabric = { hopFramesOut: 0, hopFramesIn: 0, hopDropped: 0, joinsRouted: 0, joinsAnswered: 0, malformed: 0, joinsRefused: 0, repliesDropped: 0, hopRefused: 0, joinRetries: 0, rnsLost: 0, rnLostStitches: 0, unknownStitches: 0, offStitches: 0 };

  snapshot(): {
    links: number;
    preauth: number;
    stitches: number;
    framesRelayed: number;
    bytesRelayed: number;
    attachedOneRtt: number;
    joins: number;
    joinsRefused: number;
    joinsRefusedDraining: number;
    earlyDropped: number;
    knownSources: number;
    holds: number;
    attested: number;
    attestRefused: number;
    dropped: Record<DropReason, number>;
    refused: Record<RefuseReason, number>;
    closed: RnStats['closed'];
    fabric: RnStats['fabric'];
  } {
    return {
      links: this.links,
      preauth: this.preauth,
      stitches: this.stitches,
      framesRelayed: this.framesRelayed,
      bytesRelayed: this.bytesRelayed,
      attachedOneRtt: this.attachedOneRtt,
      joins: this.joins,
      joinsRefused: this.joinsRefused,
      joinsRefusedDraining: this.joinsRefusedDraining,
      earlyDropped: this.earlyDropped,
      knownSources: this.knownSources,
      holds: this.holds,
      attested: this.attested,
      attestRefused: this.attestRefused,
      dropped: { ...this.dropped },
      refused: { ...this.refused },
      closed: { ...this.closed },
      fabric: { ...this.fabric },
    };
  }
}
