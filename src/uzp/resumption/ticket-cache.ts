// The initiator's resumption tickets (draft §9): what a responder gave it in EE, kept in memory per
// (responder CID, Grant object_id) so that the next session to that responder under that Grant can
// send early data. A ticket is taken out when used (single use: the responder refuses a second use
// anyway) and dropped at its expiry; a bounded number is kept, the oldest dropped first.

import { toHex } from '../bytes.js';

export interface HeldTicket {
  readonly ticket: Uint8Array;
  /** The resumption PSK the ticket stands for (early-keys.ts ticketPsk). */
  readonly psk: Uint8Array;
  /** The suite of the session it came from; early data is sealed with its AEAD and it must be offered again. */
  readonly suite: number;
  /** Local clock, ms. */
  readonly expiresAt: number;
}

/** Default: one ticket per (responder, Grant) for 256 of them. */
export const TICKET_CACHE_CAPACITY = 256;

export class TicketCache {
  private readonly held = new Map<string, HeldTicket>();

  constructor(
    private readonly capacity = TICKET_CACHE_CAPACITY,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** Keeps `t` for (target, grantId), replacing an older one. */
  put(target: Uint8Array, grantId: Uint8Array, t: Omit<HeldTicket, 'expiresAt'>, lifetimeS: number): void {
    const key = keyOf(target, grantId);
    this.held.delete(key);
    while (this.held.size >= this.capacity) this.held.delete(this.held.keys().next().value!);
    this.held.set(key, { ...t, expiresAt: this.now() + lifetimeS * 1000 });
  }

  /** Takes the ticket for (target, grantId) out, if one is held and not expired. */
  take(target: Uint8Array, grantId: Uint8Array): HeldTicket | undefined {
    const key = keyOf(target, grantId);
    const t = this.held.get(key);
    if (t === undefined) return undefined;
    this.held.delete(key);
    return t.expiresAt > this.now() ? t : undefined;
  }
}

function keyOf(target: Uint8Array, grantId: Uint8Array): string {
  return `${toHex(target)}/${toHex(grantId)}`;
}
