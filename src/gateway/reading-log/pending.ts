// The reading log's pending batch: readings appended and not committed yet, in row id order (which
// is append order), bounded in memory for a disk whose commits keep failing.

import { Listeners } from '../../hil-devices/readings.js';
import type { PendingReading } from './rows.js';

/**
 * Readings kept in memory while commits fail (a full or failing card): beyond, the oldest pending
 * reading nobody waits on is dropped and counted, so a dead disk costs readings, never the
 * gateway's memory. A reading appended `held` (an MQTT message whose acknowledgement waits for its
 * commit) goes only when the first HELD_SCAN_MAX pending readings are all held: its broker keeps the
 * message for us while it is unacknowledged, and its window bounds how many there are.
 */
export const MAX_PENDING = 100_000;
export const HELD_SCAN_MAX = 1024;

export class PendingBatch {
  private items: PendingReading[] = [];
  /** Readings dropped by MAX_PENDING (in memory: the disk was failing), per slot. */
  readonly dropped = new Map<string, number>();
  private readonly drops = new Listeners<[number]>('reading log drops');

  /** In row id order. */
  get readings(): readonly PendingReading[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  add(r: PendingReading): void {
    this.items.push(r);
    if (this.items.length > MAX_PENDING) this.dropOne();
  }

  /** The first `n` were committed or receipted: they are no longer pending. */
  removeFirst(n: number): void {
    if (n > 0) this.items = this.items.slice(n);
  }

  /**
   * Called with the row id of each held reading dropped by MAX_PENDING (only when the oldest
   * HELD_SCAN_MAX are all held; the oldest first): it was never stored, so whoever waits for its
   * commit must not take a later commit for it.
   */
  onDropped(cb: (id: number) => void): () => void {
    return this.drops.on(cb);
  }

  /** MAX_PENDING: the oldest reading nobody waits on, or the oldest of all. */
  private dropOne(): void {
    let i = 0;
    while (i < HELD_SCAN_MAX && i < this.items.length && this.items[i]!.held === true) i++;
    if (i === HELD_SCAN_MAX || i === this.items.length) i = 0;
    const lost = i === 0 ? this.items.shift()! : this.items.splice(i, 1)[0]!;
    this.dropped.set(lost.slot, (this.dropped.get(lost.slot) ?? 0) + 1);
    if (lost.held === true) this.drops.emit(lost.id);
  }
}
