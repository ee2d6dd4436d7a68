// A deliberately tiny, independent BLAKE3 for inputs of at most 64 bytes (one block of one chunk),
// written from the BLAKE3 specification (§2.2 compression function, §2.4 flags) so that CIDs can
// be hand-checked without trusting the library the provider uses.

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const CHUNK_START = 1;
const CHUNK_END = 2;
const ROOT = 8;

const rotr = (x: number, n: number): number => ((x >>> n) | (x << (32 - n))) >>> 0;

function g(s: number[], a: number, b: number, c: number, d: number, mx: number, my: number): void {
  s[a] = (s[a]! + s[b]! + mx) >>> 0;
  s[d] = rotr(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) >>> 0;
  s[b] = rotr(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]! + my) >>> 0;
  s[d] = rotr(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) >>> 0;
  s[b] = rotr(s[b]! ^ s[c]!, 7);
}

export function blake3SingleBlock(input: Uint8Array): Uint8Array {
  if (input.length > 64) throw new RangeError('reference BLAKE3 handles at most 64 bytes');
  const block = new Uint8Array(64);
  block.set(input);
  let m = Array.from({ length: 16 }, (_, i) => new DataView(block.buffer).getUint32(i * 4, true));
  const s = [...IV, IV[0]!, IV[1]!, IV[2]!, IV[3]!, 0, 0, input.length, CHUNK_START | CHUNK_END | ROOT];
  for (let r = 0; r < 7; r++) {
    g(s, 0, 4, 8, 12, m[0]!, m[1]!);
    g(s, 1, 5, 9, 13, m[2]!, m[3]!);
    g(s, 2, 6, 10, 14, m[4]!, m[5]!);
    g(s, 3, 7, 11, 15, m[6]!, m[7]!);
    g(s, 0, 5, 10, 15, m[8]!, m[9]!);
    g(s, 1, 6, 11, 12, m[10]!, m[11]!);
    g(s, 2, 7, 8, 13, m[12]!, m[13]!);
    g(s, 3, 4, 9, 14, m[14]!, m[15]!);
    m = PERM.map((p) => m[p]!);
  }
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) dv.setUint32(i * 4, (s[i]! ^ s[i + 8]!) >>> 0, true);
  return out;
}
