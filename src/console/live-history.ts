// The readings of one slot that an operator's console (`uzpgw connect … ui`) saw since it started:
// it has no database, so a slot's history is what it keeps, the newest HISTORY_MAX. Each value is
// kept as the console serves it (point-budget.ts): measured as the gateway logged it (canonical
// CBOR), and over POINT_VALUE_MAX_BYTES only its size in words, so a serial-raw slot's 64 KiB chunks
// cost a line each, not 128 KiB of hex. An answer keeps to the collector's value budget too.

import { encodeCanonical, type CborValue } from '../uzp/cbor.js';
import { markedJson } from '../uzp/cbor-marked.js';
import type { Point } from './model.js';
import { budgetedPoint, newestWithin, SLOT_ANSWER_MAX_BYTES, type BudgetedPoint } from './point-budget.js';

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
  /** Value bytes of the points kept. */
  private bytes = 0;
  /**
   * Timestamps of the points let go for the byte bound (at most `max`), so that an answer whose
   * period they fall in still says how many it leaves out, as when the budget cuts them.
   */
  private readonly cut: number[] = [];

  /**
   * `max` points, and at most `maxBytes` of their values: an answer serves the newest points that
   * fit SLOT_ANSWER_MAX_BYTES, so older ones could never be served (16 slots of 4 KiB values would
   * otherwise hold 320 MiB in the operator's process for nothing).
   */
  constructor(
    private readonly max = HISTORY_MAX,
    private readonly maxBytes = SLOT_ANSWER_MAX_BYTES,
  ) {}

  /** Keeps `r` (and drops the oldest once more than `max` are kept); returns its point as served, for the live views. */
  add(r: LiveReading): Point {
    // Readings carry floats (HIL messages use the float profile): the size the gateway logged.
    const p = budgetedPoint(r, encodeCanonical(r.value, { floats: true }).length, () => markedJson(r.value));
    this.points.push(p);
    this.bytes += p.bytes;
    // The oldest go past `max` points (as always), then while the values are over `maxBytes` (the newest stays).
    const overCount = Math.max(0, this.points.length - this.max);
    let held = this.bytes;
    for (let i = 0; i < overCount; i++) held -= this.points[i]!.bytes;
    let drop = overCount;
    while (held > this.maxBytes && drop < this.points.length - 1) held -= this.points[drop++]!.bytes;
    if (drop > 0) {
      for (const [i, gone] of this.points.splice(0, drop).entries()) {
        this.bytes -= gone.bytes;
        if (i >= overCount) this.cut.push(gone.point.ts);
      }
      if (this.cut.length > this.max) this.cut.splice(0, this.cut.length - this.max);
    }
    return p.point;
  }

  /** The points stamped at or after `sinceMs`, at most `limit` (the newest), within the answer budget. */
  answer(sinceMs: number, limit: number): { readonly points: readonly Point[]; readonly omittedPoints?: number } {
    const since = this.points.filter((p) => p.point.ts >= sinceMs);
    const window = since.slice(Math.max(0, since.length - limit));
    const { kept, omitted } = newestWithin(window, (p) => p.bytes);
    // Points let go for bytes are older than every kept one: left out only when nothing older was cut by limit.
    const cut = window.length === since.length ? this.cut.filter((ts) => ts >= sinceMs).length : 0;
    return { points: kept.map((p) => p.point), ...(omitted + cut > 0 ? { omittedPoints: omitted + cut } : {}) };
  }
}
