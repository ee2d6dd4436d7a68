// A stitch seen through a gate: the first payload the initiator sends is Finished_I, which the
// responder of a 0-RTT session (already running on early data, endpoint.ts acceptEarly) must still
// verify; the session sees only what follows, and nothing at all if the Finished fails.

import type { StitchPort } from '../session/session-types.js';

/** `verify(fin)` is called with the first payload; true lets the rest through to the session. */
export function finishedGate(stitch: StitchPort, verify: (fin: Uint8Array) => boolean): StitchPort {
  let state: 'finished' | 'open' | 'failed' = 'finished';
  return {
    id: stitch.id,
    ...(stitch.rnCid !== undefined ? { rnCid: stitch.rnCid } : {}),
    send: (p) => stitch.send(p),
    onPayload: (cb) =>
      stitch.onPayload((p) => {
        if (state === 'open') return cb(p);
        if (state === 'failed') return;
        state = verify(p) ? 'open' : 'failed';
      }),
    onClose: (cb) => stitch.onClose(cb),
    onDrain: (cb) => stitch.onDrain(cb),
    close: () => stitch.close(),
    ...(stitch.suspect !== undefined ? { suspect: () => stitch.suspect!() } : {}),
  };
}
