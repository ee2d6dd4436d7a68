// The RN as a carrier of signed artefacts (draft §11.1; docs/PROFILE.md §CONTROL ARTEFACT): it
// holds the newest RN Set Statement and revocation list it was given (files, re-read on SIGHUP and
// on change) and offers them to every endpoint right after its attachment OK, and to every attached
// endpoint whenever it adopts a newer one. Adoption here is the endpoints' rule (src/uzp/artefacts/
// adopt.ts): the RN never holds, and so never sends, anything its trust anchor would not verify or
// anything older than what it has. Endpoints verify again and adopt only newer valid ones: an RN
// can withhold artefacts, never forge them. This is what lets a gateway whose RN Set Statement
// expired be renewed without anyone touching the board.

import type { Adoption } from '../uzp/artefacts/adopt.js';
import type { Envelope, Revocation, RnSet, Valid } from '../uzp/artefacts/types.js';
import { toHex } from '../uzp/bytes.js';
import { ControlKind } from '../uzp/link/constants.js';
import type { ControlMessage } from '../uzp/link/control.js';
import type { RnLog } from './log.js';

/** The part of TrustStore the shelf uses. */
export interface ShelfTrust {
  readonly rnSet: Valid<RnSet> | undefined;
  readonly revocationList: Valid<Revocation> | undefined;
  readonly skewSeconds: number;
  nowSeconds(): number;
  offerRnSet(bytes: Uint8Array): Adoption<RnSet>;
  offerRevocation(bytes: Uint8Array): Adoption<Revocation>;
}

/** An attached link as the shelf sees it (RnConnection fits). */
export interface ArtefactPeer {
  readonly linkId: number;
  sendControl(m: ControlMessage): void;
}

export type ShelfKind = 'rn-set' | 'revocation';

export class RnArtefacts {
  private readonly peers = new Set<ArtefactPeer>();

  constructor(private readonly o: { readonly trust: ShelfTrust; readonly log: RnLog }) {}

  /**
   * A link asked for artefacts (EP -> RN ARTEFACT, empty): it gets what the RN holds, and newer ones
   * later. Asked again, it gets nothing more: it already has them, and each empty request (a few
   * bytes) would otherwise buy up to two 64 KiB envelopes of the RN's CPU and bandwidth.
   */
  attached(peer: ArtefactPeer): void {
    if (this.peers.has(peer)) return;
    this.peers.add(peer);
    for (const a of this.held()) peer.sendControl({ kind: ControlKind.ARTEFACT, artefact: a.bytes });
  }

  detached(peer: ArtefactPeer): void {
    this.peers.delete(peer);
  }

  /** Offers an artefact to the RN's trust store; an adopted one goes to every attached link at once. */
  offer(kind: 'rn-set', bytes: Uint8Array): Adoption<RnSet>;
  offer(kind: 'revocation', bytes: Uint8Array): Adoption<Revocation>;
  offer(kind: ShelfKind, bytes: Uint8Array): Adoption<RnSet> | Adoption<Revocation> {
    const a = kind === 'rn-set' ? this.o.trust.offerRnSet(bytes) : this.o.trust.offerRevocation(bytes);
    if (a.outcome === 'adopted') this.broadcast(a.artefact);
    return a;
  }

  /** What a newly attached link is offered: the held artefacts still inside their window (an expired one would only be refused). */
  private held(): Envelope<unknown>[] {
    const t = this.o.trust;
    const now = t.nowSeconds();
    return [t.rnSet, t.revocationList].filter((a): a is NonNullable<typeof a> => a !== undefined && now - t.skewSeconds <= a.expiresAt);
  }

  private broadcast(a: Envelope<unknown>): void {
    for (const p of this.peers) p.sendControl({ kind: ControlKind.ARTEFACT, artefact: a.bytes });
    this.o.log.info(
      { event: 'artefact_offered', artefact: a.type, object_id: toHex(a.objectId), epoch: a.epoch, sequence: a.sequence, links: this.peers.size },
      'newer artefact offered to every attached endpoint',
    );
  }
}
