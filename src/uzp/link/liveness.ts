// The one rule for a frame still arriving (docs/PROFILE.md §Liveness), for both ends of an RN link:
// the EP's keepalive and probe (keepalive.ts) and the RN's idle sweep (src/rn/link-liveness.ts).
// Whole frames are the sign of life; on one TCP stream nothing else can arrive while a frame is in
// flight, so that frame counts too while it grows at LINK_MIN_BYTES_PER_S or faster: a large frame
// on a slow link is not cut, a byte now and then (a slowloris) is no sign of life.

import { DEFAULT_KEEPALIVE_MS, LINK_MIN_BYTES_PER_S } from './constants.js';

/**
 * The span over which a frame in flight is judged: the EP's keepalive tick (keepalive.ts judges from
 * one tick to the next), and the RN's windows (src/rn/link-liveness.ts). Long enough that TCP's
 * bursts on a slow link (a segment now and then, a retransmission) average out.
 */
export const MOVING_WINDOW_MS = DEFAULT_KEEPALIVE_MS;

/** A frame in flight grew by `bytes` in `ms`: fast enough to count as a live link. */
export function moving(bytes: number, ms: number): boolean {
  return bytes > 0 && bytes * 1_000 >= LINK_MIN_BYTES_PER_S * ms;
}
