// The rendezvous fabric's contract with the Switchboard (issue #16): what the Switchboard asks of
// the fabric (presence, routing a JOIN, the far side of a stitch) and what a cross-RN stitch's far
// side is. Types only; fabric.ts and remote-peer.ts implement them.

import type { JoinMessage, Peer } from '../switchboard.js';

/** The rendezvous fabric as the Switchboard uses it (src/rn/fabric/fabric.ts; issue #16). */
export interface FabricHooks {
  /** This RN now holds an accepting link of `cid` (the first one). */
  present(cid: Uint8Array): void;
  /** The last accepting link of `cid` left. */
  absent(cid: Uint8Array): void;
  /** The far side of cross-RN stitch `stitchId` (this RN's id) for the EP `cid`, not yet connected to an RN. */
  remote(cid: Uint8Array, stitchId: number): RemoteSide;
  /**
   * Asks the RN that holds `m.target` to stitch it to `initiator` (ingress stitch `stitchId`); resolves
   * with that RN and its stitch id, or a JOIN_REFUSED code.
   */
  route(initiator: Peer, m: JoinMessage, stitchId: number): Promise<{ rn: Uint8Array; stitch: number } | { code: number }>;
}

/** A Peer on another RN of the fabric (src/rn/fabric/remote-peer.ts). */
export interface RemoteSide extends Peer {
  /** The RN the stitch was made with: the only one whose hop messages count for it; undefined until connect(). */
  readonly rn: Uint8Array | undefined;
  /** Where the far side is: its RN and that RN's id for the stitch (ingress: once the JOIN reply came). */
  connect(rn: Uint8Array, stitch: number): void;
  /** Receiving side: a frame at `offset` of `length` bytes went to the local EP. */
  delivered(offset: number, length: number): void;
  credit(offset: number): void;
  close(): void;
}

/** The egress half of a cross-RN JOIN (the fabric's JOIN request, checked by the fabric). */
export interface RemoteJoin {
  /** The RN the initiator JOINed at (its CID), named to our EP in OFFER_VIA. */
  readonly ingress: Uint8Array;
  readonly initiator: Uint8Array;
  readonly target: Uint8Array;
  readonly grant: Uint8Array;
  readonly ch1: Uint8Array;
  /** Builds the far side (the initiator's RN) of stitch `stitchId` (this RN's id), connected. */
  remote(stitchId: number): RemoteSide;
}
