// Remembers, per AK, the TPM clock of the last accepted quote, to catch what one quote alone cannot
// show: a TPM that was reset or restarted while the gateway claims it is still the same OS boot
// (bootseed, RFC 9711 §4.2.11). A gateway OS cannot keep running across a TPM Reset/Restart, so the
// same bootseed with different counters means the quote and the claims do not belong together
// (Part 1 §36.6-36.7: resetCount / restartCount only change at TPM2_Startup). Within one TPM boot the
// clock only moves forward, so an older clock is a replayed or stale quote.
//
// Only changes are compared, never absolute values: for a key outside the endorsement and platform
// hierarchies (our AK is under the owner hierarchy) the TPM adds a per-key constant to resetCount,
// restartCount and firmwareVersion (Part 4 §7.2.2.1 FillInAttestInfo: an obfuscation value derived
// by KDFa from shProof and the signer's qualified name), so the values are opaque but their changes
// are real. `clock` is not obfuscated.
//
// Bounded: at most `capacity` AKs, the least recently committed one is forgotten first (forgetting
// only weakens the next check to "first quote", it never refuses a valid quote).

import { equal, toHex } from '../../uzp/bytes.js';
import type { TpmClock } from './verify.js';

const DEFAULT_CLOCK_STORE_CAPACITY = 4096;

interface ClockVerdict {
  readonly ok: boolean;
  readonly reason: string;
}

interface Entry {
  readonly bootseed: Uint8Array;
  readonly clock: TpmClock;
}

export class TpmClockStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = DEFAULT_CLOCK_STORE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Judges a verified quote's clock against the last one accepted for the same AK. Does not record it. */
  check(akName: Uint8Array, bootseed: Uint8Array, clock: TpmClock): ClockVerdict {
    const last = this.entries.get(toHex(akName));
    const now = `resetCount ${clock.resetCount}, restartCount ${clock.restartCount}, clock ${clock.clock} ms`;
    if (last === undefined) return { ok: true, reason: `${now} (first quote seen from this AK)` };
    if (!equal(last.bootseed, bootseed)) return { ok: true, reason: `${now} (new boot since the last quote)` };
    const was = last.clock;
    if (was.resetCount !== clock.resetCount) {
      return { ok: false, reason: `TPM reset/restarted (resetCount ${was.resetCount} -> ${clock.resetCount}) but the gateway claims the same boot` };
    }
    if (was.restartCount !== clock.restartCount) {
      return { ok: false, reason: `TPM reset/restarted (restartCount ${was.restartCount} -> ${clock.restartCount}) but the gateway claims the same boot` };
    }
    if (clock.clock < was.clock) {
      return { ok: false, reason: `TPM clock went backwards (${was.clock} -> ${clock.clock} ms) within one TPM boot: a replayed or stale quote` };
    }
    return { ok: true, reason: `${now} (same boot, clock advanced ${clock.clock - was.clock} ms)` };
  }

  /** Records an accepted quote's clock as the AK's latest. */
  commit(akName: Uint8Array, bootseed: Uint8Array, clock: TpmClock): void {
    const key = toHex(akName);
    // Re-insert so Map order is least recently committed first; evict from the front.
    this.entries.delete(key);
    this.entries.set(key, { bootseed: Uint8Array.from(bootseed), clock: { ...clock } });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
