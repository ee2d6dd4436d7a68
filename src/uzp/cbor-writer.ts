// A hand CBOR writer for hot, fixed-shape messages (a publish window is 512 rows of seven fields,
// tens of thousands of rows a second). It writes the same deterministic encoding as
// encodeCanonical (RFC 8949 §4.2.1: shortest-form heads, definite lengths) without building a
// token list per value, which is where cborg spends its time on such messages (~5 µs a row).
// Map keys are the caller's to write in §4.2.1 order (bytewise by encoded key, so a shorter text
// key first). Tests hold every use equal to encodeCanonical byte for byte.

const TWO_32 = 2 ** 32;

export class CborWriter {
  private buf: Buffer;
  private at = 0;

  constructor(sizeHint = 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, sizeHint));
  }

  /** Unsigned integer, 0..2^53-1 (major type 0). */
  uint(n: number): this {
    return this.head(0, n);
  }

  text(s: string): this {
    const len = Buffer.byteLength(s, 'utf8');
    this.head(3, len);
    this.room(len);
    this.at += this.buf.write(s, this.at, 'utf8');
    return this;
  }

  bytes(b: Uint8Array): this {
    this.head(2, b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
    return this;
  }

  bool(v: boolean): this {
    this.room(1);
    this.buf[this.at++] = v ? 0xf5 : 0xf4;
    return this;
  }

  array(length: number): this {
    return this.head(4, length);
  }

  map(entries: number): this {
    return this.head(5, entries);
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.at));
  }

  private head(major: number, n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`CBOR head: ${n} is not an unsigned safe integer`);
    this.room(9);
    const mt = major << 5;
    const b = this.buf;
    if (n < 24) b[this.at++] = mt | n;
    else if (n < 0x100) {
      b[this.at++] = mt | 24;
      b[this.at++] = n;
    } else if (n < 0x10000) {
      b[this.at++] = mt | 25;
      b.writeUInt16BE(n, this.at);
      this.at += 2;
    } else if (n < TWO_32) {
      b[this.at++] = mt | 26;
      b.writeUInt32BE(n, this.at);
      this.at += 4;
    } else {
      b[this.at++] = mt | 27;
      b.writeUInt32BE(Math.floor(n / TWO_32), this.at);
      b.writeUInt32BE(n >>> 0, this.at + 4);
      this.at += 8;
    }
    return this;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
}
