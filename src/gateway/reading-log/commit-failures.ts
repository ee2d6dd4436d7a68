// The reading log's record of failing commits (a full or failing card): when the next try may run,
// the last error, and since when commits fail. After a failed commit none is tried before
// `retryAt` (clock ms) but the timed retry's and close()'s: a try writes the pending readings (up
// to MAX_PENDING, MAX_PENDING_BYTES) until a full card refuses it, 4-24 ms at 1,000-100,000 on a
// full tmpfs, and one try per append (durability full, or a recorder's early commits) made every
// reading cost the backlog while the disk failed.

import { wallMs, type Clock } from '../../lib/clock.js';

export class CommitFailures {
  private retryAt = -Infinity;
  private lastError = '';
  /** Wall ms of the first of the failed commits since the last one that succeeded. */
  private since: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly retryMs: number,
  ) {}

  /** A commit failed less than retryMs ago: no other is tried before the timed retry. */
  get backingOff(): boolean {
    return this.clock.now() < this.retryAt;
  }

  /** Milliseconds until the timed retry (while backing off). */
  get retryInMs(): number {
    return Math.ceil(this.retryAt - this.clock.now());
  }

  get error(): string {
    return this.lastError;
  }

  /** Since when (wall ms) and why commits fail; undefined once one succeeded. */
  get failing(): { readonly since: number; readonly error: string } | undefined {
    return this.since === undefined ? undefined : { since: this.since, error: this.lastError };
  }

  failed(e: unknown): void {
    this.retryAt = this.clock.now() + this.retryMs;
    this.lastError = String((e as Error)?.message ?? e);
    this.since ??= wallMs(this.clock);
  }

  succeeded(): void {
    this.retryAt = -Infinity;
    this.since = undefined;
  }
}
