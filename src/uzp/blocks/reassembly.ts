// Reassembly of messages fragmented over several MSG frames (FIN marks the last fragment).
// Bounded: one message, and all partial messages of all channels together, hold at most
// maxMessageBytes (each held fragment counted FRAGMENT_MIN_CHARGE at least), and at most
// MAX_PARTIAL_MESSAGES channels are part-way through a message. A message over a bound cannot be
// dropped quietly (the peer believes it delivered), so the engine treats it as a protocol error and
// closes.

interface Partial {
  parts: Uint8Array[];
  bytes: number;
  /** What the held parts count against the bound (FRAGMENT_MIN_CHARGE at least each). */
  charged: number;
}

const REASSEMBLY_OVERFLOW = null;

/**
 * What one held fragment counts against maxMessageBytes at least. An empty fragment without FIN is
 * legal on the wire (docs/PROFILE.md §Data block plaintext), and at no cost a peer could pile up
 * fragments without end; a legitimate sender's held fragments are hundreds of bytes or more.
 */
export const FRAGMENT_MIN_CHARGE = 64;

/**
 * Channels with a message in reassembly at once. A sender finishes one message before it starts
 * the next (§Packing), so one is the norm; the session allows 256 live channels.
 */
export const MAX_PARTIAL_MESSAGES = 256;

/**
 * A held fragment that is a view of less than a quarter of its block plaintext is copied: kept as
 * a view, a one-byte fragment would keep a 64 KiB plaintext alive (at most 4x maxMessageBytes is
 * pinned this way, in views of plaintexts mostly made of them).
 */
const VIEW_KEEP_RATIO = 4;

function held(data: Uint8Array): Uint8Array {
  return data.length * VIEW_KEEP_RATIO < data.buffer.byteLength ? data.slice() : data;
}

export class Reassembly {
  private readonly partial = new Map<number, Partial>();
  /** Bytes held in partial messages across all channels. */
  bytes = 0;
  /** What they count against the bound. */
  private charged = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /**
   * Adds one fragment (a view into a block plaintext; a fragment that does not end its message is
   * kept until the message completes). Returns the complete message on FIN, undefined while
   * incomplete, null when a bound is exceeded: one message over maxMessageBytes, all held
   * fragments together over it, or more than MAX_PARTIAL_MESSAGES channels part-way through one.
   */
  add(channel: number, data: Uint8Array, fin: boolean): Uint8Array | undefined | null {
    // While nothing is part-way (the common case) no lookup is needed.
    const p = this.partial.size === 0 ? undefined : this.partial.get(channel);
    if (p === undefined) {
      if (data.length > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
      if (fin) return data; // the common case: a whole message in one frame, zero copy
      if (this.partial.size >= MAX_PARTIAL_MESSAGES) return REASSEMBLY_OVERFLOW;
      const c = Math.max(data.length, FRAGMENT_MIN_CHARGE);
      if (this.charged + c > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
      this.partial.set(channel, { parts: [held(data)], bytes: data.length, charged: c });
      this.bytes += data.length;
      this.charged += c;
      return undefined;
    }
    if (p.bytes + data.length > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
    if (!fin) {
      const c = Math.max(data.length, FRAGMENT_MIN_CHARGE);
      if (this.charged + c > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
      p.parts.push(held(data));
      p.bytes += data.length;
      p.charged += c;
      this.bytes += data.length;
      this.charged += c;
      return undefined;
    }
    this.partial.delete(channel);
    this.bytes -= p.bytes;
    this.charged -= p.charged;
    const out = new Uint8Array(p.bytes + data.length);
    let off = 0;
    for (const part of p.parts) {
      out.set(part, off);
      off += part.length;
    }
    out.set(data, off);
    return out;
  }

  clear(): void {
    this.partial.clear();
    this.bytes = 0;
    this.charged = 0;
  }
}
