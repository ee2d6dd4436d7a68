// The responder's anti-replay memory for early data (draft §9: endpoints "track nonces and session
// tickets" and refuse 0-RTT that would not be safe to replay). Tickets are single-use: the first
// early data accepted under a ticket records its ticket_id here until the ticket expires, and any
// later use of that ticket (a replayed CH1 with its early data, or the same ticket sent twice) is
// refused. Callers record only after the early data has decrypted (so junk cannot fill the
// register) and only tickets they could open (ticket.ts), which are this process's own: tickets
// die with the process's ticket keys, so the register needs no persistence.
//
// Bounded: beyond `capacity` live entries it refuses new ones (fail closed: the initiator falls
// back to a full handshake) rather than forget one that has not expired.

import { toHex } from '../bytes.js';

export type StrikeVerdict = 'fresh' | 'replayed' | 'expired' | 'full';

/** Default: 64k live tickets, ~6 MB at most (hex key + entry per ticket). */
export const STRIKE_CAPACITY = 65_536;

export class StrikeRegister {
  /** ticket_id (hex) -> the ticket's expiry, ms; Map keeps insertion order, which sweeps use. */
  private readonly seen = new Map<string, number>();

  constructor(readonly capacity = STRIKE_CAPACITY) {}

  get size(): number {
    return this.seen.size;
  }

  /**
   * Records `ticketId` (expiring at `expiresMs`) and says whether this is its first use.
   * 'expired': the ticket is past its expiry (nothing recorded); 'full': no room for it (nothing
   * recorded; refuse the early data). Only 'fresh' may be accepted.
   */
  admit(ticketId: Uint8Array, expiresMs: number, nowMs: number): StrikeVerdict {
    if (expiresMs <= nowMs) return 'expired';
    const key = toHex(ticketId);
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return 'replayed';
    if (until !== undefined) this.seen.delete(key);
    if (this.seen.size >= this.capacity) this.sweep(nowMs);
    if (this.seen.size >= this.capacity) return 'full';
    this.seen.set(key, expiresMs);
    return 'fresh';
  }

  /** Forgets entries whose ticket has expired (they can no longer be presented). */
  sweep(nowMs: number): void {
    for (const [k, until] of this.seen) if (until <= nowMs) this.seen.delete(k);
  }
}
