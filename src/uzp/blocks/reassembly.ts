// Reassembly of messages fragmented over several MSG frames (FIN marks the last fragment).
// Bounded: one message, and all partial messages of all channels together, hold at most
// maxMessageBytes. A message over the bound cannot be dropped quietly (the peer believes it
// delivered), so the engine treats it as a protocol error and closes.

interface Partial {
  parts: Uint8Array[];
  bytes: number;
}

const REASSEMBLY_OVERFLOW = null;

export class Reassembly {
  private readonly partial = new Map<number, Partial>();
  /** Bytes held in partial messages across all channels. */
  bytes = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /**
   * Adds one fragment (a view into a block plaintext, retained until the message completes).
   * Returns the complete message on FIN, undefined while incomplete, null when a bound is exceeded.
   */
  add(channel: number, data: Uint8Array, fin: boolean): Uint8Array | undefined | null {
    const p = this.partial.get(channel);
    if (p === undefined) {
      if (data.length > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
      if (fin) return data; // the common case: a whole message in one frame, zero copy
      if (this.bytes + data.length > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
      this.partial.set(channel, { parts: [data], bytes: data.length });
      this.bytes += data.length;
      return undefined;
    }
    if (p.bytes + data.length > this.maxMessageBytes || this.bytes + data.length > this.maxMessageBytes) return REASSEMBLY_OVERFLOW;
    p.parts.push(data);
    p.bytes += data.length;
    this.bytes += data.length;
    if (!fin) return undefined;
    this.partial.delete(channel);
    this.bytes -= p.bytes;
    const out = new Uint8Array(p.bytes);
    let off = 0;
    for (const part of p.parts) {
      out.set(part, off);
      off += part.length;
    }
    return out;
  }

  clear(): void {
    this.partial.clear();
    this.bytes = 0;
  }
}
