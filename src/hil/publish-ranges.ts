// Receipt ranges (OI §11.5; docs/PROFILE.md §Publishing, receipt "rng"): what a collector states it
// stored, as runs of consecutive seqs per (slot, boot epoch). The collector makes them from the
// rows it committed; the gateway deletes a window only when they cover every reading it sent.

import type { ReceiptRange } from '../uzp/artefacts/receipt.js';
import type { WireReading } from './publish-messages.js';

export type { ReceiptRange };

/**
 * Every reading of `rows` lies in one of `ranges`. The ranges of each (slot, epoch) are sorted and
 * merged, and each row found by binary search: a receipt may carry 4,096 ranges, and checking each
 * row against every range (what this did) cost a gateway ~50 ms per such receipt for a 512-row
 * window, which a collector could send again and again.
 */
export function covers(ranges: readonly ReceiptRange[], rows: readonly WireReading[]): boolean {
  const by = new Map<string, [number, number][]>();
  for (const { slot, epoch, first, last } of ranges) {
    const k = `${epoch}\u0000${slot}`;
    const list = by.get(k);
    if (list === undefined) by.set(k, [[first, last]]);
    else list.push([first, last]);
  }
  const merged = new Map<string, readonly (readonly [number, number])[]>();
  for (const [k, list] of by) merged.set(k, mergeRuns(list));
  return rows.every((r) => {
    const runs = merged.get(`${r.epoch}\u0000${r.slot}`);
    return runs !== undefined && inRuns(runs, r.seq);
  });
}

/** Sorted, disjoint, non-adjacent runs covering exactly what `list` covers. */
function mergeRuns(list: [number, number][]): (readonly [number, number])[] {
  list.sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of list) {
    const top = out[out.length - 1];
    if (top !== undefined && a <= top[1] + 1) top[1] = Math.max(top[1], b);
    else out.push([a, b]);
  }
  return out;
}

function inRuns(runs: readonly (readonly [number, number])[], seq: number): boolean {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const [a, b] = runs[mid]!;
    if (seq < a) hi = mid - 1;
    else if (seq > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The ranges a collector receipts for rows it stored: consecutive seqs of one (slot, epoch) merged. */
export function rangesOf(rows: readonly WireReading[]): ReceiptRange[] {
  const by = new Map<string, { slot: string; epoch: number; seqs: number[] }>();
  for (const r of rows) {
    const k = `${r.epoch}\u0000${r.slot}`;
    const e = by.get(k) ?? { slot: r.slot, epoch: r.epoch, seqs: [] };
    e.seqs.push(r.seq);
    by.set(k, e);
  }
  const out: ReceiptRange[] = [];
  for (const { slot, epoch, seqs } of by.values()) {
    seqs.sort((a, b) => a - b);
    let first = seqs[0]!;
    let prev = first;
    for (const s of seqs.slice(1)) {
      if (s === prev || s === prev + 1) {
        prev = s;
        continue;
      }
      out.push({ slot, epoch, first, last: prev });
      first = prev = s;
    }
    out.push({ slot, epoch, first, last: prev });
  }
  return out;
}
