import { describe, expect, it } from 'vitest';
import { SourceRateLimiter } from '../../src/rn/rate-limit.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('per-source HELLO token bucket', () => {
  it('allows the burst, then the rate', () => {
    const clock = new FakeClock();
    const l = new SourceRateLimiter({ ratePerS: 20, burst: 40, maxSources: 10, clock });
    let ok = 0;
    for (let i = 0; i < 100; i++) if (l.take('a')) ok++;
    expect(ok).toBe(40);
    clock.advance(500); // 10 tokens
    ok = 0;
    for (let i = 0; i < 100; i++) if (l.take('a')) ok++;
    expect(ok).toBe(10);
    expect(l.take('b')).toBe(true); // another source has its own bucket
  });

  it('refills to the burst at most', () => {
    const clock = new FakeClock();
    const l = new SourceRateLimiter({ ratePerS: 20, burst: 40, maxSources: 10, clock });
    l.take('a');
    clock.advance(3_600_000);
    let ok = 0;
    for (let i = 0; i < 100; i++) if (l.take('a')) ok++;
    expect(ok).toBe(40);
  });

  it('keeps at most maxSources buckets, forgetting the least recently seen', () => {
    const clock = new FakeClock();
    const l = new SourceRateLimiter({ ratePerS: 1, burst: 1, maxSources: 3, clock });
    for (const s of ['a', 'b', 'c']) expect(l.take(s)).toBe(true);
    expect(l.take('a')).toBe(false); // a is now most recent, b least
    expect(l.take('d')).toBe(true); // evicts b
    expect(l.size).toBe(3);
    expect(l.take('b')).toBe(true); // b forgotten -> fresh bucket (evicts c)
    expect(l.take('a')).toBe(false); // a was kept
  });
});
