// How the SQLite store's stream() (sqlite.ts) reads: keyset pages, each one statement stepped to
// its bound and ended before any of its readings is handed on. One statement held open from the
// first reading to the last kept a read snapshot for as long as `collector query`'s reader (a pipe
// into a slow consumer) took, and a WAL checkpoint cannot pass a snapshot: the running collector's
// WAL grew for the whole export.

import type { StatementSync } from 'node:sqlite';
import type { StreamQuery } from './store.js';

/**
 * What stream() reads per statement: at most this many readings, or values of this many bytes (a
 * reading may be 512 KiB), held between the database and the reader. Between two pages no
 * statement is open.
 */
export const STREAM_PAGE_ROWS = 1000;
export const STREAM_PAGE_BYTES = 4 * 1024 * 1024;

export interface Row {
  gateway: string;
  slot: string;
  device: string;
  kind: string;
  epoch: number;
  seq: number;
  ts: number;
  value: Uint8Array;
  /** length(value), as stored. */
  value_bytes: number;
}

/** Where a page of stream() starts: conditions on the key, after those of the query. */
export interface Keyset {
  readonly conds: readonly string[];
  readonly args: readonly (string | number)[];
  /** Within one (gateway, slot): when it runs out, the next one is read. */
  readonly within?: boolean;
}

/**
 * Where the page after `page` (read from `from`) starts, or undefined when nothing is left. A page
 * that reached its bound goes on within its last reading's (gateway, slot), with the key's prefix
 * as equalities, so every page is a seek in the unique index and no row is read twice: a bare
 * (gateway, slot, epoch, seq) > (…) is not one when the query fixes the gateway. When that runs
 * out, the next (gateway, slot) — by the columns the query leaves free — and so on.
 */
export function nextPage(q: StreamQuery, from: Keyset, page: { rows: readonly Row[]; more: boolean }): Keyset | undefined {
  const last = page.rows[page.rows.length - 1];
  if (page.more) return { conds: ['gateway = ? AND slot = ? AND (epoch, seq) > (?, ?)'], args: [last!.gateway, last!.slot, last!.epoch, last!.seq], within: true };
  // From the start or into the next (gateway, slot): everything after was read.
  if (from.within !== true) return undefined;
  const at = last ?? { gateway: from.args[0] as string, slot: from.args[1] as string };
  if (q.gateway !== undefined && q.slot !== undefined) return undefined;
  if (q.gateway !== undefined) return { conds: ['slot > ?'], args: [at.slot] };
  if (q.slot !== undefined) return { conds: ['gateway > ?'], args: [at.gateway] };
  return { conds: ['(gateway, slot) > (?, ?)'], args: [at.gateway, at.slot] };
}

/**
 * One page of stream(): rows stepped until STREAM_PAGE_ROWS of them or STREAM_PAGE_BYTES of values
 * (at least one), then the statement ended — and with it the read snapshot, before any of them is
 * handed to a reader that may take its time (a WAL checkpoint cannot pass a snapshot held open).
 */
export function readPage(st: StatementSync, args: (string | number)[]): { rows: Row[]; more: boolean } {
  const it = st.iterate(...args);
  const rows: Row[] = [];
  let bytes = 0;
  try {
    for (let next = it.next(); next.done !== true; next = it.next()) {
      const r = next.value as unknown as Row;
      rows.push(r);
      bytes += Number(r.value_bytes);
      if (rows.length >= STREAM_PAGE_ROWS || bytes >= STREAM_PAGE_BYTES) return { rows, more: true };
    }
    return { rows, more: false };
  } finally {
    it.return?.();
  }
}
