// The responder's session when the handshake took early data (0-RTT, draft §9): it starts before
// Finished_I, so that the early requests are answered right behind the flight (0.5-RTT, as a TLS 1.3
// server does). Finished_I is the first payload the initiator sends after CH1: the stitch is seen
// through a gate that hands it to `verifyFinished` and lets the session see only what follows; a
// Finished that does not verify (or none within the handshake timeout, unless a re-stitch proved
// the initiator's keys first) ends the session, and the
// peer hears the session's own CLOSE PROTOCOL_VIOLATION (its block 0 may be taken already, so not
// the lone CLOSE a 1-RTT responder sends).

import type { Clock } from '../../lib/clock.js';
import type { EarlyMessage } from './early-data.js';
import { ErrorCode, ProtocolError, UzpError } from '../errors.js';
import { Session, type SessionOptions, type StitchPort } from '../session/session.js';

export interface EarlySessionOptions extends SessionOptions {
  readonly clock: Clock;
  readonly stitch: StitchPort;
  readonly timeoutMs: number;
  /** Throws when Finished_I does not verify (responder.ts ExpectFinished.receive). */
  readonly verifyFinished: (fin: Uint8Array) => void;
  readonly onRefused: (e: UzpError) => void;
}

/** The session, attached and stitched; the caller announces it and delivers the early messages. */
export function earlySession(o: EarlySessionOptions): Session {
  const session = new Session(o);
  o.association.to('authenticated');
  o.association.to('stitched');
  const cancelTimeout = o.clock.setTimeout(() => session.end(new ProtocolError(ErrorCode.HANDSHAKE_TIMEOUT, 'no Finished from the initiator in time')), o.timeoutMs);
  session.once('close', cancelTimeout);
  // A stitch lost between the flight and Finished_I (which is never sent again) ends in a re-stitch
  // whose RESUME is MACed with a key exported from this handshake's whole transcript: the initiator
  // proved what Finished_I proves (it holds keys only the (EC)DHE of this transcript gives), so the
  // session stands instead of meeting the handshake timeout (draft §11.4; docs/PROFILE.md §0-RTT).
  session.once('restitched', cancelTimeout);
  session.attach(
    finishedGate(o.stitch, (fin) => {
      cancelTimeout();
      try {
        o.verifyFinished(fin);
        return true;
      } catch (e) {
        const err = e instanceof UzpError ? e : new ProtocolError(ErrorCode.HANDSHAKE_FINISHED, String(e), 'local', { cause: e });
        session.violation(err);
        o.onRefused(err);
        return false;
      }
    }),
  );
  return session;
}

/** Initiator: connect()'s early messages, one array per channel, on channels 1, 3, 5, … */
export function earlyMessagesOf(early: readonly (readonly Uint8Array[])[] | undefined): EarlyMessage[] {
  return (early ?? []).flatMap((ms, i) => ms.map((message) => ({ channel: 1 + 2 * i, message })));
}

/**
 * Initiator, session up: opens the early messages' channels (the same ids, 1, 3, 5, …) and, when the
 * responder did not take them as early data, queues them again as ordinary data before anything else.
 */
export function openEarlyChannels(session: Session, early: readonly (readonly Uint8Array[])[], accepted: boolean): void {
  const channels = early.map(() => session.openChannel());
  if (!accepted) early.forEach((ms, i) => ms.forEach((m) => channels[i]!.trySend(m)));
  session.early = { accepted, channels };
}

/** `verify(fin)` is called with the first payload; true lets the rest through to the session. */
function finishedGate(stitch: StitchPort, verify: (fin: Uint8Array) => boolean): StitchPort {
  let state: 'finished' | 'open' | 'failed' = 'finished';
  return {
    id: stitch.id,
    ...(stitch.rnCid !== undefined ? { rnCid: stitch.rnCid } : {}),
    send: (p) => stitch.send(p),
    ...(stitch.sendPieces !== undefined ? { sendPieces: (pieces: readonly Uint8Array[]) => stitch.sendPieces!(pieces) } : {}),
    // The session's own consumer is transient (it keeps no payload); verify() gets a copy it may keep.
    onPayload: (cb, opts) =>
      stitch.onPayload((p) => {
        if (state === 'open') return cb(p);
        if (state === 'failed') return;
        state = verify(p.slice()) ? 'open' : 'failed';
      }, opts),
    onClose: (cb) => stitch.onClose(cb),
    onDrain: (cb) => stitch.onDrain(cb),
    close: () => stitch.close(),
    ...(stitch.suspect !== undefined ? { suspect: () => stitch.suspect!() } : {}),
  };
}
