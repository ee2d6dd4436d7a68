// Which database a collector's "db" (or --db) names: a postgres:// or postgresql:// URL is a
// PostgreSQL server, anything else a SQLite file path (created if absent, unless opened to read).

import type { Logger } from 'pino';
import { CollectorCode, StoreError } from '../errors.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { ReadingStore } from './store.js';

/** URL schemes are case-insensitive (RFC 3986 §3.1). */
const POSTGRES_URL = /^postgres(ql)?:\/\//i;

export function isPostgresUrl(spec: string): boolean {
  return POSTGRES_URL.test(spec);
}

export interface OpenStoreOptions {
  /**
   * Only read (`collector query`): a SQLite file must exist already and is opened read-only; a
   * PostgreSQL database must hold the collector's tables, and nothing is created or written there.
   */
  readonly readOnly?: boolean;
  /** Told what opening does that takes long (PostgreSQL: filling slot_summary on a database from before it). */
  readonly logger?: Pick<Logger, 'info'>;
}

/** Opens the store `spec` names; a typed StoreError (STORE_UNREACHABLE, STORE_REFUSED) with the fix when it cannot. */
export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<ReadingStore> {
  // SQLite would take "" as a private temporary database: receipts for readings gone at exit.
  if (spec.trim() === '') throw new StoreError(CollectorCode.STORE_UNREACHABLE, 'no database given: pass --db FILE or --db postgres://user@host:port/db (or set the collector config\'s "db")');
  return isPostgresUrl(spec) ? PostgresStore.open(spec, {}, { readOnly: opts.readOnly === true, ...(opts.logger !== undefined ? { logger: opts.logger } : {}) }) : SqliteStore.open(spec, { readOnly: opts.readOnly === true });
}
