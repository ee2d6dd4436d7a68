// One gateway's writes on PostgreSQL, one after the other (pg-insert.ts, pg-deletes.ts). A DELETE
// sees the rows committed when it starts, and what commits while it runs reached it anyway: an
// insert committed meanwhile had added its readings to slot_summary before the delete took its
// count off (the slot kept the newest ts of readings deleted, counts exact), and rows another delete
// had just taken made a chunk count fewer than DELETE_CHUNK_ROWS and pass for the last (a
// revocation marked done with readings of it still stored, and served). So every transaction that
// writes a gateway's readings takes that gateway's lock first, before any statement on them: two
// never interleave, and each statement sees what the one before committed. Held to the end of the
// transaction (a delete chunk, an insert batch): milliseconds; a gateway's windows are stored one
// at a time anyway (intake.ts). SQLite needs none of this: it has one writer at a time.

import type pg from 'pg';

/** The lock class of a gateway's writes (pg_advisory_xact_lock's first key): "uzgw". */
const GATEWAY_LOCK = 0x757a6777;

/** Takes the write lock of each of `gateways` (CIDs as hex) in the transaction of `c`, in one order whatever the caller's. */
export async function lockGateways(c: pg.PoolClient, gateways: Iterable<string>): Promise<void> {
  // A CID is a digest: its first 32 bits spread gateways over the keys well. Two gateways on one
  // key only wait for each other; the keys are taken in ascending order, so no two transactions
  // wait for each other in a circle.
  const keys = [...new Set([...gateways].map((gw) => Number.parseInt(gw.slice(0, 8), 16) | 0))].sort((a, b) => a - b);
  for (const k of keys) await c.query('SELECT pg_advisory_xact_lock($1, $2)', [GATEWAY_LOCK, k]);
}
