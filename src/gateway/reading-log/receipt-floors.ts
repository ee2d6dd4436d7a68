// What the collectors' receipts let the reading log delete (OI §11.5; docs/PROFILE.md "Deleting"),
// slot by slot. A reading leaves the log on receipts only when (1) the windows of every configured
// collector that may receive anything have reached it, (2) every one that may receive its slot has
// receipted it, and (3) at least one collector has: a reading of a slot outside every collector's
// consent, or of a slot whose consent was withdrawn before any collector took it, is no one's to
// receipt and stays until the byte bound drops it (counted as dropped). A value over
// MAX_READING_VALUE reaches no collector: it is never deleted on receipts either.
//
// Each collector's receipts cover every reading up to its cursor, except the slots its windows
// passed over (out of its consent): those are covered only up to the slot's own, lower, position
// (receipt-cursors.ts). Slots no collector passed over ("generic") share one floor, the lowest
// cursor of the collectors that may receive anything; the others get a floor each.

import type { DatabaseSync } from 'node:sqlite';
import { MAX_READING_VALUE } from '../../hil/publish-messages.js';

/** A configured collector as the log's deletes see it. */
export interface Audience {
  /** Its cursor key (its CID in hex). */
  readonly key: string;
  /** It may receive readings of `slot` now (the consent in force). */
  readonly receives: (slot: string) => boolean;
  /** It may receive any reading now (false once its consent is wholly revoked: its receipts still count). */
  readonly receivesAny: () => boolean;
}

/**
 * A bare key: a collector whose scope is not known (its files did not check out at start), waited
 * for on every slot (docs/CONFIG.md "every configured collector"), within the byte bound.
 */
export type AudienceEntry = string | Audience;

/** One collector's receipts: its cursor, and the slots covered only up to a lower row id. */
export interface Coverage {
  /** Every window up to this row id is done (receipted, or had nothing to send): the next session resumes after it. */
  readonly cursor: number;
  /** Slots its windows passed over, each with the row id up to which its receipts cover that slot (below `cursor`). */
  readonly behind: ReadonlyMap<string, number>;
}

export const NO_COVERAGE: Coverage = { cursor: 0, behind: new Map() };

/** The row ids up to which the log may delete, per slot. */
export class Floors {
  constructor(
    /** For slots no collector's windows passed over. */
    readonly generic: number,
    /** For the others. */
    readonly special: ReadonlyMap<string, number>,
  ) {}

  of(slot: string): number {
    return this.special.get(slot) ?? this.generic;
  }

  /** Receipts cover this reading: it may be deleted, or never written. */
  covers(r: { readonly id: number; readonly slot: string; readonly value: Uint8Array }): boolean {
    return r.id <= this.of(r.slot) && r.value.length <= MAX_READING_VALUE;
  }

  /** Some floor is above `before`'s: receipts moved what may be deleted. */
  above(before: Floors): boolean {
    if (this.generic > before.generic) return true;
    for (const [slot, f] of this.special) if (f > before.of(slot)) return true;
    return false;
  }
}

export function floorsOf(audience: readonly AudienceEntry[], coverage: (key: string) => Coverage): Floors {
  if (audience.length === 0) return new Floors(0, new Map());
  const all = audience.map((a) => (typeof a === 'string' ? { key: a, receives: () => true, any: true } : { key: a.key, receives: a.receives, any: a.receivesAny() }));
  const at = (key: string, slot: string | undefined): number => {
    const c = coverage(key);
    return slot === undefined ? c.cursor : (c.behind.get(slot) ?? c.cursor);
  };
  // (3) covered by some collector's receipts; (1) reached by every one that may receive anything,
  // (2) covered by the receipts of each that may receive the slot.
  const floorOf = (slot: string | undefined): number => {
    const some = Math.max(...all.map((a) => at(a.key, slot)));
    const waiting = all.filter((a) => a.any);
    return Math.min(some, ...waiting.map((a) => (slot !== undefined && a.receives(slot) ? at(a.key, slot) : coverage(a.key).cursor)));
  };
  const special = new Map<string, number>();
  for (const a of all) for (const slot of coverage(a.key).behind.keys()) if (!special.has(slot)) special.set(slot, floorOf(slot));
  return new Floors(floorOf(undefined), special);
}

/**
 * Of `slots`, those no collector of `audience` may receive now (outside every one's consent). A
 * bare key (scope unknown) may receive any slot, so with one configured none is.
 */
export function receivedByNone(audience: readonly AudienceEntry[], slots: Iterable<string>): string[] {
  const out: string[] = [];
  for (const s of slots) if (audience.every((a) => typeof a !== 'string' && !a.receives(s))) out.push(s);
  return out;
}

/**
 * Deletes what the floors allow, inside the caller's transaction. Each floor is applied from where
 * the last committed delete left it, so the readings kept below it (a slot no collector takes) are
 * not scanned again at every commit; stage() then commit() once the transaction committed.
 */
export class ReceiptTrim {
  private generic = 0;
  private readonly special = new Map<string, number>();
  private staged: { generic: number; special: Map<string, number> } | undefined;

  /** Deletes what `floors` newly cover: how many readings went per slot (the pages are measured by LogSize). */
  run(db: DatabaseSync, floors: Floors): Deleted {
    let generic = this.generic;
    const special = new Map<string, number>();
    // A slot no longer passed over joins the generic delete, which starts again below its mark.
    for (const [slot, mark] of this.special) if (!floors.special.has(slot)) generic = Math.min(generic, mark);
    // A slot newly passed over had everything the generic delete could take taken up to its mark.
    for (const slot of floors.special.keys()) special.set(slot, this.special.get(slot) ?? this.generic);
    const out: Deleted = { rows: 0, perSlot: new Map(), upTo: 0 };
    const specials = [...floors.special.keys()];
    if (floors.generic > generic) {
      deleteRange(db, out, generic, floors.generic, specials.length === 0 ? '' : ` AND +slot NOT IN (${specials.map(() => '?').join(', ')})`, specials);
      generic = floors.generic;
    }
    for (const [slot, f] of floors.special) {
      const mark = special.get(slot)!;
      if (f <= mark) continue;
      deleteRange(db, out, mark, f, ' AND +slot = ?', [slot]);
      special.set(slot, f);
    }
    this.staged = { generic, special };
    return out;
  }

  /** A new transaction: what an earlier run() staged did not commit. */
  discard(): void {
    this.staged = undefined;
  }

  /** The transaction of the last run() committed. */
  commit(): void {
    if (this.staged === undefined) return;
    this.generic = this.staged.generic;
    this.special.clear();
    for (const [slot, mark] of this.staged.special) this.special.set(slot, mark);
    this.staged = undefined;
  }
}

/** What a delete took: how many readings, per slot, and a row id none of them is above. */
export interface Deleted {
  rows: number;
  readonly perSlot: Map<string, number>;
  upTo: number;
}

/**
 * Deletes the readings with row id in (after, upTo] that `filter` selects and a collector can be
 * sent, counting them per slot into `out` (the log's per-slot counts, slot-counts.ts) by a count
 * of the same rows first: as cheap as the delete alone (its pages are then cached), where RETURNING
 * a row per reading to count tripled its CPU. `+slot` keeps SQLite on the row id range rather than
 * the slot index (a slot's whole history).
 */
function deleteRange(db: DatabaseSync, out: Deleted, after: number, upTo: number, filter: string, params: readonly string[]): void {
  const where = `WHERE id > ? AND id <= ? AND length(value) <= ${MAX_READING_VALUE}${filter}`;
  const perSlot = db.prepare(`SELECT slot, count(*) AS n FROM readings ${where} GROUP BY slot`).all(after, upTo, ...params) as { slot: string; n: number }[];
  const n = Number(db.prepare(`DELETE FROM readings ${where}`).run(after, upTo, ...params).changes);
  for (const r of perSlot) out.perSlot.set(r.slot, (out.perSlot.get(r.slot) ?? 0) + Number(r.n));
  out.rows += n;
  if (n > 0) out.upTo = Math.max(out.upTo, upTo);
}
