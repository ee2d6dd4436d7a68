// Receipt ranges (OI §11.5; docs/PROFILE.md §Publishing, receipt "rng"): what a collector states it
// stored, as runs of consecutive seqs per (slot, boot epoch). The collector makes them from the
// rows it committed; the gateway deletes a window only when they cover every reading it sent.

import type { ReceiptRange } from '../uzp/artefacts/receipt.js';
import type { WireReading } from './publish-messages.js';

export type { ReceiptRange };

/** Every reading of `rows` lies in one of `ranges`. */
export function covers(ranges: readonly ReceiptRange[], rows: readonly WireReading[]): boolean {
  const by = new Map<string, (readonly [number, number])[]>();
  for (const { slot, epoch, first, last } of ranges) {
    const k = `${epoch}\u0000${slot}`;
    const list = by.get(k) ?? [];
    list.push([first, last]);
    by.set(k, list);
  }
  return rows.every((r) => (by.get(`${r.epoch}\u0000${r.slot}`) ?? []).some(([a, b]) => r.seq >= a && r.seq <= b));
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
