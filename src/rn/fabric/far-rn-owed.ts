// The UNSTITCHes owed to a far RN judged gone (far-rns.ts; docs/PROFILE.md §Fabric "Liveness of the
// far RN"). When this RN ends its halves of the stitches with an RN P that is absent from NATS,
// nothing it sends can reach P: NATS has no subscriber for P's hop subject and keeps nothing for
// later. Yet P may come back with its halves up — its NATS node restarted, its NATS credentials
// out of date for a while, a stopped P continued after the server dropped its connection — and then
// nothing ever ends them: P's probes and data for them are dropped here as for a stitch this RN
// does not know, and while any other stitch joins the two RNs P hears from us and never finds us
// silent. Its EP stays stitched on a dead path, and the orphans count against P's stitch caps.
//
// So P's ids for those stitches are kept, and P is told (UNSTITCH 3) with the first authenticated
// batch that comes from it after. The hop message names only the receiver's id for a stitch, so
// this is the only place P's ids are known: an UNSTITCH answering P's messages for a stitch we no
// longer have could not name it. Bounded in time (P back later has found us silent, or its EP has
// given up) and in count (the oldest RN's ids go first).

/** How long P's ids are kept for it: far above an RN's restart or a NATS node's. */
export const OWED_MS = 5 * 60_000;
/** Stitch ids kept over every far RN: 4 bytes each, and above the stitches one RN carries in practice. */
export const OWED_MAX = 65_536;

interface Owed {
  readonly stitches: number[];
  readonly until: number;
}

export class OwedUnstitches {
  /** By far RN (CID, hex), oldest loss first. */
  private readonly byRn = new Map<string, Owed>();
  private count = 0;

  constructor(
    private readonly ms = OWED_MS,
    private readonly max = OWED_MAX,
  ) {}

  get empty(): boolean {
    return this.byRn.size === 0;
  }

  /** Our halves of the stitches `stitches` (P's ids) with RN `hex` ended at `now`, P unable to hear it. */
  owe(hex: string, stitches: readonly number[], now: number): void {
    if (stitches.length === 0) return;
    const had = this.byRn.get(hex);
    this.drop(hex);
    for (const [rn, o] of this.byRn) if (o.until <= now) this.drop(rn);
    const all = [...(had?.stitches ?? []), ...stitches].slice(-this.max);
    for (const rn of this.byRn.keys()) {
      if (this.count + all.length <= this.max) break;
      this.drop(rn);
    }
    this.byRn.set(hex, { stitches: all, until: now + this.ms });
    this.count += all.length;
  }

  /** P's ids owed to RN `hex`, now heard from, if any and still in time; forgotten here. */
  take(hex: string, now: number): readonly number[] | undefined {
    const o = this.byRn.get(hex);
    if (o === undefined) return undefined;
    this.drop(hex);
    return o.until > now ? o.stitches : undefined;
  }

  private drop(hex: string): void {
    const o = this.byRn.get(hex);
    if (o === undefined) return;
    this.count -= o.stitches.length;
    this.byRn.delete(hex);
  }
}
