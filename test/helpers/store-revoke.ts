// A revocation applied to a collector store the way the intake applies one (src/collector/intake.ts):
// recorded with its audit entry, then purged. For tests that need readings of a scope deleted.

import { randomBytes } from 'node:crypto';
import type { ReadingStore } from '../../src/collector/store/store.js';

/** Records a revocation of `slots` (absent: every slot) of `gateway` under a fresh object_id and deletes its readings; resolves with how many. */
export async function revokeAndPurge(store: ReadingStore, gateway: Uint8Array, slots?: readonly string[]): Promise<number> {
  const revocation = new Uint8Array(randomBytes(32));
  await store.revoke({ revocation, gateway, ...(slots !== undefined ? { slots } : {}) }, { at: 1, gateway, event: 'revoke.applied', detail: {} });
  return (await store.purge(revocation, (deleted) => ({ at: 1, gateway, event: 'revoke.deleted', detail: { deleted } }))).deleted;
}
