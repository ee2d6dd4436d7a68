// Liveness of one RN link (docs/PROFILE.md §Timeouts): a PING every keepalive interval and the link
// declared dead after `idle` without any frame; and a probe on demand — when a session's PoR says
// the path through this RN is dead (draft §11.2), one PING now and the link is dead if no frame at
// all comes back within PROBE_TIMEOUT_MS. Time only through the injected Clock.

import { every, type Clock } from '../../lib/clock.js';
import { PROBE_TIMEOUT_MS } from './constants.js';

interface KeepaliveHost {
  readonly clock: Clock;
  /** When the last frame of any kind arrived. */
  lastFrameAt(): number;
  ping(nonce: number): void;
  dead(why: string): void;
}

export class LinkKeepalive {
  private nonce = 0;
  private probing = false;
  private cancelTick: (() => void) | undefined;
  /** The one probe's timer (one at a time): kept alone, not in a list that grew by one per probe. */
  private cancelProbe: (() => void) | undefined;

  constructor(private readonly h: KeepaliveHost) {}

  start(keepaliveMs: number, idleMs: number): void {
    this.cancelTick?.();
    this.cancelTick = every(this.h.clock, keepaliveMs, () => {
      if (this.h.clock.now() - this.h.lastFrameAt() >= idleMs) return this.h.dead(`no frame for ${idleMs} ms`);
      this.h.ping(++this.nonce);
    });
  }

  probe(ms = PROBE_TIMEOUT_MS): void {
    if (this.probing) return;
    this.probing = true;
    const since = this.h.clock.now();
    this.h.ping(++this.nonce);
    this.cancelProbe = this.h.clock.setTimeout(() => {
      this.probing = false;
      this.cancelProbe = undefined;
      if (this.h.lastFrameAt() <= since) this.h.dead(`no answer to a probe within ${ms} ms`);
    }, ms);
  }

  stop(): void {
    this.cancelTick?.();
    this.cancelProbe?.();
    this.cancelTick = this.cancelProbe = undefined;
  }
}
