// The reading log's receipt cursors (OI §11.3, §11.5): for each collector, the row id up to which
// its signed receipts cover every reading. What every configured collector's receipts cover (the
// floor) is deleted, or never written (reading-log.ts "Receipted before committed"). A cursor's
// advance is kept in memory and written with a later commit (receipts ride on a batch's
// transaction: on an SD card one commit, not one per receipt); a crash before it only means those
// readings are sent again (the collector stores each once). When the floor last rose says whether
// receipts are flowing, which is when the timed commit waits for them first.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Clock } from '../../lib/clock.js';

export class ReceiptCursors {
  /** Cursor advances not yet committed (ReadingLog.receipted()). */
  private readonly advanced = new Map<string, number>();
  /** The collectors a trim waits for. */
  private trimFor: readonly string[] = [];
  /** When every collector's receipts last moved on (the floor rose): receipts are flowing. */
  private floorMovedAt = -Infinity;
  private readonly upsert: StatementSync;

  constructor(
    private readonly db: DatabaseSync,
    private readonly clock: Clock,
  ) {
    this.upsert = db.prepare('INSERT INTO cursors (collector, id) VALUES (?, ?) ON CONFLICT (collector) DO UPDATE SET id = max(id, excluded.id)');
  }

  /** The row id up to which `collector`'s receipts cover every reading (0: none yet). */
  of(collector: string): number {
    return Math.max(this.stored(collector), this.advanced.get(collector) ?? 0);
  }

  private stored(collector: string): number {
    const row = this.db.prepare('SELECT id FROM cursors WHERE collector = ?').get(collector) as { id: number } | undefined;
    return row === undefined ? 0 : Number(row.id);
  }

  /** The row id up to which every collector a trim waits for has receipted (0: none, or no collectors). */
  floor(): number {
    if (this.trimFor.length === 0) return 0;
    return Math.min(...this.trimFor.map((c) => this.of(c)));
  }

  /** Some collector's receipts decide what a trim deletes. */
  get trimming(): boolean {
    return this.trimFor.length > 0;
  }

  /** Advances wait to be written by a commit. */
  get owed(): boolean {
    return this.advanced.size > 0;
  }

  /** The floor rose less than `ms` ago. */
  movedWithin(ms: number): boolean {
    return this.clock.now() - this.floorMovedAt < ms;
  }

  /** `collector`'s receipts cover every reading up to row id `id`; `collectors` are those a trim waits for. */
  advance(collector: string, id: number, collectors: readonly string[]): void {
    const floor = this.floor();
    this.advanced.set(collector, Math.max(id, this.advanced.get(collector) ?? 0));
    this.trimFor = [...collectors];
    if (this.floor() > floor) this.floorMovedAt = this.clock.now();
  }

  /** The advances not yet written, as a commit takes them. */
  unwritten(): [string, number][] {
    return [...this.advanced];
  }

  /** Inside a commit's transaction: writes `cursors` (from unwritten()). */
  write(cursors: readonly (readonly [string, number])[]): void {
    for (const [collector, id] of cursors) this.upsert.run(collector, id);
  }

  /** The transaction that wrote `cursors` committed: those not advanced again since are stored. */
  written(cursors: readonly (readonly [string, number])[]): void {
    for (const [collector, id] of cursors) if (this.advanced.get(collector) === id) this.advanced.delete(collector);
  }
}
