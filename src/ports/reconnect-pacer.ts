// Reconnect pacing for the equipment links (SerialLink, MqttLink): when the backoff starts over,
// and which connection lines reach the log.
//
// A link that restarted its backoff at every successful open never backed off from a peer that
// accepts and drops at once: a tty that opens and fails on the first read, a broker that takes the
// session over for another client with the same id. It reconnected ~7 times a second for as long
// as that lasted, with a warn line each time (and, on MQTT 3.1.1, every retained message again as
// new readings). So the backoff starts over only once a connection has stayed up `stableMs` (the
// uzp link manager does the same, BACKOFF_STABLE_MS). While connections are short-lived, their
// lines are held to one per `quietMs`: the rest are folded, counted in the next line written, and
// a line folded at the end of a burst is flushed `quietMs` after the last one written, so the log
// always ends on how the link is now.

import type { Backoff } from '../lib/backoff.js';
import type { Clock } from '../lib/clock.js';

export class ReconnectPacer {
  /** When the current connection came up; null while down. */
  private upAt: number | null = null;
  /** Connections in a row that ended before stableMs (its peer may be flapping). */
  private shortLived = 0;
  private lastLineAt = -Infinity;
  private folded = 0;
  private cancelFlush: (() => void) | null = null;

  constructor(
    private readonly backoff: Backoff,
    private readonly clock: Clock,
    private readonly stableMs: number,
    private readonly quietMs: number,
    /** Writes the line that ends a folded burst: `folded` lines left out, the link's state now. */
    private readonly flush: (folded: number) => void,
  ) {}

  /** The link is up. */
  up(): void {
    this.upAt = this.clock.now();
  }

  /** The link is down (or an attempt failed): the delay before the next attempt. */
  down(): number {
    if (this.upAt !== null) {
      const stable = this.clock.now() - this.upAt >= this.stableMs;
      if (stable) this.backoff.reset();
      this.shortLived = stable ? 0 : this.shortLived + 1;
      this.upAt = null;
    }
    return this.backoff.next();
  }

  /**
   * Whether the line of an open (`up`) or a loss (`down`, after down()) is written now: the number
   * of lines folded since the last one (to say so in this one), or null to fold this one (log it at
   * debug at most). Only lines inside a flap are folded: an open after a short-lived connection,
   * the loss of a connection that followed a short-lived one. The first loss is always news.
   */
  line(kind: 'up' | 'down'): number | null {
    const now = this.clock.now();
    if (this.shortLived >= (kind === 'up' ? 1 : 2) && now - this.lastLineAt < this.quietMs) {
      this.folded++;
      this.cancelFlush ??= this.clock.setTimeout(() => this.flushNow(), this.lastLineAt + this.quietMs - now, { unref: true });
      return null;
    }
    return this.written(now);
  }

  /** Cancels a flush still waiting (the link is closing). */
  close(): void {
    this.cancelFlush?.();
    this.cancelFlush = null;
  }

  private flushNow(): void {
    this.cancelFlush = null;
    if (this.folded === 0) return;
    this.flush(this.written(this.clock.now()));
  }

  private written(now: number): number {
    this.cancelFlush?.();
    this.cancelFlush = null;
    const n = this.folded;
    this.folded = 0;
    this.lastLineAt = now;
    return n;
  }
}
