// A strict reader for hot, fixed-shape CBOR (a publish window: 512 rows of seven fields). It reads
// only what RFC 8949 §4.2.1 deterministic encoding allows — shortest-form heads, definite lengths,
// valid UTF-8 — and answers `undefined` at the first byte it does not expect, so a caller falls back
// to decodeCanonical, which gives the refusal with its code. What it accepts, decodeCanonical
// accepts with the same value (test/hil/publish-messages.test.ts holds them equal on junk too); it
// skips cborg's token list and the re-encoding check, most of a collector's decoding time.

const TWO_32 = 2 ** 32;
// ignoreBOM: a leading U+FEFF is part of the text, as cborg keeps it; fatal: invalid UTF-8 is not ours to read.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class CborReader {
  private at = 0;

  constructor(private readonly b: Uint8Array) {}

  get done(): boolean {
    return this.at === this.b.length;
  }

  /** The argument of a head of `major` in shortest form (0..2^53-1), or undefined. */
  head(major: number): number | undefined {
    const b = this.b;
    if (this.at >= b.length) return undefined;
    const first = b[this.at]!;
    if (first >> 5 !== major) return undefined;
    const info = first & 0x1f;
    if (info < 24) {
      this.at += 1;
      return info;
    }
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0 || this.at + 1 + size > b.length) return undefined;
    const p = this.at + 1;
    let n: number;
    let min: number;
    if (size === 1) [n, min] = [b[p]!, 24];
    else if (size === 2) [n, min] = [(b[p]! << 8) | b[p + 1]!, 0x100];
    else if (size === 4) [n, min] = [word(b, p), 0x10000];
    else [n, min] = [word(b, p) * TWO_32 + word(b, p + 4), TWO_32];
    if (n < min || !Number.isSafeInteger(n)) return undefined; // not shortest form, or past 2^53
    this.at = p + size;
    return n;
  }

  uint(): number | undefined {
    return this.head(0);
  }

  text(): string | undefined {
    const len = this.head(3);
    if (len === undefined || this.at + len > this.b.length) return undefined;
    const start = this.at;
    this.at += len;
    try {
      return utf8.decode(this.b.subarray(start, this.at));
    } catch {
      return undefined;
    }
  }

  /** A byte string: a plain Uint8Array view into the input, as decodeCanonical returns. */
  bytes(): Uint8Array | undefined {
    const len = this.head(2);
    if (len === undefined || this.at + len > this.b.length) return undefined;
    const out = new Uint8Array(this.b.buffer, this.b.byteOffset + this.at, len);
    this.at += len;
    return out;
  }

  bool(): boolean | undefined {
    const x = this.b[this.at];
    if (x !== 0xf4 && x !== 0xf5) return undefined;
    this.at += 1;
    return x === 0xf5;
  }

  /** Whether the next item is exactly the text `s` (consumed if so). */
  key(s: string): boolean {
    const save = this.at;
    if (this.text() === s) return true;
    this.at = save;
    return false;
  }
}

function word(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}
