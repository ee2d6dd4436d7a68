// A small seeded generator (mulberry32) for fault injection and noise, so that a "random" dropped
// byte or garbage burst is reproducible from its seed when a test fails. Not for cryptography.

export type Random = () => number;

/** Uniform floats in [0, 1) from a 32-bit seed. */
export function seeded(seed: number): Random {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes from `rnd`. */
export function randomBytes(rnd: Random, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}
