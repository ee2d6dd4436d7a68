// The reading log's receipt cursors (OI §11.3, §11.5): for each collector, its cursor, the row id up
// to which every window it was sent is done (receipted, or had nothing for it) and where its next
// session resumes; and for each slot its windows passed over (outside its consent) the lower row id
// up to which its receipts really cover that slot. Passing a reading over is not receipting it:
// what may be deleted, or never written (reading-log.ts "Receipted before committed"), follows from
// both, slot by slot (receipt-floors.ts). A cursor's advance is kept in memory and written with a
// later commit (receipts ride on a batch's transaction: on an SD card one commit, not one per
// receipt); a crash before it only means those readings are sent again (the collector stores each
// once). When a floor last rose says whether receipts are flowing, which is when the timed commit
// waits for them first. Whom the log keeps readings for (the configured collectors, with their
// consent now) is asked of the gateway (setAudience()) whenever it matters, from the log's open on.
// It was taken from the last receipt: until the first receipt of a run the byte bound dropped the
// oldest readings of any slot, a collector's too, and a restart while every collector is away is
// when the log fills.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Clock } from '../../lib/clock.js';
import type { NobodysReadings } from './prune.js';
import { hasTable } from '../../lib/sqlite-tables.js';
import { createSlotCursors, SLOT_CURSORS } from './schema.js';
import { Floors, floorsOf, NO_COVERAGE, ReceiptTrim, receivedByNone, type AudienceEntry, type Coverage, type Deleted } from './receipt-floors.js';

/** Windows a collector's receipts completed, in order: what ReadingLog.receipted() is told. */
export interface DoneWindows {
  /** The row id the first of them starts after (default: the collector's cursor). */
  readonly from?: number;
  /** Slots whose readings they passed over, each with the row id before the first one passed over. */
  readonly passed?: ReadonlyMap<string, number>;
}

/** A collector's coverage not yet written; `behindChanged`: its slots' rows must be written too. */
export interface Unwritten {
  readonly collector: string;
  readonly coverage: Coverage;
  readonly behindChanged: boolean;
}

export class ReceiptCursors {
  /** Every collector's coverage (read at open, then as receipts come): the one copy readers use. */
  private readonly coverage = new Map<string, Coverage>();
  /** Coverage changed and not yet written (ReadingLog.receipted()). */
  private readonly advanced = new Map<string, Unwritten>();
  /** The configured collectors with their consent now (setAudience()): whom deletes wait for; none until told. */
  private audience: () => readonly AudienceEntry[] = () => [];
  /** When some floor last rose: receipts are flowing. */
  private floorMovedAt = -Infinity;
  private readonly trim = new ReceiptTrim();
  private readonly upsert: StatementSync;
  /** The slot_cursors statements, once the table is there: a log written before it, opened on a full card, has none (schema.ts). */
  private behindRows: BehindRows | undefined;
  /** Made inside the commit that is writing (write()), kept once it committed (written()). */
  private madeRows: BehindRows | undefined;

  constructor(private readonly db: DatabaseSync, private readonly clock: Clock) {
    this.upsert = db.prepare('INSERT INTO cursors (collector, id) VALUES (?, ?) ON CONFLICT (collector) DO UPDATE SET id = max(id, excluded.id)');
    const behind = new Map<string, Map<string, number>>();
    if (hasTable(db, SLOT_CURSORS)) {
      this.behindRows = behindRows(db);
      for (const r of db.prepare(`SELECT collector, slot, id FROM ${SLOT_CURSORS}`).all() as { collector: string; slot: string; id: number }[]) {
        behind.set(r.collector, (behind.get(r.collector) ?? new Map<string, number>()).set(r.slot, Number(r.id)));
      }
    }
    for (const r of db.prepare('SELECT collector, id FROM cursors').all() as { collector: string; id: number }[]) {
      this.coverage.set(r.collector, { cursor: Number(r.id), behind: behind.get(r.collector) ?? new Map() });
    }
  }

  /** The row id up to which every window `collector` was sent is done (0: none yet). */
  of(collector: string): number {
    return this.covered(collector).cursor;
  }

  /** What `collector`'s receipts cover: its cursor, and the slots covered only up to a lower row id. */
  covered(collector: string): Coverage {
    return this.coverage.get(collector) ?? NO_COVERAGE;
  }

  /**
   * Where `collector`'s next session starts: its cursor, or lower when a slot its windows passed
   * over is one it `receives` now (a renewed grant that covers it again): from that slot's own
   * position, so its readings the log still holds are sent (the others again too; the collector
   * stores each once) and its receipts can cover them.
   */
  resumeAt(collector: string, receives: (slot: string) => boolean): number {
    const c = this.covered(collector);
    let at = c.cursor;
    for (const [slot, id] of c.behind) if (id < at && receives(slot)) at = id;
    return at;
  }

  /**
   * Whom the log keeps readings for from now on: `audience` is asked each time (a consent narrowed
   * by a revocation counts at once). A bare key (a collector whose scope is unknown) may receive
   * any slot (receipt-floors.ts).
   */
  setAudience(audience: () => readonly AudienceEntry[]): void {
    this.audience = audience;
  }

  /**
   * What the byte bound drops first (prune.ts): of `slots`, those no configured collector may
   * receive now; undefined while the log has no collectors (without publishing: it keeps readings
   * for no one in particular, so it drops oldest first).
   */
  nobodys(slots: Iterable<string>): NobodysReadings | undefined {
    const audience = this.audience();
    return audience.length === 0 ? undefined : { slots: receivedByNone(audience, slots) };
  }

  /** What the collectors' receipts let the log delete now, per slot. */
  floors(): Floors {
    return floorsOf(this.audience(), (key) => this.covered(key));
  }

  /** Some collector's receipts decide what a trim deletes. */
  get trimming(): boolean {
    return this.audience().length > 0;
  }

  /** Advances wait to be written by a commit. */
  get owed(): boolean {
    return this.advanced.size > 0;
  }

  /** A floor rose less than `ms` ago. */
  movedWithin(ms: number): boolean {
    return this.clock.now() - this.floorMovedAt < ms;
  }

  /**
   * `collector`'s receipts completed the windows up to row id `upTo` (`done`: from where, and what
   * they passed over). A slot passed over stays behind at the row before its first reading passed
   * over; one already behind catches up only through windows that follow on from its own position
   * (a session resumed there, resumeAt()).
   */
  advance(collector: string, upTo: number, done: DoneWindows = {}): void {
    const before = this.floors();
    const old = this.covered(collector);
    const from = done.from ?? old.cursor;
    const passed = done.passed ?? new Map<string, number>();
    const cursor = Math.max(old.cursor, upTo);
    const behind = new Map<string, number>();
    for (const slot of new Set([...old.behind.keys(), ...passed.keys()])) {
      const was = old.behind.get(slot) ?? old.cursor;
      // Covered up to `was`; the windows continue that coverage only when they start at or below it.
      const now = was >= from ? Math.max(was, passed.get(slot) ?? upTo) : was;
      if (now < cursor) behind.set(slot, now);
    }
    const next = { cursor, behind };
    this.coverage.set(collector, next);
    // The slots' rows are written only when they changed: most commits carry a cursor alone.
    const behindChanged = this.advanced.get(collector)?.behindChanged === true || !sameEntries(old.behind, behind);
    this.advanced.set(collector, { collector, coverage: next, behindChanged });
    if (this.floors().above(before)) this.floorMovedAt = this.clock.now();
  }

  /** The advances not yet written, as a commit takes them. */
  unwritten(): Unwritten[] {
    return [...this.advanced.values()];
  }

  /** Inside a commit's transaction: writes `cursors` (from unwritten()). */
  write(cursors: readonly Unwritten[]): void {
    this.trim.discard();
    this.madeRows = undefined;
    for (const { collector, coverage, behindChanged } of cursors) {
      this.upsert.run(collector, coverage.cursor);
      if (!behindChanged) continue;
      const rows = this.behindRows ?? this.madeRows ?? (this.madeRows = makeBehindRows(this.db));
      rows.clear.run(collector);
      for (const [slot, id] of coverage.behind) rows.add.run(collector, slot, id);
    }
  }

  /** Inside a commit's transaction, after write(): deletes what `floors` (taken before it) allow. */
  deleteCovered(db: DatabaseSync, floors: Floors): Deleted {
    return this.trim.run(db, floors);
  }

  /** The transaction that wrote `cursors` (and deleted) committed: those not advanced again since are stored. */
  written(cursors: readonly Unwritten[]): void {
    this.trim.commit();
    this.behindRows ??= this.madeRows;
    this.madeRows = undefined;
    for (const u of cursors) if (this.advanced.get(u.collector) === u) this.advanced.delete(u.collector);
  }
}

function sameEntries(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

interface BehindRows {
  readonly clear: StatementSync;
  readonly add: StatementSync;
}

function behindRows(db: DatabaseSync): BehindRows {
  return { clear: db.prepare(`DELETE FROM ${SLOT_CURSORS} WHERE collector = ?`), add: db.prepare(`INSERT INTO ${SLOT_CURSORS} (collector, slot, id) VALUES (?, ?, ?)`) };
}

/**
 * slot_cursors made in the transaction of the commit that first stores a slot's coverage, for a log
 * that opened without it (a full card then). A card still full fails that commit as it fails its
 * readings (retried, reported: commit-timer.ts); the table goes with its rollback, and the next
 * commit makes it again (madeRows is kept only by written()).
 */
function makeBehindRows(db: DatabaseSync): BehindRows {
  createSlotCursors(db);
  return behindRows(db);
}
