// Codes of the collector layer (src/collector), on the base in lib/errors.ts. All are local faults:
// the database the operator named cannot be reached or refused us, a statement failed, or the
// collector's own code misused the store. The message names the database (never its password) and
// the fix.

import { LocalError } from '../lib/errors.js';

export const CollectorCode = {
  /** Nothing answers at the database's address, or the SQLite file cannot be opened. */
  STORE_UNREACHABLE: 'STORE_UNREACHABLE',
  /** The server answered but refused: authentication, unknown role or database. */
  STORE_REFUSED: 'STORE_REFUSED',
  /** Every connection of the PostgreSQL pool stayed busy past the wait bound (a slow or locked server, not an unreachable one). */
  STORE_BUSY: 'STORE_BUSY',
  /** The database belongs to another collector identity (its CID is in the meta table): one database, one collector. */
  STORE_OWNED: 'STORE_OWNED',
  /** A statement failed (disk full, server error, connection lost mid-transaction); nothing of it was committed. */
  STORE_FAILED: 'STORE_FAILED',
  /** A reading, query or audit entry the store cannot take as given (a bug of the caller). */
  STORE_INVALID: 'STORE_INVALID',
  /** The store was used after close(). */
  STORE_CLOSED: 'STORE_CLOSED',
} as const;
export type CollectorCode = (typeof CollectorCode)[keyof typeof CollectorCode];

/** A typed failure of the collector's database (SQLite or PostgreSQL). */
export class StoreError extends LocalError<CollectorCode> {}
