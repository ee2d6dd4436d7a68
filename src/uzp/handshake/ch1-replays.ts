// A responder's memory of the CH1s it was offered, so that an RN cannot make it do one handshake
// many times over. An RN sees every JOIN and may replay a captured OFFER under fresh stitch ids,
// ending each stitch right after the flight: every replay cost the responder a CH1 signature
// check, an X25519 agreement, its own signature and the key schedule (0.6 ms here, 1,600 a second
// from one captured JOIN in a review's repro; a Pi's core at a few hundred), and the RN nothing.
// MAX_PENDING_HANDSHAKES does not bound that: each replay ends before the next comes.
//
// An honest initiator presents one CH1 at most once per RN it tries (LinkPool.join goes through each
// attached RN in turn, and an abandoned JOIN on a link still attaching may be taken over by
// another), so a few presentations are allowed and the rest refused before any cryptography.

import { toHex } from '../bytes.js';

/** Presentations of one CH1 taken; more than an initiator's RN links (2 by default, rn_links). */
export const CH1_PRESENTATIONS_MAX = 4;
/** CH1s remembered, least recently presented forgotten first. */
export const CH1_REMEMBERED = 4096;

export class Ch1Replays {
  /** Hex of the CH1's hash -> presentations, in order of last presentation. */
  private readonly seen = new Map<string, number>();

  /** Counts one presentation of the CH1 whose hash is `digest`; false when it is one too many. */
  admit(digest: Uint8Array): boolean {
    const key = toHex(digest);
    const n = (this.seen.get(key) ?? 0) + 1;
    this.seen.delete(key);
    this.seen.set(key, n);
    if (this.seen.size > CH1_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    return n <= CH1_PRESENTATIONS_MAX;
  }
}
