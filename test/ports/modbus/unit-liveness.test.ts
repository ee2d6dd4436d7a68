// Unit liveness on its own (ports/modbus/liveness.ts): when a unit counts as silent, when that
// knowledge is stale enough to ask the unit again, and that listeners hear state changes only.

import { describe, expect, it } from 'vitest';
import { UnitLiveness, type UnitState } from '../../../src/ports/modbus/liveness.js';

describe('UnitLiveness', () => {
  it('silent after N timeouts in a row; any reply (an exception too) makes it alive; listeners hear changes only', () => {
    const l = new UnitLiveness(2, 10_000);
    const heard: [number, UnitState, UnitState][] = [];
    l.onChange((unit, state, info) => heard.push([unit, info.previous, state]));
    expect(l.state(3)).toBe('unknown');
    l.record(3, false, 0);
    expect(l.state(3)).toBe('unknown'); // one timeout is a glitch, not a dead slave
    l.record(3, false, 100);
    expect(l.state(3)).toBe('silent');
    for (let t = 200; t < 2000; t += 100) l.record(3, false, t);
    expect(l.timeouts(3)).toBe(20);
    l.record(3, true, 2000);
    l.record(3, true, 2100);
    l.record(3, false, 2200);
    expect(l.state(3)).toBe('alive');
    expect(heard).toEqual([
      [3, 'unknown', 'silent'],
      [3, 'silent', 'alive'],
    ]);
  });

  it('known silent only while something tried the unit within reprobeMs', () => {
    const l = new UnitLiveness(1, 10_000);
    l.record(5, false, 1_000);
    expect(l.knownSilent(5, 1_000)).toBe(true);
    expect(l.knownSilent(5, 10_999)).toBe(true);
    expect(l.knownSilent(5, 11_000)).toBe(false); // stale: the next request goes to the wire as a probe
    l.record(5, false, 11_500); // the probe timed out too
    expect(l.knownSilent(5, 12_000)).toBe(true);
    expect(l.knownSilent(6, 12_000)).toBe(false); // never asked: unknown, always tried
  });

  it('a listener that throws does not stop the others', () => {
    const l = new UnitLiveness(1, 1);
    const heard: number[] = [];
    l.onChange(() => {
      throw new Error('bug');
    });
    l.onChange((u) => heard.push(u));
    l.record(1, false, 0);
    expect(heard).toEqual([1]);
  });
});
