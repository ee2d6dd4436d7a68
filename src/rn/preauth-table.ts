// The RN's pre-auth table: which connections hold one of its unauthenticated slots, grouped by
// source (src/rn/source.ts), oldest first. It only keeps the books and picks eviction victims;
// the policy of who may take a slot and from whom lives in admission.ts. Memory is bounded by the
// table size the caller enforces (one array entry per holder, one group per source with a holder).

/** A connection holding a pre-auth slot. */
export interface PreauthHolder {
  readonly sourceKey: string;
  /** No byte received yet (not even HELLO): the cheapest to lose, the likeliest to be a flood. */
  readonly silent: boolean;
  /** Closes the connection; it has already left the table. */
  evict(): void;
}

export class PreauthTable {
  private readonly groups = new Map<string, PreauthHolder[]>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  /** Sources with at least one holder. */
  get sources(): number {
    return this.groups.size;
  }

  countOf(source: string): number {
    return this.groups.get(source)?.length ?? 0;
  }

  /** Holders whose source satisfies `pred` (a scan of at most `size` groups). */
  countWhere(pred: (source: string) => boolean): number {
    let n = 0;
    for (const [source, g] of this.groups) if (pred(source)) n += g.length;
    return n;
  }

  add(h: PreauthHolder): void {
    const g = this.groups.get(h.sourceKey);
    if (g === undefined) this.groups.set(h.sourceKey, [h]);
    else g.push(h);
    this.total++;
  }

  /** Removes `h`; false when it was not in the table (already evicted or left). */
  remove(h: PreauthHolder): boolean {
    const g = this.groups.get(h.sourceKey);
    const i = g?.indexOf(h) ?? -1;
    if (i === -1) return false;
    g!.splice(i, 1);
    if (g!.length === 0) this.groups.delete(h.sourceKey);
    this.total--;
    return true;
  }

  /**
   * The source with the most holders among those `eligible`, if it holds more than `than`; ties go
   * to the source that has held slots longest (Map order: the group created first).
   */
  heaviest(eligible: (source: string) => boolean, than: number): string | null {
    let best: string | null = null;
    let bestCount = than;
    for (const [source, g] of this.groups) {
      if (g.length > bestCount && eligible(source)) {
        best = source;
        bestCount = g.length;
      }
    }
    return best;
  }

  /** Removes and returns the victim of `source`: its oldest silent holder, else its oldest. */
  takeVictim(source: string): PreauthHolder | null {
    const g = this.groups.get(source);
    if (g === undefined) return null;
    const victim = g.find((h) => h.silent) ?? g[0]!;
    this.remove(victim);
    return victim;
  }
}
