// TpmClockStore: the rules across quotes of one AK (same boot + changed counters = a lie; same
// counters + older clock = a replay; a new bootseed = a reboot), and its bound.

import { describe, expect, it } from 'vitest';
import { TpmClockStore } from '../../src/attest/tpm/clock-store.js';
import type { TpmClock } from '../../src/attest/tpm/verify.js';

const ak1 = new Uint8Array(34).fill(1);
const ak2 = new Uint8Array(34).fill(2);
const ak3 = new Uint8Array(34).fill(3);
const bootA = new Uint8Array(32).fill(0xa);
const bootB = new Uint8Array(32).fill(0xb);
const at = (clock: number, resetCount = 7, restartCount = 0): TpmClock => ({ clock: BigInt(clock), resetCount, restartCount, safe: true });

describe('TpmClockStore', () => {
  it('accepts a first quote and a later clock in the same boot', () => {
    const s = new TpmClockStore();
    expect(s.check(ak1, bootA, at(100))).toEqual({ ok: true, reason: 'resetCount 7, restartCount 0, clock 100 ms (first quote seen from this AK)' });
    s.commit(ak1, bootA, at(100));
    expect(s.check(ak1, bootA, at(100)).ok).toBe(true); // two quotes within the same millisecond
    expect(s.check(ak1, bootA, at(250))).toEqual({ ok: true, reason: 'resetCount 7, restartCount 0, clock 250 ms (same boot, clock advanced 150 ms)' });
  });

  it('refuses changed counters under the same bootseed, and a clock that went backwards', () => {
    const s = new TpmClockStore();
    s.commit(ak1, bootA, at(500));
    expect(s.check(ak1, bootA, at(10, 8))).toEqual({ ok: false, reason: 'TPM reset/restarted (resetCount 7 -> 8) but the gateway claims the same boot' });
    expect(s.check(ak1, bootA, at(10, 7, 1))).toEqual({ ok: false, reason: 'TPM reset/restarted (restartCount 0 -> 1) but the gateway claims the same boot' });
    expect(s.check(ak1, bootA, at(499))).toEqual({ ok: false, reason: 'TPM clock went backwards (500 -> 499 ms) within one TPM boot: a replayed or stale quote' });
  });

  it('accepts a new bootseed (a reboot) and remembers it once committed', () => {
    const s = new TpmClockStore();
    s.commit(ak1, bootA, at(500));
    expect(s.check(ak1, bootB, at(10, 8))).toEqual({ ok: true, reason: 'resetCount 8, restartCount 0, clock 10 ms (new boot since the last quote)' });
    s.commit(ak1, bootB, at(10, 8));
    expect(s.check(ak1, bootB, at(5, 8)).ok).toBe(false);
    expect(s.check(ak1, bootB, at(20, 8)).ok).toBe(true);
    // Other AKs are independent.
    expect(s.check(ak2, bootB, at(1, 1)).ok).toBe(true);
  });

  it('check does not record; commit copies its inputs', () => {
    const s = new TpmClockStore();
    const boot = Uint8Array.from(bootA);
    s.check(ak1, boot, at(500));
    expect(s.size).toBe(0);
    s.commit(ak1, boot, at(500));
    boot.fill(0); // the caller reusing its buffer must not change what was remembered
    expect(s.check(ak1, bootA, at(499)).ok).toBe(false);
  });

  it('is bounded: the least recently committed AK is forgotten first', () => {
    const s = new TpmClockStore(2);
    s.commit(ak1, bootA, at(500));
    s.commit(ak2, bootA, at(500));
    s.commit(ak1, bootA, at(600)); // ak1 is now the most recent
    s.commit(ak3, bootA, at(500)); // evicts ak2
    expect(s.size).toBe(2);
    expect(s.check(ak2, bootA, at(1)).reason).toMatch(/first quote/);
    expect(s.check(ak1, bootA, at(1)).ok).toBe(false);
    expect(() => new TpmClockStore(0)).toThrow(RangeError);
  });
});
