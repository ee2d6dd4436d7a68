// Liveness of one RN link (docs/PROFILE.md §Timeouts): a PING every keepalive interval and the link
// declared dead after `idle` without a whole frame; and a probe on demand — when a session's PoR says
// the path through this RN is dead (draft §11.2), one PING now and the link is dead if no frame
// comes back within PROBE_TIMEOUT_MS. Bytes alone are no sign of life (an RN that sends a header and
// then a byte now and then), but a frame still arriving at LINK_MIN_BYTES_PER_S or faster is: a large
// frame on a slow link is not cut (the rule: liveness.ts, shared with the RN's idle sweep). Time only
// through the injected Clock.

import { every, type Clock } from '../../lib/clock.js';
import { PROBE_TIMEOUT_MS } from './constants.js';
import { moving } from './liveness.js';

interface KeepaliveHost {
  readonly clock: Clock;
  /** When the last whole frame of any kind arrived. */
  lastFrameAt(): number;
  /** Bytes received so far of a frame still arriving (0 when none). */
  partial(): number;
  ping(nonce: number): void;
  dead(why: string): void;
}

export class LinkKeepalive {
  private nonce = 0;
  private probing = false;
  private cancelTick: (() => void) | undefined;
  /** The one probe's timer (one at a time): kept alone, not in a list that grew by one per probe. */
  private cancelProbe: (() => void) | undefined;
  /** At the last tick: its time and the bytes of the frame then in flight. */
  private tickAt = 0;
  private tickPartial = 0;

  constructor(private readonly h: KeepaliveHost) {}

  start(keepaliveMs: number, idleMs: number): void {
    this.cancelTick?.();
    this.tickAt = this.h.clock.now();
    this.tickPartial = this.h.partial();
    this.cancelTick = every(this.h.clock, keepaliveMs, () => {
      const now = this.h.clock.now();
      const partial = this.h.partial();
      // No whole frame for `idle`: dead, unless the frame in flight grew fast enough since the last tick.
      if (now - this.h.lastFrameAt() >= idleMs && !moving(partial - this.tickPartial, now - this.tickAt)) {
        return this.h.dead(`no frame for ${idleMs} ms`);
      }
      this.tickAt = now;
      this.tickPartial = partial;
      this.h.ping(++this.nonce);
    });
  }

  probe(ms = PROBE_TIMEOUT_MS): void {
    if (this.probing) return;
    this.probing = true;
    const since = this.h.clock.now();
    const had = this.h.partial();
    this.h.ping(++this.nonce);
    this.cancelProbe = this.h.clock.setTimeout(() => {
      this.probing = false;
      this.cancelProbe = undefined;
      if (this.h.lastFrameAt() <= since && !moving(this.h.partial() - had, ms)) this.h.dead(`no answer to a probe within ${ms} ms`);
    }, ms);
  }

  stop(): void {
    this.cancelTick?.();
    this.cancelProbe?.();
    this.cancelTick = this.cancelProbe = undefined;
  }
}
