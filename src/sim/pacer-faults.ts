// Line faults for the pacer: bytes lost (a framing error, a collision) and bits flipped (EMI), at
// exact positions or with a seeded probability. Positions count the bytes entering the line in one
// direction, relative to the moment the faults were injected: `dropAt: [0]` loses the next byte.

import { seeded, type Random } from './prng.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export interface LineFaults {
  /** Drop these bytes (0 = the next byte to enter the line). */
  readonly dropAt?: readonly number[];
  /** Drop each byte with this probability. */
  readonly dropProbability?: number;
  /** XOR these bytes with `mask` (0x01 flips the least significant bit). */
  readonly flipAt?: readonly { readonly at: number; readonly mask: number }[];
  /** Flip one random bit of each byte with this probability. */
  readonly flipProbability?: number;
  /** Seed for the probabilistic faults (default 1), so a failing run can be replayed. */
  readonly seed?: number;
}

export class FaultPlan {
  dropped = 0;
  flipped = 0;
  private readonly drops = new Set<number>();
  private readonly flips = new Map<number, number>();
  private dropP = 0;
  private flipP = 0;
  private rnd: Random = seeded(1);

  /** Adds `f`, its positions counted from absolute stream position `base`. */
  add(f: LineFaults, base: number): void {
    for (const at of f.dropAt ?? []) this.drops.add(base + checkPosition(at));
    for (const { at, mask } of f.flipAt ?? []) {
      if (!Number.isInteger(mask) || mask < 1 || mask > 0xff) throw new LocalError(CommonCode.USAGE, `flip mask: expected 1..255, got ${mask}`);
      const pos = base + checkPosition(at);
      this.flips.set(pos, (this.flips.get(pos) ?? 0) ^ mask);
    }
    if (f.dropProbability !== undefined) this.dropP = checkProbability(f.dropProbability);
    if (f.flipProbability !== undefined) this.flipP = checkProbability(f.flipProbability);
    if (f.seed !== undefined) this.rnd = seeded(f.seed);
  }

  clear(): void {
    this.drops.clear();
    this.flips.clear();
    this.dropP = 0;
    this.flipP = 0;
  }

  /** The byte at absolute position `pos` as it arrives: its value, or -1 if it is lost. */
  apply(pos: number, byte: number): number {
    if (this.drops.delete(pos) || (this.dropP > 0 && this.rnd() < this.dropP)) {
      this.flips.delete(pos);
      this.dropped++;
      return -1;
    }
    let mask = this.flips.get(pos) ?? 0;
    this.flips.delete(pos);
    if (this.flipP > 0 && this.rnd() < this.flipP) mask ^= 1 << Math.floor(this.rnd() * 8);
    if (mask !== 0) {
      this.flipped++;
      return byte ^ mask;
    }
    return byte;
  }

  /** True when no fault is pending or active (the line is clean). */
  get clean(): boolean {
    return this.drops.size === 0 && this.flips.size === 0 && this.dropP === 0 && this.flipP === 0;
  }
}

function checkPosition(at: number): number {
  if (!Number.isInteger(at) || at < 0) throw new LocalError(CommonCode.USAGE, `fault position: expected an integer >= 0, got ${at}`);
  return at;
}

function checkProbability(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new LocalError(CommonCode.USAGE, `fault probability: expected 0..1, got ${p}`);
  return p;
}
