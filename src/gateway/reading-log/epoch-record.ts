// The reading log as a second record of the gateway's boot epoch (boot-epoch.ts). The epoch file is
// the first; when it cannot be written (a full or read-only card) or is lost, the next start must
// still pick an epoch above every one a stored reading carries, or its readings' (slot, epoch, seq)
// keys collide with the old ones: INSERT OR IGNORE drops them here, and a collector takes them for
// readings it already has, receipts them, and the gateway deletes them unsent.
// Receipted readings are deleted (or never written: receipted before their commit), so the rows
// alone do not remember the epoch: the `epoch` counter is raised to the running epoch at start, in a
// write of its own, or (a failing disk) with the first commit that succeeds.

import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** The log's record of the boot epoch: what it had seen when opened, and the running epoch until it is written. */
export class EpochRecord {
  /** The highest epoch the log had seen when opened: the counter, or the newest row's (logs written before the counter). */
  readonly recorded: number;
  /** The running epoch while no write has recorded it yet. */
  private owed: number | undefined;
  /** Raises the counter to an epoch, never lowers it. */
  private readonly raise: StatementSync;

  constructor(db: DatabaseSync) {
    const r = db
      .prepare("SELECT max(coalesce((SELECT n FROM counters WHERE name = 'epoch'), 0), coalesce((SELECT epoch FROM readings ORDER BY id DESC LIMIT 1), 0)) AS e")
      .get() as { e: number };
    this.recorded = Number(r.e);
    this.raise = db.prepare("INSERT INTO counters (name, n) VALUES ('epoch', ?) ON CONFLICT (name) DO UPDATE SET n = max(n, excluded.n)");
  }

  /**
   * The boot epoch of this run, written now in a write of its own: a run may write no reading at all
   * (every one receipted before its commit), and its epoch must still be remembered. On a failing
   * disk it is owed to the next commit.
   */
  begin(epoch: number): void {
    if (epoch <= this.recorded) return;
    this.owed = epoch;
    try {
      this.raise.run(epoch);
      this.owed = undefined;
    } catch {
      // written by the next transaction that succeeds
    }
  }

  /** A commit must run a transaction for it, readings to write or not. */
  get isOwed(): boolean {
    return this.owed !== undefined;
  }

  /** Inside a commit's transaction: the owed epoch, if any. */
  writeOwed(): void {
    if (this.owed !== undefined) this.raise.run(this.owed);
  }

  /** The transaction that ran writeOwed() committed. */
  committed(): void {
    this.owed = undefined;
  }
}
