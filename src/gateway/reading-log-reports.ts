// What the gateway says about its reading log (docs/CONFIG.md "reading_log"), in its log and its
// audit log: readings lost — to the byte bound (audited per commit that dropped some, code
// LOG_BOUND), unstored beyond the pending bound while the disk failed (logged and audited once per
// outage with how many per slot, code PENDING_BOUND), behind a damaged WAL frame (logged at open) —
// and commits failing: a failing disk fails a timed commit every batch_ms, so the first failure is
// logged, then one in 300 (a minute at the default 200 ms), and the recovery once.

import type { Logger } from 'pino';
import type { AuditLog } from './hil/audit.js';
import type { ReadingLogHooks } from './reading-log/open.js';
import type { ReadingLog } from './reading-log/reading-log.js';

/** One in this many failed commits is logged after the first. */
const COMMIT_FAILED_EVERY = 300;

export function readingLogReports(log: Logger, audit: AuditLog): { readonly hooks: ReadingLogHooks; readonly opened: (file: string, readingLog: ReadingLog) => void } {
  let commitFailures = 0;
  const hooks: ReadingLogHooks = {
    onDrop: (perSlot) => audit.event('reading_log.dropped', { decision: 'dropped', code: 'LOG_BOUND', readings: perSlot }, 'warn'),
    onFlushError: (e) => {
      if (++commitFailures % COMMIT_FAILED_EVERY !== 1) return;
      log.error({ event: 'reading_log.commit_failed', failures: commitFailures, reason: String((e as Error)?.message ?? e) }, 'reading log commit failed; readings stay pending in memory and are retried every batch_ms (check the disk)');
    },
    // Never stored, so never published: as much a loss as the byte bound's, and a disk's fault.
    onPendingDrop: (perSlot) => {
      const total = Object.values(perSlot).reduce((a, b) => a + b, 0);
      log.error({ event: 'reading_log.pending_dropped', readings: perSlot, total }, `the reading log dropped ${total} readings it could not store: its commits failed and they were beyond what it holds in memory (or pending at the stop); counted in uzpgw status (check the disk)`);
      audit.event('reading_log.dropped', { decision: 'dropped', code: 'PENDING_BOUND', readings: perSlot }, 'warn');
    },
  };
  const opened = (file: string, readingLog: ReadingLog): void => {
    readingLog.onCommit(() => {
      if (commitFailures === 0) return;
      log.warn({ event: 'reading_log.commit_recovered', failures: commitFailures }, 'reading log commits again');
      commitFailures = 0;
    });
    log.info({ event: 'reading_log.opened', file, durability: readingLog.durability, ...readingLog.stats() }, 'reading log open');
    // SQLite discards every commit after a damaged WAL frame without a word (wal-check.ts); counted in stats().walDiscarded.
    const wal = readingLog.walDamage;
    if (wal !== undefined) log.error({ event: 'reading_log.wal_damaged', file, ...wal }, `the reading log's WAL was damaged at frame ${wal.frame}: SQLite discarded the ${wal.commits} commits after it (the last perhaps in flight at the crash), with the readings they stored; check the card (kernel log I/O errors)`);
  };
  return { hooks, opened };
}
