// Responder side of a re-stitch (draft §11.4): an OFFER whose CH1 position holds a RESUME names
// one of our sessions by its tag. Before that session returns to stitched, every check of §11.4 is
// made here, against our own state, never the RN's word: the initiator is the session's peer, the
// token's MAC is by the session's continuity key, its generation is newer than any accepted (a
// replay is refused), it is unexpired and short-lived, the Grant presented in the JOIN is valid now
// and is the session's Grant (scope unchanged), the token names our currently accepted RN Set and
// the RN that made the offer, and that RN is eligible now. Any failure: the offer is rejected and
// the initiator must start a fresh session. A STANDBY token passes the same checks; its stitch is
// then held as the session's standby (session.ts addStandby), not moved to at once.

import { wallMs, type Clock } from '../lib/clock.js';
import type { Valid, Grant, RnSet } from './artefacts/types.js';
import { equal, toHex } from './bytes.js';
import { ErrorCode, ValidationError } from './errors.js';
import type { HandshakeTrust } from './handshake/common.js';
import { decodeResume, encodeResumed, MAX_TOKEN_LIFETIME_MS, resumeMacValid } from './session/continuity.js';
import type { Session } from './session/session.js';
import { revalidated, type Revalidation } from './session/state.js';
import type { OfferPort } from './endpoint.js';

/** What continuity needs from the trust store beyond the handshake's checks (TrustStore fits). */
export interface ContinuityTrust extends HandshakeTrust {
  readonly rnSet: Valid<RnSet> | undefined;
  readonly skewSeconds: number;
  requireEligibleRn(rnPublicKey: Uint8Array, role?: string): unknown;
}

interface Entry {
  readonly session: Session;
  readonly grantId: Uint8Array;
  /** Both ends announced EXT_STANDBY: STANDBY tokens are taken for this session. */
  readonly standby: boolean;
  lastGeneration: number;
}

/** Sessions this responder could re-stitch, by continuity tag; each leaves on close. */
export class ResumeRegistry {
  private readonly byTag = new Map<string, Entry>();

  constructor(
    private readonly trust: ContinuityTrust,
    private readonly localCid: Uint8Array,
    private readonly clock: Clock,
  ) {}

  get size(): number {
    return this.byTag.size;
  }

  add(session: Session, grant: Valid<Grant>, standby = false): void {
    const f = session.failover;
    if (f === undefined) return;
    const key = toHex(f.continuity.tag);
    this.byTag.set(key, { session, grantId: grant.objectId, standby, lastGeneration: f.generation });
    session.once('close', () => {
      if (this.byTag.get(key)?.session === session) this.byTag.delete(key);
    });
  }

  /**
   * Verifies a RESUME offer and re-stitches its session; returns the session, or throws a
   * ValidationError CONTINUITY_REFUSED saying which check failed (the offer is then rejected).
   */
  resume(offer: OfferPort): Session {
    try {
      return this.check(offer);
    } catch (e) {
      offer.reject();
      throw e;
    }
  }

  private check(offer: OfferPort): Session {
    let t;
    try {
      t = decodeResume(offer.ch1);
    } catch (e) {
      throw refused(`malformed RESUME: ${(e as Error).message}`);
    }
    const entry = this.byTag.get(toHex(t.tag));
    const keys = entry?.session.failover?.continuity;
    if (entry === undefined || keys === undefined) throw refused('no such session here (ended, or this responder restarted)');
    if (t.standby && !entry.standby) throw refused('a STANDBY for a session without standby stitches (EXT_STANDBY not agreed)');
    if (!equal(offer.initiator, entry.session.peerCid)) throw refused('the initiator is not the session\'s peer');
    if (!resumeMacValid(this.trust.provider, keys, t)) throw refused('the token is not authenticated by the session\'s continuity key');
    if (t.generation <= entry.lastGeneration) throw refused(`replayed token (generation ${t.generation}, accepted up to ${entry.lastGeneration})`);
    const now = wallMs(this.clock);
    const skew = this.trust.skewSeconds * 1000;
    if (t.expiresMs < t.issuedMs || t.expiresMs - t.issuedMs > MAX_TOKEN_LIFETIME_MS || t.issuedMs > now + skew || t.expiresMs + skew < now) throw refused('the token is expired or not short-lived');
    let grant: Valid<Grant>;
    try {
      grant = this.trust.validateGrant(offer.grant, { audience: this.localCid, subject: offer.initiator });
    } catch (e) {
      throw refused(`the Grant is no longer valid: ${(e as Error).message}`);
    }
    if (!equal(grant.objectId, t.grantId) || !equal(t.grantId, entry.grantId)) throw refused('the Grant differs from the session\'s (a re-stitch never changes scope)');
    const rnSet = this.trust.rnSet;
    if (rnSet === undefined || !equal(rnSet.objectId, t.rnSetId)) throw refused('the token names another RN Set Statement than ours');
    const rn = offer.rn;
    if (rn === undefined || !equal(rn.cid, t.rnCid)) throw refused('the token was made for another RN');
    try {
      this.trust.requireEligibleRn(rn.publicKey);
    } catch (e) {
      throw refused(`the offering RN is not eligible now: ${(e as Error).message}`);
    }
    entry.lastGeneration = t.generation;
    const stitch = offer.accept();
    stitch.send(encodeResumed(this.trust.provider, keys, t.generation, rn.cid));
    if (t.standby) {
      const grantBytes = offer.grant.slice();
      const rnKey = { cid: rn.cid.slice(), publicKey: rn.publicKey.slice() };
      entry.session.addStandby(stitch, t.generation, () => this.recheck(entry, grantBytes, rnKey));
    } else {
      entry.session.restitch(stitch, revalidated(rn.cid, now), t.generation);
    }
    return entry.session;
  }

  /**
   * Moving onto a standby (draft §11.3 step 7, §11.4): the checks that can have changed since its
   * token was verified, made again now: the Grant (window, revocation) and the RN's eligibility
   * under the RN Set Statement held now. The token's own freshness was judged when it came.
   */
  private recheck(entry: Entry, grant: Uint8Array, rn: { readonly cid: Uint8Array; readonly publicKey: Uint8Array }): Revalidation | undefined {
    try {
      const g = this.trust.validateGrant(grant, { audience: this.localCid, subject: entry.session.peerCid });
      if (!equal(g.objectId, entry.grantId)) return undefined;
      this.trust.requireEligibleRn(rn.publicKey);
    } catch {
      return undefined;
    }
    return revalidated(rn.cid, wallMs(this.clock));
  }
}

function refused(why: string): ValidationError {
  return new ValidationError(ErrorCode.CONTINUITY_REFUSED, `re-stitch refused: ${why}`);
}
