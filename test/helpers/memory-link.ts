// A LinkPort in memory (test/helpers/memory-stitch.ts stitches): join() hands the peer link an
// offer, as an RN would, and records what it carried, so tests can deliver it again (a replay by
// a hostile RN, draft §9) or look at it.

import { EventEmitter } from 'node:events';
import type { LinkPort, OfferPort } from '../../src/uzp/endpoint.js';
import type { StitchPort } from '../../src/uzp/session/session.js';
import { stitchPair, type Hook } from './memory-stitch.js';

export class MemoryLink extends EventEmitter implements LinkPort {
  peer: MemoryLink | undefined;
  /** Our end of the last stitch join() made. */
  lastStitch: (StitchPort & { closed: boolean }) | undefined;
  /** Every JOIN made: the Grant and what went in the CH1 position. */
  readonly joins: { grant: Uint8Array; ch1: Uint8Array }[] = [];

  constructor(
    readonly cid: Uint8Array,
    private readonly hook?: Hook,
  ) {
    super();
  }

  join(_target: Uint8Array, grant: Uint8Array, ch1: Uint8Array | ((rn: Uint8Array) => Uint8Array)): Promise<StitchPort> {
    const bytes = typeof ch1 === 'function' ? ch1(new Uint8Array(32)) : ch1;
    this.joins.push({ grant, ch1: bytes });
    const [ours, theirs] = stitchPair(this.hook);
    this.lastStitch = ours;
    this.peer?.emit('offer', offerOf(ours.id, this.cid, grant, bytes, theirs));
    return Promise.resolve(ours);
  }

  /** Delivers `join` to `to` again, as a hostile RN could; returns our end of the new stitch. */
  static replay(to: MemoryLink, initiator: Uint8Array, join: { grant: Uint8Array; ch1: Uint8Array }): StitchPort & { closed: boolean } {
    const [ours, theirs] = stitchPair();
    to.emit('offer', offerOf(ours.id, initiator, join.grant, join.ch1, theirs));
    return ours;
  }

  accept(): void {}
}

function offerOf(stitchId: number, initiator: Uint8Array, grant: Uint8Array, ch1: Uint8Array, theirs: StitchPort): OfferPort {
  return { stitchId, initiator, grant, ch1, accept: () => theirs, reject: () => theirs.close() };
}
