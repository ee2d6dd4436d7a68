// The readings of one slot that an operator's console (`uzpgw connect … ui`) saw since it started:
// it has no database, so a slot's history is what it keeps, the newest HISTORY_MAX. Each value is
// kept as the console serves it (point-budget.ts): measured as the gateway logged it (canonical
// CBOR), and over POINT_VALUE_MAX_BYTES only its size in words, so a serial-raw slot's 64 KiB chunks
// cost a line each, not 128 KiB of hex. An answer keeps to the collector's value budget too.

import { cborToJson, encodeCanonical, type CborValue } from '../uzp/cbor.js';
import type { Point } from './model.js';
import { budgetedPoint, newestWithin, type BudgetedPoint } from './point-budget.js';

export const HISTORY_MAX = 5_000;

/** One reading as the HIL delivers it (src/hil/messages.ts `reading`). */
export interface LiveReading {
  readonly ts: number;
  readonly epoch?: number;
  readonly seq: number;
  readonly value: CborValue;
}

export class LiveHistory {
  private readonly points: BudgetedPoint[] = [];

  constructor(private readonly max = HISTORY_MAX) {}

  /** Keeps `r` (and drops the oldest once more than `max` are kept); returns its point as served, for the live views. */
  add(r: LiveReading): Point {
    // Readings carry floats (HIL messages use the float profile): the size the gateway logged.
    const p = budgetedPoint(r, encodeCanonical(r.value, { floats: true }).length, () => cborToJson(r.value));
    this.points.push(p);
    if (this.points.length > this.max) this.points.splice(0, this.points.length - this.max);
    return p.point;
  }

  /** The points stamped at or after `sinceMs`, at most `limit` (the newest), within the answer budget. */
  answer(sinceMs: number, limit: number): { readonly points: readonly Point[]; readonly omittedPoints?: number } {
    const since = this.points.filter((p) => p.point.ts >= sinceMs);
    const { kept, omitted } = newestWithin(since.slice(Math.max(0, since.length - limit)), (p) => p.bytes);
    return { points: kept.map((p) => p.point), ...(omitted > 0 ? { omittedPoints: omitted } : {}) };
  }
}
