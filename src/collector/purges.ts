// Deleting what a revocation withdrew (OI §11.6) so that no failure leaves it half done and in
// view. The intake records a revocation first (store.revoke(): the revocation and its audit entry
// `revoke.applied` in one transaction; from then on no reading of its scope is served, and the
// consent record refuses what it withdrew), then deletes its readings (store.purge(), in chunks of
// DELETE_CHUNK_ROWS, so neither the event loop nor the intake waits for the seconds a million
// readings take). A failure midway — the database gone away, the collector stopped or killed —
// leaves the rest recorded and hidden, and it is finished here: at start and at every retention
// sweep (retention.ts), when the gateway sends the revocation again (it does in every session until
// confirmed, docs/PROFILE.md "Revocation"), and before an announcement of that gateway is taken
// (intake.ts): a new grant's readings must not be stored where a deletion is still to run, and a
// REVOKED refusal must come only once the deletion it confirms is done.

import type { Logger } from 'pino';
import { toHex } from '../uzp/bytes.js';
import type { AuditEntry, ReadingStore, RevocationScope } from './store/store.js';

/** The audit entry written with the deletion of a revocation's last readings: how many went in all. */
export const REVOKE_DELETED_EVENT = 'revoke.deleted';
/** Logged (warn) when the store could not yet erase what a revocation deleted from its files (store.ts PurgeResult.erased). */
export const REVOKE_ERASE_PENDING_EVENT = 'revoke.erase_pending';

export class Purges {
  /** Purges under way, by revocation (hex): a second caller waits for the first instead of racing it. */
  private readonly running = new Map<string, Promise<number>>();

  constructor(
    private readonly store: ReadingStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Deletes the readings of the recorded revocation `r`; resolves with how many were deleted under it in all. */
  finish(r: RevocationScope): Promise<number> {
    const id = toHex(r.revocation);
    let p = this.running.get(id);
    if (p === undefined) {
      p = this.run(r).finally(() => this.running.delete(id));
      this.running.set(id, p);
    }
    return p;
  }

  /** Finishes every revocation left unpurged (of `gateway` only, when given); a failure is thrown after the others were tried. */
  async resume(gateway?: Uint8Array): Promise<void> {
    let failed: unknown;
    for (const r of await this.store.unpurged(gateway)) {
      try {
        await this.finish(r);
      } catch (e) {
        failed ??= e;
      }
    }
    if (failed !== undefined) throw failed;
  }

  private async run(r: RevocationScope): Promise<number> {
    const revocation = toHex(r.revocation);
    // Written by the store with the last chunk, in its transaction: written after it, a crash in
    // between lost the entry for good (a revocation done is never resumed).
    const entry = (deleted: number): AuditEntry => ({ at: this.now(), gateway: r.gateway, event: REVOKE_DELETED_EVENT, detail: { revocation, ...(r.slots !== undefined ? { slots: r.slots } : {}), deleted } });
    const { deleted, finished, erased } = await this.store.purge(r.revocation, entry);
    if (finished) this.logger.info({ event: REVOKE_DELETED_EVENT, gateway: toHex(r.gateway), revocation, deleted }, "a revocation's readings are all deleted");
    if (finished && erased === false) this.logger.warn({ event: REVOKE_ERASE_PENDING_EVENT, gateway: toHex(r.gateway), revocation }, "a reader of the database kept its WAL from being truncated: the deleted readings' bytes stay in the WAL until the next retention sweep (hourly) or start truncates it");
    return deleted;
  }
}
