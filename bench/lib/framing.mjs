// Length-prefixed messages for the TLS baseline: u32be(length) || payload. The reader hands every
// message over as one contiguous Uint8Array (a view when it lies inside one chunk, a copy when it
// spans chunks), which is what the UZP channel gives its receiver, so both sides do the same work.

export function frameMessage(payload) {
  const f = Buffer.allocUnsafe(4 + payload.length);
  f.writeUInt32BE(payload.length, 0);
  f.set(payload, 4);
  return f;
}

export class FrameReader {
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.header = Buffer.alloc(4);
    this.headerFill = 0;
    this.partial = null; // message being assembled across chunks
    this.partialFill = 0;
  }

  push(chunk) {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.partial !== null) {
        const take = Math.min(this.partial.length - this.partialFill, n - i);
        this.partial.set(chunk.subarray(i, i + take), this.partialFill);
        this.partialFill += take;
        i += take;
        if (this.partialFill === this.partial.length) {
          const m = this.partial;
          this.partial = null;
          this.onMessage(m);
        }
        continue;
      }
      let len;
      if (this.headerFill === 0 && n - i >= 4) {
        len = chunk.readUInt32BE(i);
        i += 4;
      } else {
        const take = Math.min(4 - this.headerFill, n - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < 4) return;
        this.headerFill = 0;
        len = this.header.readUInt32BE(0);
      }
      if (n - i >= len) {
        this.onMessage(chunk.subarray(i, i + len));
        i += len;
      } else {
        this.partial = new Uint8Array(len);
        this.partialFill = 0;
      }
    }
  }
}
