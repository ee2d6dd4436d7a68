// When the reading log commits (reading-log.ts: each durability is a loss window). In `batch` and
// `off` a timer commits every batchMs, or every eighth of it while receipts cover readings before
// their commit (committing then only what has waited 7/8 of it, so a reading is on disk by its
// batchMs at the latest and has most of that time to be receipted instead); never later than the
// oldest pending reading's batchMs; sooner when the pending readings reach their bound while commits
// succeed (early(): a batch larger than the bound is committed, not dropped). A commit that fails
// (a full or locked disk) leaves its readings pending for the timer's retry a whole batchMs later,
// in every durability, and no other commit is tried before it but close()'s (commit-failures.ts); a
// timer's failure is reported, never thrown out of the timer.

import type { Clock } from '../../lib/clock.js';
import { LocalError } from '../../lib/errors.js';
import { FileErrorCode } from '../../files/errors.js';
import { CommitFailures } from './commit-failures.js';
import type { PendingBatch } from './pending.js';

/** While receipts come before commits, the commit timer ticks this many times per batchMs. */
const ELIDE_TICKS = 8;

/** The reading log as its commit timer sees it. */
export interface TimedLog {
  /** Appended, not committed. */
  readonly pending: PendingBatch;
  /** Commits the pending readings appended at or before `cutoff` (clock ms; Infinity: all); throws if not committed. */
  readonly commit: (cutoff: number) => void;
  readonly closed: () => boolean;
  /** A timed commit has work left: readings pending, or receipt cursors to write for stored readings. */
  readonly more: () => boolean;
  /** Receipts cover readings before their commit now (the floor moved within the last window). */
  readonly eliding: () => boolean;
  /** A timed commit failed (the readings stay pending). */
  readonly onError: ((e: unknown) => void) | undefined;
}

export class CommitTimer {
  private cancel: (() => void) | undefined;
  private readonly failures: CommitFailures;

  constructor(
    private readonly clock: Clock,
    private readonly batchMs: number,
    private readonly log: TimedLog,
  ) {
    this.failures = new CommitFailures(clock, batchMs);
  }

  /** A commit failed less than batchMs ago: flush() refuses until the timed retry has run. */
  get failing(): boolean {
    return this.failures.backingOff;
  }

  /** Since when (wall ms) and why commits fail; undefined once one succeeded. */
  get commitFailing(): { readonly since: number; readonly error: string } | undefined {
    return this.failures.failing;
  }

  /** Arms the timed commit, unless it is armed already (never later than the oldest pending reading's batchMs). */
  arm(failed = false): void {
    if (this.log.closed() || this.cancel !== undefined) return;
    const oldest = this.log.pending.readings[0];
    // After a failed commit (a full or locked disk) the next try is a whole batchMs away, not at once.
    const ms = failed ? this.batchMs : Math.min(this.log.eliding() ? this.batchMs / ELIDE_TICKS : this.batchMs, oldest === undefined ? Infinity : Math.max(0, oldest.at + this.batchMs - this.clock.now()));
    this.cancel = this.clock.setTimeout(() => {
      this.cancel = undefined;
      this.fromTimer();
    }, ms);
  }

  /** A timer's commit: a failure (full disk, I/O error) leaves the batch pending and retried, never an exception out of a timer. */
  private fromTimer(): void {
    this.run(this.log.eliding() ? this.clock.now() - (this.batchMs * (ELIDE_TICKS - 1)) / ELIDE_TICKS : Infinity);
  }

  /**
   * The pending readings reached a bound of theirs (pending.ts) while commits succeed: a batch
   * larger than the bound (a high rate, a long batch_ms) is committed now, whole, as a timed commit
   * would be, instead of its oldest readings dropped from a disk that takes them. A failure is
   * reported and retried as a timed commit's is, never thrown: the disk fails, and the bound drops
   * (pending.ts).
   */
  early(): void {
    this.stop();
    this.run(Infinity);
  }

  private run(cutoff: number): void {
    let failed = false;
    try {
      this.log.commit(cutoff);
      this.failures.succeeded();
    } catch (e) {
      failed = true;
      this.failures.failed(e);
      this.log.onError?.(e);
    }
    if (this.log.more()) this.arm(failed);
  }

  /** ReadingLog.flush(): within batchMs of a failed commit it tries nothing and throws FILE_IO. */
  flush(): void {
    if (this.failing) {
      throw new LocalError(FileErrorCode.FILE_IO, `reading log: the last commit failed (${this.failures.error}); ${this.log.pending.length} readings stay pending, retried in ${this.failures.retryInMs} ms`);
    }
    this.now();
  }

  /** Commits every pending reading now (flush(), close()); a failure arms the retry and is thrown. */
  now(): void {
    this.stop();
    try {
      this.log.commit(Infinity);
      this.failures.succeeded();
    } catch (e) {
      // Not committed: the batch stays pending, retried after batch_ms by the timer in every
      // durability, not only at the next append (a recorder's early flush cancelled the timer).
      this.failures.failed(e);
      this.arm(true);
      throw e;
    }
  }

  /** Cancels the timed commit (close()). */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}
