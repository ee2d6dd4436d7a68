// Strict readers for deterministic CBOR (RFC 8949 §4.2.1): CborReader for hot, fixed-shape messages
// (a publish window: 512 rows of seven fields) and readProfileValue for any value of the artefact
// profile. They read only what deterministic encoding allows — shortest-form heads, definite
// lengths, valid UTF-8, ordered map keys — and give up at the first byte they do not expect, so the
// caller falls back to cborg (decodeCanonical), which gives the refusal with its code. What they
// accept, decodeCanonical's cborg path accepts with the same value (test/uzp/cbor-fast-path.test.ts
// and test/hil/publish-messages.test.ts hold them equal, on junk too); they skip cborg's token list
// and the re-encoding check.

const TWO_32 = 2 ** 32;
// ignoreBOM: a leading U+FEFF is part of the text (cborg keeps it inside a publish window; see
// readProfileValue for where it does not); fatal: invalid UTF-8 is not ours to read.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class CborReader {
  private at = 0;

  constructor(private readonly b: Uint8Array) {}

  get done(): boolean {
    return this.at === this.b.length;
  }

  get offset(): number {
    return this.at;
  }

  skip(n: number): void {
    this.at += n;
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

  /** A byte string: a plain Uint8Array view into the input (decodeCanonical copies; cborg does too). */
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

/** readProfileValue's answer for input it does not read: the caller decodes it the slow way. */
export const UNREAD: unique symbol = Symbol('cbor: not read by the fast path');

type ReadValue = null | boolean | number | string | Uint8Array | ReadValue[] | { [key: string]: ReadValue };

/**
 * Any value of the artefact profile (integers within 2^53, byte and text strings, arrays, maps with
 * text keys, true / false / null; no floats, tags or undefined), nested at most `maxDepth` deep,
 * checked against RFC 8949 §4.2.1 as it is read: shortest heads, definite lengths, map keys
 * strictly ascending by their encoded bytes (which also refuses duplicates), nothing after the
 * value. Anything else — including what is valid but not ours to judge here — is UNREAD, and
 * decodeCanonical answers it through cborg. Why: a rare path (a JOIN, a Grant, a RESUME) runs
 * cold, and cborg's tokenizer plus the re-encoding check cost an RN 1.5-2 ms of CPU on the first
 * Grant it sees, in the middle of a re-stitch (docs/BENCH.md "failover").
 */
export function readProfileValue(b: Uint8Array, maxDepth: number, floats = false): ReadValue | typeof UNREAD {
  const r = new CborReader(b);
  const v = readAny(r, b, 0, maxDepth, floats);
  return v !== UNREAD && r.done ? v : UNREAD;
}

function readAny(r: CborReader, b: Uint8Array, depth: number, maxDepth: number, floats: boolean): ReadValue | typeof UNREAD {
  if (depth > maxDepth) return UNREAD;
  const at = r.offset;
  if (at >= b.length) return UNREAD;
  switch (b[at]! >> 5) {
    case 0:
      return r.uint() ?? UNREAD;
    case 1: {
      const n = r.head(1);
      // -1 - n must stay a safe integer; past that, cborg and the profile check decide.
      return n === undefined || n >= Number.MAX_SAFE_INTEGER ? UNREAD : -1 - n;
    }
    case 2: {
      // A copy, as cborg gives: callers may keep or change it without touching the input.
      const v = r.bytes();
      return v === undefined ? UNREAD : v.slice();
    }
    case 3: {
      // A leading U+FEFF: cborg drops it in some positions (and then refuses the text as
      // non-canonical) and keeps it in others; left to cborg rather than guessed here.
      const t = r.text();
      return t === undefined || t.charCodeAt(0) === 0xfeff ? UNREAD : t;
    }
    case 4: {
      const n = r.head(4);
      if (n === undefined || n > b.length - r.offset) return UNREAD; // every item takes a byte at least
      const out: ReadValue[] = [];
      for (let i = 0; i < n; i++) {
        const v = readAny(r, b, depth + 1, maxDepth, floats);
        if (v === UNREAD) return UNREAD;
        out.push(v);
      }
      return out;
    }
    case 5: {
      const n = r.head(5);
      if (n === undefined || n > b.length - r.offset) return UNREAD;
      const out: { [key: string]: ReadValue } = {};
      let prevStart = -1;
      let prevEnd = -1;
      for (let i = 0; i < n; i++) {
        const start = r.offset;
        const k = r.text();
        if (k === undefined || k === '__proto__' || k.charCodeAt(0) === 0xfeff) return UNREAD;
        const end = r.offset;
        if (prevStart >= 0 && compareRange(b, prevStart, prevEnd, start, end) >= 0) return UNREAD;
        prevStart = start;
        prevEnd = end;
        const v = readAny(r, b, depth + 1, maxDepth, floats);
        if (v === UNREAD) return UNREAD;
        out[k] = v;
      }
      return out;
    }
    case 7: {
      const x = b[at];
      if (x === 0xf6) {
        r.skip(1);
        return null;
      }
      if (floats && x! >= 0xf9 && x! <= 0xfb) return readFloat(r, b, at);
      return r.bool() ?? UNREAD;
    }
    default:
      return UNREAD; // tags (6)
  }
}

/**
 * A float of the HIL profile (docs/PROFILE.md §HIL "Numbers"): finite, and in the width the
 * re-encoding would give it, the shortest of binary16/32/64 that holds the value exactly (RFC 8949
 * §4.2.1), so the cborg path's re-encoding check is answered here. cborg's half encoder keeps only
 * a power of two among half-precision subnormals (7float.js encodeFloat16); shortestFloatWidth
 * mirrors its rule rather than the textbook one. NaN and the infinities are left to cborg, which
 * refuses them. Integral values and -0.0 come back as plain numbers, as decodeCanonical unboxes them.
 */
function readFloat(r: CborReader, b: Uint8Array, at: number): number | typeof UNREAD {
  const width = b[at] === 0xf9 ? 2 : b[at] === 0xfa ? 4 : 8;
  if (at + 1 + width > b.length) return UNREAD;
  const view = new DataView(b.buffer, b.byteOffset + at + 1, width);
  let v: number;
  if (width === 2) {
    const half = view.getUint16(0);
    if (((half >> 10) & 0x1f) === 0x1f) return UNREAD;
    v = halfValue(half);
  } else {
    v = width === 4 ? view.getFloat32(0) : view.getFloat64(0);
  }
  if (!Number.isFinite(v) || shortestFloatWidth(v) !== width) return UNREAD;
  r.skip(1 + width);
  return v;
}

function halfValue(half: number): number {
  const exp = (half >> 10) & 0x1f;
  const mant = half & 0x3ff;
  const abs = exp === 0 ? mant * 2 ** -24 : (mant + 1024) * 2 ** (exp - 25);
  return (half & 0x8000) !== 0 ? -abs : abs;
}

const f32 = new DataView(new ArrayBuffer(4));

/** The width cborg's encoder picks for a finite float (its encodeFloat: half if exact, then single, else double). */
export function shortestFloatWidth(v: number): 2 | 4 | 8 {
  f32.setFloat32(0, v);
  const bits = f32.getUint32(0);
  const exponent = (bits >>> 23) & 0xff;
  const sign = (bits >>> 16) & 0x8000;
  let half: number | undefined;
  if (exponent === 0) half = sign | ((bits & 0x7fffff) >> 13);
  else if (exponent !== 0xff) {
    const e = exponent - 127;
    if (e < -24) half = 0;
    else if (e < -14) half = sign | (1 << (24 + e));
    else if (e <= 15) half = sign | ((e + 15) << 10) | ((bits & 0x7fffff) >> 13);
  }
  if (half !== undefined && halfValue(half) === v) return 2;
  return Math.fround(v) === v ? 4 : 8;
}

/** Bytewise lexicographic order of b[a0, a1) and b[c0, c1). */
function compareRange(b: Uint8Array, a0: number, a1: number, c0: number, c1: number): number {
  const n = Math.min(a1 - a0, c1 - c0);
  for (let i = 0; i < n; i++) {
    const d = b[a0 + i]! - b[c0 + i]!;
    if (d !== 0) return d;
  }
  return a1 - a0 - (c1 - c0);
}
