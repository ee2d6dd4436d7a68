// The reading log's size against its byte bound (`reading_log.max_mb`, docs/CONFIG.md "The
// bound"), as the disk holds it: the database's pages in use (page_count - freelist_count) times
// the page size. Value bytes plus 64 per row, the count before, left out the slot, device, kind,
// source JSON, the unique index's copy of the slot and the part of each 1 KiB B-tree page a row
// leaves empty: a log measured 2.2-2.7 times its bound on disk (review of durable delivery, #5).
//
// Measuring takes two PRAGMAs, ~10 µs inside a transaction, more than the rest of a small commit's
// CPU: a commit measures only when the rows it and the commits before it stored since the last
// measurement may have reached the bound, by their estimated size (readingBytes) times GROWTH.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { LoggedReading } from './rows.js';

/**
 * What a stored reading costs besides its columns' own bytes (an estimate): the integers, the record
 * header, the cell pointers, the index entry's header, epoch, seq and row id. Measured with it
 * (1 KiB pages, one to sixteen slots), a row adds 1.0-1.25 times its estimate to the pages in use
 * for values of 1 to 65536 bytes, but 1.6 times around 500 bytes (one ~600-byte cell per leaf).
 */
export const ROW_OVERHEAD_BYTES = 40;
/**
 * How many times its estimate a row may add to the pages in use (the worst measured: 1.6, above):
 * a commit measures once the estimate of what was stored since, times this, may reach the bound.
 */
export const GROWTH = 2;

/**
 * A reading's bytes as the log counts them: its value, its text columns (the slot twice, table and
 * index), and ROW_OVERHEAD_BYTES. String lengths, not UTF-8 bytes: cheap, and equal for the ASCII
 * names and topics the gateway carries (the measurement, not this, decides the bound). Also what a
 * pending reading counts against the memory bound (pending.ts).
 */
export function readingBytes(r: LoggedReading): number {
  return r.value.length + 2 * r.slot.length + r.device.length + r.kind.length + (r.source?.length ?? 0) + ROW_OVERHEAD_BYTES;
}

/** readingBytes of a stored row, in SQL (length() of TEXT counts characters, as .length does). */
export const READING_BYTES_SQL = `length(value) + 2 * length(slot) + length(device) + length(kind) + coalesce(length(source), 0) + ${ROW_OVERHEAD_BYTES}`;

export class LogSize {
  private readonly pageCount: StatementSync;
  private readonly freelistCount: StatementSync;
  private readonly pageSize: number;
  /** Bytes in use at the last measurement. */
  private measured: number;
  /** readingBytes of the rows stored by the commits since. */
  private since = 0;

  constructor(
    db: DatabaseSync,
    private readonly maxBytes: number,
  ) {
    this.pageCount = db.prepare('PRAGMA page_count');
    this.freelistCount = db.prepare('PRAGMA freelist_count');
    this.pageSize = Number((db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
    this.measured = this.measure();
  }

  /** What the log holds as far as known: the last measurement plus the estimate of what was stored since. */
  get bytes(): number {
    return this.measured + this.since;
  }

  /** The pages in use now, in bytes (inside a transaction: with its changes). */
  measure(): number {
    const pages = Number((this.pageCount.get() as { page_count: number }).page_count);
    const free = Number((this.freelistCount.get() as { freelist_count: number }).freelist_count);
    return (pages - free) * this.pageSize;
  }

  /**
   * In a commit's transaction, after it stored rows of `added` estimated bytes (and deleted some,
   * `deleted`): the bytes in use, measured, when they may exceed the bound or rows left (a trim's
   * delete, so that the count shown falls with it); undefined when they cannot exceed it.
   */
  check(added: number, deleted: boolean): number | undefined {
    if (!deleted && this.measured + GROWTH * (this.since + added) <= this.maxBytes) return undefined;
    return this.measure();
  }

  /** The commit is in: it stored rows of `added` estimated bytes and last measured `measured` (undefined: it did not). */
  committed(added: number, measured: number | undefined): void {
    if (measured === undefined) this.since += added;
    else {
      this.measured = measured;
      this.since = 0;
    }
  }
}
