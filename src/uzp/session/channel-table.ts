// A session's channels by id: ours are opened with our parity (initiator odd, responder even), the
// peer's come into being with its first message, and channel 0 is the session's own control channel.
// Bounded: a peer that opens more than MAX_CHANNELS live channels, or one of the wrong parity, breaks
// the protocol (the session checks with admit() before delivering).

import { Channel, type ChannelHost } from './channel.js';

/** Channel 0 is reserved for session control; initiators open odd ids, responders even ids. */
export const CONTROL_CHANNEL = 0;

/** Live channels per session; a peer that opens more is closed (it could otherwise grow our memory). */
export const MAX_CHANNELS = 256;

export class ChannelTable {
  private readonly byId = new Map<number, Channel>();
  private nextId: number;

  constructor(
    private readonly host: ChannelHost,
    private readonly role: 'initiator' | 'responder',
  ) {
    this.nextId = role === 'initiator' ? 1 : 2;
  }

  /** Live channels (both halves not yet closed). */
  get size(): number {
    return this.byId.size;
  }

  /** A new channel of ours. */
  open(): Channel {
    const id = this.nextId;
    this.nextId += 2;
    return this.get(id);
  }

  /** The channel with this id, created on first use. */
  get(id: number): Channel {
    let ch = this.byId.get(id);
    if (ch === undefined) {
      ch = new Channel(id, this.host);
      this.byId.set(id, ch);
    }
    return ch;
  }

  /** The channel with this id if it is open; never creates one. */
  find(id: number): Channel | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /**
   * Why the peer may not open channel `id` (not open yet): undefined when it may. Only ids of the
   * peer's parity, never 0, and at most MAX_CHANNELS live channels.
   */
  refusal(id: number): string | undefined {
    if (this.byId.size >= MAX_CHANNELS) return `more than ${MAX_CHANNELS} channels`;
    const peerParity = this.role === 'initiator' ? 0 : 1;
    return id === CONTROL_CHANNEL || id % 2 !== peerParity ? 'id not of its parity' : undefined;
  }

  /** Forgets `id` once both halves are closed (ours, and the peer's or the session's end). */
  release(id: number): void {
    const ch = this.byId.get(id);
    if (ch !== undefined && ch.closed && ch.ended) this.byId.delete(id);
  }

  /** The session ended: every channel ends with it. */
  abortAll(): void {
    for (const ch of this.byId.values()) ch.abort();
  }
}
