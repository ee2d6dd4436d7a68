// How many readings the log holds per slot, kept in memory: counted once at open from the
// (slot, epoch, seq) index, then moved by every change to the readings table — a commit's inserts,
// the deletes receipts allow (receipt-floors.ts), the byte bound's (prune.ts) — once its
// transaction committed. What the status counts as kept for no collector (ReadingLog.heldForNobody)
// is then a sum over slots, not a scan of a log a busy unpublished slot fills to its bound.

import type { DatabaseSync } from 'node:sqlite';

export class SlotCounts {
  /** Every slot the log holds or held readings of (0 once emptied: the byte bound asks of each). */
  private readonly held = new Map<string, number>();
  private sum = 0;

  constructor(db: DatabaseSync) {
    for (const r of db.prepare('SELECT slot, count(*) AS n FROM readings GROUP BY slot').all() as { slot: string; n: number }[]) {
      this.held.set(r.slot, Number(r.n));
      this.sum += Number(r.n);
    }
  }

  /** Readings held, all slots. */
  get total(): number {
    return this.sum;
  }

  /** Every slot the log holds or held readings of, or was given one of (pending). */
  get slots(): Iterable<string> {
    return this.held.keys();
  }

  /**
   * The slots holding readings, those `added` stores in a transaction not committed yet included:
   * what the byte bound looks for (prune.ts; a query for the rows of an emptied slot read the whole table).
   */
  holding(added: ReadonlyMap<string, number>): string[] {
    return [...this.held].filter(([slot, n]) => n > 0 || added.has(slot)).map(([slot]) => slot);
  }

  of(slot: string): number {
    return this.held.get(slot) ?? 0;
  }

  /** A reading of `slot` was appended (pending): the slot is known before its first commit. */
  know(slot: string): void {
    if (!this.held.has(slot)) this.held.set(slot, 0);
  }

  /** A committed transaction stored `added` and deleted `removed` readings, per slot. */
  committed(added: Iterable<[string, number]>, ...removed: Iterable<[string, number]>[]): void {
    for (const [slot, n] of added) this.move(slot, n);
    for (const r of removed) for (const [slot, n] of r) this.move(slot, -n);
  }

  private move(slot: string, n: number): void {
    this.held.set(slot, this.of(slot) + n);
    this.sum += n;
  }
}
