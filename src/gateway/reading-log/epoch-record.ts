// The reading log as a second record of the gateway's boot epoch (boot-epoch.ts). The epoch file is
// the first; when it cannot be written (a full or read-only card) or is lost, the next start must
// still pick an epoch above every one a stored reading carries, or its readings' (slot, epoch, seq)
// keys collide with the old ones: INSERT OR IGNORE drops them here, and a collector takes them for
// readings it already has, receipts them, and the gateway deletes them unsent.
// Receipted readings are deleted (or never written: receipted before their commit), so the rows
// alone do not remember the epoch: the `epoch` counter is raised to the running epoch at start, in a
// write of its own, or (a failing disk) with the first commit that succeeds.

import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** The highest epoch the log has seen: the counter, or the newest row's (logs written before the counter). */
export function recordedEpoch(db: DatabaseSync): number {
  const r = db
    .prepare("SELECT max(coalesce((SELECT n FROM counters WHERE name = 'epoch'), 0), coalesce((SELECT epoch FROM readings ORDER BY id DESC LIMIT 1), 0)) AS e")
    .get() as { e: number };
  return Number(r.e);
}

/** Raises the counter to an epoch (never lowers it); run inside the commit's transaction. */
export function epochRecorder(db: DatabaseSync): StatementSync {
  return db.prepare("INSERT INTO counters (name, n) VALUES ('epoch', ?) ON CONFLICT (name) DO UPDATE SET n = max(n, excluded.n)");
}
