// The reading log's pending batch: readings appended and not committed yet, in row id order (which
// is append order), bounded in memory for a disk whose commits keep failing. While commits succeed
// a reading that would go beyond a bound makes the log commit first (reading-log.ts append(),
// CommitTimer.early()): readings are dropped here only while the disk fails.

import { Listeners } from '../../hil-devices/readings.js';
import { readingBytes } from './log-size.js';
import type { PendingReading } from './rows.js';

/**
 * Readings kept in memory while commits fail (a full or failing card): beyond, the oldest pending
 * reading nobody waits on is dropped and counted (and reported once per outage: ReadingLog's
 * onPendingDrop), so a dead disk costs readings, never the gateway's memory. A reading appended
 * `held` (an MQTT message whose acknowledgement waits for its commit) goes only when the first
 * HELD_SCAN_MAX pending readings are all held: its broker keeps the message for us while it is
 * unacknowledged, and its window bounds how many there are. Whoever waits for its commit is told
 * (onDropped); one whose broker sends it again (`resent`: a persistent session) is not counted lost.
 */
export const MAX_PENDING = 100_000;
export const HELD_SCAN_MAX = 1024;
/**
 * The same in bytes (readingBytes: values, text columns and a row's overhead), whatever their count:
 * 100,000 MQTT payloads of the default 64 KiB held 6 GiB, where a Raspberry Pi has 512 MB (review
 * of durable delivery, #2). 32 MiB: with the gateway's own ~100 MB (BENCH.md rss_16_slots) well
 * within a 512 MB board; and at most half the log's maxBytes: a backlog larger than the log would be
 * dropped by its byte bound at the commit that takes it, and half leaves the older half of the log
 * in place when it is. One reading alone over it is kept (its producer bounds its size).
 */
export const MAX_PENDING_BYTES = 32 * 1024 * 1024;

export class PendingBatch {
  private items: PendingReading[] = [];
  private byteCount = 0;
  /** Readings dropped by MAX_PENDING or the byte bound (in memory: the disk was failing), per slot. */
  readonly dropped = new Map<string, number>();
  /** Of them, those not yet taken by takeUnreported(), per slot. */
  private unreported = new Map<string, number>();
  private readonly drops = new Listeners<[number]>('reading log drops');
  /** The byte bound: MAX_PENDING_BYTES, or half the log's bound if less. */
  readonly maxBytes: number;

  constructor(logMaxBytes: number) {
    this.maxBytes = Math.min(MAX_PENDING_BYTES, Math.floor(logMaxBytes / 2));
  }

  /** In row id order. */
  get readings(): readonly PendingReading[] {
    return this.items;
  }

  get length(): number {
    return this.items.length;
  }

  /** readingBytes of the pending readings: at most maxBytes, or one reading's alone. */
  get bytes(): number {
    return this.byteCount;
  }

  /** `r` can be added within both bounds (or alone): nothing would be dropped. */
  fits(r: PendingReading): boolean {
    return this.items.length === 0 || (this.items.length < MAX_PENDING && this.byteCount + readingBytes(r) <= this.maxBytes);
  }

  add(r: PendingReading): void {
    this.items.push(r);
    this.byteCount += readingBytes(r);
    if (this.items.length > MAX_PENDING) this.dropOne();
    while (this.byteCount > this.maxBytes && this.items.length > 1) this.dropOne();
  }

  /** The first `n` were committed or receipted: they are no longer pending. */
  removeFirst(n: number): void {
    if (n <= 0) return;
    for (let i = 0; i < n && i < this.items.length; i++) this.byteCount -= readingBytes(this.items[i]!);
    this.items = this.items.slice(n);
  }

  /** The readings dropped since the last call, per slot; undefined when none (ReadingLog reports them once per outage). */
  takeUnreported(): Record<string, number> | undefined {
    if (this.unreported.size === 0) return undefined;
    const out = Object.fromEntries(this.unreported);
    this.unreported = new Map();
    return out;
  }

  /**
   * Drops every pending reading (a close whose last commit failed: they go with the process),
   * counted as the bounds' drops are, but for the `resent` ones: their MQTT messages were never
   * acknowledged, so the broker sends them again on the gateway's persistent session (the default
   * for QoS >= 1, docs/CONFIG.md); counted, they were reported lost while the broker still had them.
   */
  dropAll(): void {
    for (const r of this.items) this.lose(r);
    this.items = [];
    this.byteCount = 0;
  }

  /**
   * Called with the row id of each held reading dropped by a bound (only when the oldest
   * HELD_SCAN_MAX are all held; the oldest first): it was never stored, so whoever waits for its
   * commit must not take a later commit for it.
   */
  onDropped(cb: (id: number) => void): () => void {
    return this.drops.on(cb);
  }

  /** Over a bound: the oldest reading nobody waits on, or the oldest of all. */
  private dropOne(): void {
    let i = 0;
    while (i < HELD_SCAN_MAX && i < this.items.length && this.items[i]!.held === true) i++;
    if (i === HELD_SCAN_MAX || i === this.items.length) i = 0;
    const lost = i === 0 ? this.items.shift()! : this.items.splice(i, 1)[0]!;
    this.byteCount -= readingBytes(lost);
    this.lose(lost);
  }

  /** Whoever waits for `r` is told; counted lost unless its source sends it again (dropAll()). */
  private lose(r: PendingReading): void {
    if (r.held === true) this.drops.emit(r.id);
    if (r.resent !== true) this.count(r);
  }

  private count(lost: PendingReading): void {
    this.dropped.set(lost.slot, (this.dropped.get(lost.slot) ?? 0) + 1);
    this.unreported.set(lost.slot, (this.unreported.get(lost.slot) ?? 0) + 1);
  }
}
