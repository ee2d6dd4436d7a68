// How much of the readings' values a console serves (docs/CONSOLE.md "The API"), the same rule for
// both consoles: the collector's (values read from its database) and an operator's (`connect … ui`,
// values seen live). A slot may carry values of up to 512 KiB (MQTT payloads, serial-raw chunks of
// max_buffer_bytes; as hex in JSON twice that), while the page shows a value's first 200 characters:
// a whole value kept, sent to every live view and served in a slot answer of thousands of points
// made answers of hundreds of MiB, past what JSON.stringify can make at all (a 500 on every load).

import type { Point } from './model.js';
import { seriesOf } from './series.js';

/**
 * A value longer than this (CBOR bytes, as the gateway logs it) is not shown, nor sent live: a
 * placeholder stands for it. 4 KiB keeps the plotted numbers of a poll group of 125 named registers.
 */
export const POINT_VALUE_MAX_BYTES = 4096;
/** Value bytes one slot answer carries at most: the newest points that fit, the older ones counted. */
export const SLOT_ANSWER_MAX_BYTES = 8 * 1024 * 1024;

/** What a console shows for a value of `bytes` CBOR bytes over POINT_VALUE_MAX_BYTES. */
export function tooLargeText(bytes: number): string {
  return `(${bytes} bytes: too large to show here)`;
}

/** A point as served, and the value bytes it counts against an answer's budget (0 for a placeholder). */
export interface BudgetedPoint {
  readonly point: Point;
  readonly bytes: number;
}

/**
 * The point of one reading whose value is `bytes` CBOR bytes long: its value from `decode()`, or over
 * POINT_VALUE_MAX_BYTES the placeholder, which plots nothing (`decode` is then not called: the
 * collector does not even read such a value from its database).
 */
export function budgetedPoint(at: { readonly ts: number; readonly epoch?: number; readonly seq: number }, bytes: number, decode: () => unknown): BudgetedPoint {
  const where = { ts: at.ts, ...(at.epoch !== undefined ? { epoch: at.epoch } : {}), seq: at.seq };
  if (bytes > POINT_VALUE_MAX_BYTES) return { point: { ...where, values: {}, value: tooLargeText(bytes) }, bytes: 0 };
  const value = decode();
  return { point: { ...where, values: seriesOf(value), value }, bytes };
}

/**
 * The newest of `items` (oldest first) whose value bytes together fit `max`, and how many older ones
 * were left out: an answer keeps the most recent part of the period asked for, and says what it cut.
 */
export function newestWithin<T>(items: readonly T[], bytesOf: (t: T) => number, max = SLOT_ANSWER_MAX_BYTES): { readonly kept: readonly T[]; readonly omitted: number } {
  let first = items.length;
  for (let bytes = 0; first > 0 && (bytes += bytesOf(items[first - 1]!)) <= max; first--);
  return { kept: first === 0 ? items : items.slice(first), omitted: first };
}
