// How `uzpgw collector query` prints readings: as they are read from the store (stream()), each
// written before the next is read, waiting for the output to drain when it pushes back. It loaded
// all of them first (up to --limit 1,000,000 readings, values of up to 512 KiB each). When --limit
// cuts the output, stderr says so: a table that simply ends looks like everything there is.

import type { StoredReading } from '../collector/store/store.js';
import { readingValueField, readingValueJson } from '../console/value.js';
import { toHex } from '../uzp/bytes.js';

export type QueryFormat = 'table' | 'json' | 'csv';

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * ts as an ISO time; one outside the Date range (stored before intake bounded it, or by another
 * tool) as its raw number of ms, not a RangeError that ended the whole output.
 */
function timeOf(ts: number): string {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString();
}

/** One reading as printed, with its newline. */
export function readingLine(r: StoredReading, format: QueryFormat): string {
  const base = { gateway: toHex(r.gateway), slot: r.slot, device: r.device, kind: r.kind, epoch: r.epoch, seq: r.seq, ts: timeOf(r.ts) };
  if (format === 'json') return JSON.stringify({ ...base, ...readingValueField(r.value) }) + '\n';
  const value = readingValueJson(r.value);
  if (format === 'csv') return [base.gateway, base.slot, base.device, base.kind, String(base.epoch), String(base.seq), base.ts, JSON.stringify(value)].map(csvCell).join(',') + '\n';
  return `${base.ts}  ${base.gateway.slice(0, 12)}…  ${base.slot}  ${base.device}  ${base.epoch}/${base.seq}  ${JSON.stringify(value)}\n`;
}

export interface Printed {
  readonly printed: number;
  /** More readings matched than `limit`. */
  readonly cut: boolean;
}

/**
 * Until `out` can take more, or fails. Not events.once(out, 'drain'): a pipe whose reader left
 * (`collector query | head -n1`) rejected it with EPIPE, printed as an unexpected error with a stack.
 */
function drainedOrFailed(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('close', done);
      out.off('error', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
    out.on('error', done);
  });
}

/**
 * Prints at most `limit` readings of `rows` to `out`, one read at a time; a note on `err` when more
 * matched. Stops reading once a write to `out` failed: its reader closed the pipe early (process.stdout
 * then fails every write with EPIPE and is never destroyed; the exit status is main.ts's, via
 * output-closed.ts).
 */
export async function printReadings(rows: AsyncIterable<StoredReading>, out: NodeJS.WritableStream, err: NodeJS.WritableStream, format: QueryFormat, limit: number): Promise<Printed> {
  let failed = false;
  const onError = (): void => void (failed = true);
  out.on('error', onError);
  const put = async (line: string): Promise<void> => {
    if (!out.write(line) && !failed) await drainedOrFailed(out);
  };
  let printed = 0;
  let cut = false;
  try {
    if (format === 'csv') await put('gateway,slot,device,kind,epoch,seq,ts,value\n');
    for await (const r of rows) {
      if (failed) break;
      // One more than asked tells that --limit cut the output; the loop's break ends the read.
      if (printed === limit) {
        cut = true;
        break;
      }
      await put(readingLine(r, format));
      printed++;
    }
  } finally {
    out.off('error', onError);
  }
  if (cut) err.write(`collector query: stopped at --limit ${limit}: more readings match (raise --limit, or narrow with --since/--until/--gateway/--slot)\n`);
  return { printed, cut };
}
