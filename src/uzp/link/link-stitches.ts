// The stitches of one attached RN link, by stitch id: RELAY payloads delivered to theirs, OFFERs
// turned into stitches a responder accepts or rejects (draft §4 step 4), JOINED answers turned into
// the stitch a JOIN waits for (step 3), UNSTITCH from the RN, and all of them ended with the link.
// RnLink (rn-link.ts) owns the socket and the control channel; this owns what rides on it.

import { StateError, type CodedError } from '../../lib/errors.js';
import { ErrorCode } from '../errors.js';
import { ControlKind, PENDING_OFFER_MAX_PAYLOADS, UnstitchCode } from './constants.js';
import type { ControlMessage } from './control.js';
import { joinRefusal } from './join-refusal.js';
import type { Relay } from './messages.js';
import type { PendingJoins } from './pending-joins.js';
import type { Offer } from './rn-link-types.js';
import { LinkStitch, StitchClosedError, type StitchHost } from './stitch.js';

type OfferMessage = Extract<ControlMessage, { kind: typeof ControlKind.OFFER | typeof ControlKind.OFFER_VIA }>;
type Rn = { readonly cid: Uint8Array; readonly publicKey: Uint8Array };

export interface LinkStitchesOptions {
  /** Whoever the stitches write through (the link). */
  readonly host: StitchHost;
  /** Sends a control message on the link's sealed channel. */
  readonly sendControl: (m: ControlMessage) => unknown;
  readonly joins: PendingJoins;
  /**
   * The RN of an offered stitch: `via` undefined is the RN this link is attached to; for OFFER_VIA
   * the RN the initiator JOINed at, undefined unless it is eligible now.
   */
  readonly rnOf: (via: Uint8Array | undefined) => Rn | undefined;
}

export class LinkStitches {
  private readonly byId = new Map<number, LinkStitch>();

  constructor(private readonly o: LinkStitchesOptions) {}

  /** A RELAY frame's payload to its stitch; false when it was dropped (no such stitch, or its queue is full). */
  relay(r: Relay): boolean {
    const s = this.byId.get(r.stitchId);
    return s !== undefined && s.deliver(r.payload, true);
  }

  /** The socket drained: every stitch may write again. */
  drained(): void {
    for (const s of this.byId.values()) s.drained();
  }

  /**
   * An OFFER (or OFFER_VIA): refused at once unless this link accepts offers and someone listens;
   * otherwise a stitch is made now, so RELAY payloads arriving before accept() are kept (bounded)
   * rather than lost, and handed to `emit` with accept() / reject().
   */
  offer(m: OfferMessage, accepting: boolean, emit: ((o: Offer) => void) | undefined): void {
    if (!accepting || emit === undefined || this.byId.has(m.stitchId)) {
      this.o.sendControl({ kind: ControlKind.REJECT_OFFER, stitchId: m.stitchId });
      return;
    }
    const via = m.kind === ControlKind.OFFER_VIA ? m.via : undefined;
    const s = new LinkStitch(m.stitchId, this.o.host, PENDING_OFFER_MAX_PAYLOADS, via);
    this.byId.set(m.stitchId, s);
    let decided = false;
    const rn = this.o.rnOf(via);
    emit({
      stitchId: m.stitchId,
      initiator: m.initiator,
      grant: m.grant,
      ch1: m.ch1,
      ...(rn !== undefined ? { rn } : {}),
      accept: () => {
        if (decided || s.closed) throw new StateError(ErrorCode.LINK_CLOSED, `offer ${m.stitchId}: already rejected or closed`);
        decided = true;
        return s;
      },
      reject: () => {
        if (decided || s.closed) return;
        decided = true;
        this.byId.delete(m.stitchId);
        this.o.sendControl({ kind: ControlKind.REJECT_OFFER, stitchId: m.stitchId });
        s.ended(undefined);
      },
    });
  }

  /** JOINED: the stitch a JOIN waits for; a join given up on (timeout, abort) is unstitched at once. */
  joined(m: Extract<ControlMessage, { kind: typeof ControlKind.JOINED }>): void {
    if (!this.o.joins.has(m.joinId) || this.byId.has(m.stitchId)) {
      // Do not leave the RN holding a stitch nobody waits for.
      this.o.sendControl({ kind: ControlKind.UNSTITCH, stitchId: m.stitchId, code: UnstitchCode.CLOSED });
      return;
    }
    this.o.joins.resolve(m.joinId, () => {
      const s = new LinkStitch(m.stitchId, this.o.host, PENDING_OFFER_MAX_PAYLOADS);
      this.byId.set(m.stitchId, s);
      return s;
    });
  }

  joinRefused(m: Extract<ControlMessage, { kind: typeof ControlKind.JOIN_REFUSED }>): void {
    this.o.joins.reject(m.joinId, joinRefusal(m.code));
  }

  /** UNSTITCH from the RN: the peer (or the RN) ended the stitch. */
  unstitched(m: Extract<ControlMessage, { kind: typeof ControlKind.UNSTITCH }>): void {
    const s = this.byId.get(m.stitchId);
    if (s === undefined) return;
    this.byId.delete(m.stitchId);
    s.ended(new StitchClosedError(m.stitchId, 'peer', m.code));
  }

  /** We end a stitch: the RN is told (UNSTITCH CLOSED). */
  release(stitchId: number): void {
    if (this.byId.delete(stitchId)) this.o.sendControl({ kind: ControlKind.UNSTITCH, stitchId, code: UnstitchCode.CLOSED });
  }

  /** The link ended: every stitch ends by 'link' with `reason`, every waiting JOIN rejects with it. */
  endAll(reason: CodedError): void {
    for (const s of this.byId.values()) s.ended(new StitchClosedError(s.id, 'link', undefined, reason));
    this.byId.clear();
    this.o.joins.rejectAll(reason);
  }
}
