// Where the gateway keeps its reading log and how (docs/CONFIG.md "reading_log"): the configured
// file, else readings.db next to the identity key (the one directory the service may write, like
// the boot epoch), in the configured durability; defaults for configs built in code.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Clock } from '../../lib/clock.js';
import { CommonCode, LocalError } from '../../lib/errors.js';
import type { GatewayConfig } from '../../config/types.js';
import { DEFAULT_BATCH_MS, DEFAULT_MAX_BYTES, ReadingLog, type ReadingLogOptions } from './reading-log.js';

export function readingLogFileOf(config: GatewayConfig): string {
  return config.readingLog?.file ?? join(dirname(config.identity.key), 'readings.db');
}

/** What the gateway is told of the log's losses and failures (gateway/reading-log-reports.ts). */
export type ReadingLogHooks = Pick<ReadingLogOptions, 'onDrop' | 'onFlushError' | 'onPendingDrop'>;

export function openReadingLog(config: GatewayConfig, clock: Clock, hooks: ReadingLogHooks = {}): { readonly file: string; readonly log: ReadingLog } {
  const file = readingLogFileOf(config);
  const c = config.readingLog;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const log = new ReadingLog({ file, durability: c?.durability ?? 'batch', batchMs: c?.batchMs ?? DEFAULT_BATCH_MS, maxBytes: c?.maxBytes ?? DEFAULT_MAX_BYTES, clock, receipts: (config.publish?.collectors.length ?? 0) > 0, ...hooks });
    return { file, log };
  } catch (e) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `reading log ${file}: cannot open (${(e as Error)?.message ?? String(e)}); fix "reading_log.file" in ${config.file} or the directory's permissions`, { cause: e });
  }
}
