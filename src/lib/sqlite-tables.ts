// What a SQLite file's schema holds: the collector's store and the gateway's reading log both open
// files an older release wrote, and make or skip what that release did not have.

import type { DatabaseSync } from 'node:sqlite';

/** Whether `db` has a table named `name`. */
export function hasTable(db: DatabaseSync, name: string): boolean {
  return db.prepare("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
