// Initiator side of a re-stitch (draft §11.3): when the session enters failover, JOIN again through
// an eligible RN (the link port picks one; a pool tries each RN of the set) with the current Grant
// and a fresh RESUME token made for that RN, wait for the responder's RESUMED, check it, recheck
// our own side (§11.4: that RN still eligible here, our Grant still valid), and only then return
// the session to stitched. Attempts repeat with a short capped backoff until the
// session is re-stitched or its continuity window closes it; a refusal by the responder (it
// rejected the offer: unknown session, replay, Grant no longer valid...) ends the session with
// CONTINUITY_REFUSED so the application opens a fresh one.
//
// keepStandby (with EXT_STANDBY agreed): while stitched, the initiator also JOINs at a second
// attached RN with a STANDBY token, the same token and checks as a re-stitch, made in advance. The
// responder holds that stitch; on the loss of the first both ends move onto it at once (session.ts),
// so a failover costs the loss's detection and one relay hop instead of a JOIN round trip.

import { Backoff } from '../lib/backoff.js';
import { wallMs, type Clock } from '../lib/clock.js';
import { isCodedError } from '../lib/errors.js';
import type { RnSet, Valid } from './artefacts/types.js';
import { ErrorCode, ProtocolError, UzpError, ValidationError } from './errors.js';
import type { JoinPreference, LinkPort } from './endpoint.js';
import { UnstitchCode } from './link/constants.js';
import { StitchClosedError } from './link/stitch.js';
import { encodeResume, encodeStandby, resumedValid, type ContinuityKeys, type ResumeToken } from './session/continuity.js';
import type { Session, StitchPort } from './session/session.js';
import { revalidated, type Revalidation } from './session/state.js';
import type { CryptoProvider } from './crypto/provider.js';
import type { ContinuityTrust } from './continuity-responder.js';
import { equal, toHex } from './bytes.js';

/** Lifetime of a RESUME token: long enough for one JOIN, short as §11.4 asks. */
export const RESUME_TOKEN_LIFETIME_MS = 15_000;
/**
 * One re-stitch attempt (JOIN + RESUMED): far above a JOIN's round trip, short enough that an RN
 * that stalled (its link still looks up) costs little before the next RN is tried.
 */
export const RESTITCH_ATTEMPT_MS = 3_000;
const RETRY_BASE_MS = 50;
const RETRY_CAP_MS = 1_000;
/** A standby that could not be made (no second RN yet, the peer not attached there) is tried again on this backoff. */
export const STANDBY_RETRY_BASE_MS = 250;
export const STANDBY_RETRY_CAP_MS = 5_000;

export interface RestitchContext {
  readonly provider: CryptoProvider;
  readonly clock: Clock;
  readonly link: LinkPort;
  readonly target: Uint8Array;
  readonly grant: Uint8Array;
  readonly grantId: Uint8Array;
  /** The currently accepted RN Set Statement, read at every attempt (§11.1). */
  readonly rnSet: () => Valid<RnSet> | undefined;
  readonly timeoutMs: number;
  /** Our trust store and CID: the local recheck before the session moves onto a new stitch (§11.4). */
  readonly trust: ContinuityTrust;
  readonly localCid: Uint8Array;
}

/** Keeps `session` re-stitching after every failover until it closes. */
export function keepStitched(session: Session, ctx: RestitchContext): void {
  const f = session.failover;
  if (f === undefined) return;
  let running = false;
  const backoff = new Backoff({ baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS });
  const run = async (): Promise<void> => {
    if (running) return;
    running = true;
    // A refusal one RN relayed, while a second RN's word on it is asked (below).
    let refused: Refused | undefined;
    try {
      while (session.state === 'failover') {
        const rnSet = ctx.rnSet();
        if (rnSet !== undefined) {
          const outcome = await attempt(session, f.continuity, ctx, rnSet.objectId, f.nextGeneration(), refused?.rnCid);
          if (outcome === 'done') {
            backoff.reset();
            return;
          }
          // A refusal is the word of the RN that relayed it (UNSTITCH REJECTED), not signed by the
          // peer, and an RN is "a relay path rather than a truth anchor" (draft §11.6): one RN must
          // not end a session another RN could still carry. So one more attempt goes at once
          // through another attached RN (not the refusing one, and not the one the session was lost
          // on, which may be the one that is down); whatever that attempt gives but a re-stitch
          // makes the refusal final. With no such RN the refusal is final at once.
          if (refused !== undefined) {
            session.end(outcome instanceof Refused ? outcome.error : refused.error);
            return;
          }
          if (outcome instanceof Refused) {
            const lost = f.lostRn === undefined ? undefined : toHex(f.lostRn);
            const via = outcome.rnCid === undefined ? undefined : toHex(outcome.rnCid);
            const others = ctx.link.attachedRns?.().filter((r) => toHex(r) !== via && toHex(r) !== lost) ?? [];
            if (via === undefined || others.length === 0) {
              session.end(outcome.error);
              return;
            }
            refused = outcome;
            session.emit('restitch-failed', outcome.error);
            continue;
          }
          // Anything else (an RN that does not (yet) hold the peer, a lost link, a timeout) is tried
          // again, elsewhere, until the continuity window ends.
          session.emit('restitch-failed', outcome);
        }
        await sleep(ctx.clock, backoff.next());
      }
    } finally {
      running = false;
    }
  };
  // Nothing may escape as an unhandled rejection (it would end the process): a bug here ends the session.
  session.on('failover', () => void run().catch((e: unknown) => session.end(e instanceof UzpError ? e : new UzpError(ErrorCode.LINK_CLOSED, 'local', `re-stitch failed: ${String(e)}`))));
}

/** CONTINUITY_REFUSED as relayed by the RN `rnCid` (UNSTITCH REJECTED on the re-stitch's stitch). */
class Refused {
  constructor(
    readonly error: UzpError,
    readonly rnCid: Uint8Array | undefined,
  ) {}
}

/** 'done', a refusal, or the transient error of this attempt; never through `exclude` (an RN that relayed a refusal). */
async function attempt(session: Session, keys: ContinuityKeys, ctx: RestitchContext, rnSetId: Uint8Array, generation: number, exclude: Uint8Array | undefined): Promise<'done' | Refused | Error> {
  const avoid = session.failover?.lostRn;
  // The attempt's deadline runs on the session's clock, like every other timer here.
  const attemptSignal = new AbortController();
  const cancelDeadline = ctx.clock.setTimeout(() => attemptSignal.abort(), ctx.timeoutMs, { unref: true });
  try {
    return await attemptOnce(session, keys, ctx, rnSetId, generation, { ...(avoid !== undefined ? { avoid } : {}), ...(exclude !== undefined ? { exclude } : {}) }, attemptSignal);
  } finally {
    cancelDeadline();
  }
}

async function attemptOnce(session: Session, keys: ContinuityKeys, ctx: RestitchContext, rnSetId: Uint8Array, generation: number, prefer: JoinPreference, attemptSignal: AbortController): Promise<'done' | Refused | Error> {
  let stitch: StitchPort;
  const now = wallMs(ctx.clock);
  try {
    stitch = await ctx.link.join(ctx.target, ctx.grant, (rnCid) => encodeResume(ctx.provider, keys, tokenFor(ctx, keys, generation, now, rnSetId, rnCid)), attemptSignal.signal, prefer.avoid === undefined && prefer.exclude === undefined ? undefined : prefer);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
  if (session.state !== 'failover') {
    stitch.close();
    return 'done';
  }
  const answer = await firstAnswer(stitch, ctx.clock, ctx.timeoutMs);
  if (answer instanceof UzpError && answer.code === ErrorCode.CONTINUITY_REFUSED) return new Refused(answer, stitch.rnCid);
  if (answer instanceof Error) return answer;
  const rnCid = stitch.rnCid;
  if (rnCid === undefined || !resumedValid(ctx.provider, keys, answer.first, generation, rnCid)) {
    stitch.close();
    return new ProtocolError(ErrorCode.HANDSHAKE_UNEXPECTED, 'the answer to RESUME is not the peer\'s RESUMED for this token');
  }
  if (session.state !== 'failover') {
    stitch.close();
    return 'done';
  }
  // The peer's word is in (RESUMED); ours is not yet: §11.4 has both ends revalidate before the
  // session is stitched again. Not here: the stitch goes, and the loop tries again (elsewhere, or
  // until the continuity window ends the session).
  const checked = localRecheck(ctx, rnCid);
  if (checked instanceof Error) {
    stitch.close();
    return checked;
  }
  session.restitch(stitch, checked, generation);
  for (const p of answer.extra) session.receive(p);
  return 'done';
}

/**
 * The local half of draft §11.4 before the session moves onto a new stitch (a re-stitch, or a
 * standby taken over): the stitch's RN still listed in the RN Set Statement held now and eligible
 * (not revoked, the statement in its window), our Grant still in its window and not revoked.
 */
function localRecheck(ctx: RestitchContext, rnCid: Uint8Array): Revalidation | Error {
  const entry = ctx.trust.rnSet?.body.rns.find((r) => equal(r.cid, rnCid));
  try {
    if (entry === undefined) throw new ValidationError(ErrorCode.RNSET_NOT_ELIGIBLE, `RN ${toHex(rnCid).slice(0, 16)}… is not listed in the RN Set Statement held now`);
    ctx.trust.requireEligibleRn(entry.publicKey);
    ctx.trust.validateGrant(ctx.grant, { audience: ctx.target, subject: ctx.localCid, nonce: 'ignore' });
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
  return revalidated(rnCid, ctx.clock.now());
}

function tokenFor(ctx: RestitchContext, keys: ContinuityKeys, generation: number, now: number, rnSetId: Uint8Array, rnCid: Uint8Array): ResumeToken {
  return { tag: keys.tag, generation, issuedMs: now, expiresMs: now + RESUME_TOKEN_LIFETIME_MS, grantId: ctx.grantId, rnSetId, rnCid };
}

/**
 * Keeps a standby stitch for `session` while it is stitched: at start, after every (re-)stitch and
 * whenever the standby is lost, a JOIN with a STANDBY token at an attached RN other than the
 * session's; retried on a capped backoff while none can be made. Needs a link port that holds
 * several RNs (attachedRns); with one RN there is nothing to do.
 */
export function keepStandby(session: Session, ctx: RestitchContext): void {
  const f = session.failover;
  const attachedRns = ctx.link.attachedRns?.bind(ctx.link);
  if (f === undefined || attachedRns === undefined) return;
  const backoff = new Backoff({ baseMs: STANDBY_RETRY_BASE_MS, capMs: STANDBY_RETRY_CAP_MS });
  let running = false;
  let cancelRetry: (() => void) | undefined;
  let closed = false;
  const wanted = (): boolean => !closed && session.state === 'stitched' && session.standbyRnCid === undefined;
  const retryLater = (): void => {
    if (closed || cancelRetry !== undefined) return;
    cancelRetry = ctx.clock.setTimeout(() => {
      cancelRetry = undefined;
      kick();
    }, backoff.next(), { unref: true });
  };
  // The local half of draft §11.4 at the moment of the move, as for a re-stitch.
  const recheck = (rnCid: Uint8Array) => (): Revalidation | undefined => {
    const r = localRecheck(ctx, rnCid);
    return r instanceof Error ? undefined : r;
  };
  const once = async (): Promise<boolean> => {
    const active = session.rnCid;
    const rnSet = ctx.rnSet();
    if (active === undefined || rnSet === undefined || !attachedRns().some((r) => !equal(r, active))) return false;
    const generation = f.nextGeneration();
    const now = wallMs(ctx.clock);
    const signal = new AbortController();
    const cancelDeadline = ctx.clock.setTimeout(() => signal.abort(), ctx.timeoutMs, { unref: true });
    try {
      const stitch = await ctx.link.join(ctx.target, ctx.grant, (rnCid) => encodeStandby(ctx.provider, f.continuity, tokenFor(ctx, f.continuity, generation, now, rnSet.objectId, rnCid)), signal.signal, { exclude: active });
      const answer = await firstAnswer(stitch, ctx.clock, ctx.timeoutMs);
      if (answer instanceof Error) return false;
      const rnCid = stitch.rnCid;
      if (rnCid === undefined || !resumedValid(ctx.provider, f.continuity, answer.first, generation, rnCid)) {
        stitch.close();
        return false;
      }
      // The session moved meanwhile (into failover: keepStitched owns that; re-stitched through that
      // very RN; ended): this stitch is stale.
      if (closed || session.state !== 'stitched' || session.standbyRnCid !== undefined || (session.rnCid !== undefined && equal(session.rnCid, rnCid))) {
        stitch.close();
        return session.state === 'stitched';
      }
      // Blocks behind RESUMED: the responder, in failover when the STANDBY came, moved onto it at once.
      session.addStandby(stitch, generation, recheck(rnCid), answer.extra);
      return true;
    } catch {
      return false;
    } finally {
      cancelDeadline();
    }
  };
  const kick = (): void => {
    if (running || !wanted()) return;
    running = true;
    void once()
      .then((made) => {
        if (made) backoff.reset();
        else retryLater();
      })
      .catch(() => retryLater())
      .finally(() => {
        running = false;
        if (wanted()) retryLater();
      });
  };
  const onChange = (): void => {
    cancelRetry?.();
    cancelRetry = undefined;
    kick();
  };
  session.on('restitched', onChange);
  session.on('standby-lost', onChange);
  session.once('close', () => {
    closed = true;
    cancelRetry?.();
    session.off('restitched', onChange);
    session.off('standby-lost', onChange);
  });
  kick();
}

/** The responder's RESUMED (and payloads behind it), a refusal (UzpError), or a transient error. */
function firstAnswer(stitch: StitchPort, clock: Clock, timeoutMs: number): Promise<{ first: Uint8Array; extra: Uint8Array[] } | Error> {
  return new Promise((resolve) => {
    let first: Uint8Array | undefined;
    const extra: Uint8Array[] = [];
    let settled = false;
    const settle = (v: { first: Uint8Array; extra: Uint8Array[] } | Error): void => {
      if (settled) return;
      settled = true;
      cancel();
      resolve(v);
    };
    const cancel = clock.setTimeout(() => {
      settle(new ProtocolError(ErrorCode.HANDSHAKE_TIMEOUT, `no answer to RESUME within ${timeoutMs} ms`));
      stitch.close();
    }, timeoutMs);
    stitch.onPayload((p) => {
      if (first === undefined) {
        first = p;
        settle({ first, extra });
      } else extra.push(p);
    });
    stitch.onClose((e) => {
      if (first !== undefined) return;
      // The target rejected the offer: it refused the token (draft §11.4: start afresh).
      if (e instanceof StitchClosedError && e.unstitchCode === UnstitchCode.REJECTED) {
        settle(new UzpError(ErrorCode.CONTINUITY_REFUSED, 'peer', 'the peer refused to re-stitch this session (it ended there, or the token or Grant no longer holds): a fresh session is needed'));
      } else settle(isCodedError(e) ? e : new ProtocolError(ErrorCode.LINK_CLOSED, 'the new stitch closed before RESUMED'));
    });
  });
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms, { unref: true }));
}
