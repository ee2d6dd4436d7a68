// Answers to probes (docs/PROFILE.md §Fabric "Liveness of the far RN", stitches P does not have).
// A probe is a hop batch of CREDITs sent with a NATS reply subject (far-rns.ts); each CREDIT names
// the receiver's id of a stitch with the prober. An RN that has no such stitch with the
// prober — it restarted (its stitches went with the process), or ended it and the UNSTITCH was lost
// (NATS is at most once), or gave up on the JOIN it was made for — answers on that reply subject
// with a hop batch of UNKNOWN messages, one per such CREDIT, tagged as any batch from it to the
// prober. Without an answer the prober's half stayed up: until the prober found it silent (20 s),
// or for good while any other stitch joins the two RNs, which keeps it probing and being probed.
//
// One answer per probe at most, smaller than the probe (5 bytes per 13-byte CREDIT), only to an
// authenticated probe: no amplification, nothing kept. A stitch whose far RN is not known yet (the
// JOIN reply on its way) is known: the prober's id for it may be in that reply.

import { equal } from '../../uzp/bytes.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import { HopType, decodeHops, encodeHopUnknown, splitHopBatch, type HopMessage } from './messages.js';

/** What the switchboard has for a stitch id: its far RN (undefined: the JOIN reply is not in yet). */
export type StitchLookup = (stitch: number) => { readonly rn: Uint8Array | undefined } | undefined;

/**
 * The UNKNOWN messages answering the CREDITs of probe `hops` from RN `from` that name no stitch this
 * RN has with it (none: no answer).
 */
export function answerProbe(hops: readonly HopMessage[], from: Uint8Array, remoteOf: StitchLookup): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const h of hops) {
    if (h.type !== HopType.CREDIT) continue;
    const r = remoteOf(h.stitch);
    if (r === undefined || (r.rn !== undefined && !equal(r.rn, from))) out.push(encodeHopUnknown(h.stitch));
  }
  return out;
}

/**
 * Reads an answer to one of our probes: a hop batch of UNKNOWN messages only, whose tag `verify`
 * accepts (an RN eligible now, under the key it shares with us). Undefined when it does not verify
 * (anybody could publish it); throws DecodeError when it is malformed.
 */
export function readProbeAnswer(data: Uint8Array, tagLength: number, verify: (sender: Uint8Array, authenticated: Uint8Array, tag: Uint8Array) => boolean): { readonly sender: Uint8Array; readonly stitches: number[] } | undefined {
  const b = splitHopBatch(data, tagLength);
  const hops = decodeHops(b.messages);
  if (!verify(b.sender, b.authenticated, b.tag)) return undefined;
  const stitches: number[] = [];
  for (const h of hops) {
    if (h.type !== HopType.UNKNOWN) throw new DecodeError(CommonCode.DECODE_TYPE, `probe answer: hop type ${h.type}, only UNKNOWN`);
    stitches.push(h.stitch);
  }
  return { sender: b.sender.slice(), stitches };
}
