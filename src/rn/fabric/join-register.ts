// The egress RN's memory of the fabric JOIN requests it answered (docs/PROFILE.md §Fabric "At the
// egress RN"): a request seen before is a replay (refused), and a request for an ingress stitch it
// already made a stitch for — the ingress sent it again after a timeout, to this RN once more — is
// answered with that stitch, not a second one (a second OFFER of the same CH1 to the target would
// give the initiator two handshakes on one stitch). Entries live while a request could still pass
// the freshness check, and at most `max` of each.

import { toHex } from '../../uzp/bytes.js';
import type { FabricJoin } from './messages.js';
import type { RemoteSide } from './hooks.js';

interface Made {
  readonly id: number;
  readonly remote: RemoteSide;
}

export class JoinRegister {
  private readonly seen = new Map<string, number>();
  private readonly made = new Map<string, Made & { readonly until: number }>();

  constructor(private readonly max: number) {}

  /** This very request (ingress, ingress stitch, at_ms) was answered before. */
  replayed(j: FabricJoin): boolean {
    return this.seen.has(requestKey(j));
  }

  /** The stitch made for `j`'s ingress stitch, if one was (the caller checks it is still up). */
  madeFor(j: FabricJoin): Made | undefined {
    return this.made.get(stitchKey(j));
  }

  /** Remembers `j` until `until` (our clock), and the stitch made for it if any. */
  answered(j: FabricJoin, until: number, now: number, made?: Made): void {
    this.seen.set(requestKey(j), until);
    sweep(this.seen, now, this.max);
    if (made === undefined) return;
    this.made.set(stitchKey(j), { ...made, until });
    sweep(this.made, now, this.max);
  }
}

const requestKey = (j: FabricJoin): string => `${toHex(j.ingress)}/${j.ingressStitch}/${j.atMs}`;
const stitchKey = (j: FabricJoin): string => `${toHex(j.ingress)}/${j.ingressStitch}`;

/**
 * Drops expired entries and those over `max`. Maps are in arrival order, so expired entries go from
 * the front; one that lives longer (a skewed ingress) may hold later ones back a while.
 */
function sweep<V extends number | { readonly until: number }>(m: Map<string, V>, now: number, max: number): void {
  for (const [k, v] of m) {
    if ((typeof v === 'number' ? v : v.until) >= now && m.size <= max) break;
    m.delete(k);
  }
}
