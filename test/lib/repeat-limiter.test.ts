// RepeatLimiter (src/lib/repeat-limiter.ts): whatever a peer sends, the lines it causes are bounded
// per source and interval; the first of each code is said in full, the rest counted into one
// summary per interval; memory stays bounded. Time is a FakeClock.

import { describe, expect, it } from 'vitest';
import { MAX_CODES, MAX_EXAMPLES, MAX_WHO, OTHER_CODES, OVERFLOW_SOURCE, RepeatLimiter, type RepeatSummary } from '../../src/lib/repeat-limiter.js';
import { FakeClock } from '../helpers/fake-clock.js';

const INTERVAL = 60_000;

function setup(maxSources?: number) {
  const clock = new FakeClock();
  const summaries: RepeatSummary[] = [];
  const limiter = new RepeatLimiter({ clock, intervalMs: INTERVAL, onSummary: (s) => summaries.push(s), ...(maxSources !== undefined ? { maxSources } : {}) });
  return { clock, summaries, limiter };
}

describe('RepeatLimiter', () => {
  it('a burst of N from one source with one code: 1 in full, then one summary per interval with the right count', () => {
    const t = setup();
    const full = Array.from({ length: 10_000 }, () => t.limiter.admit('rn-a', 'HANDSHAKE_UNEXPECTED', 'op-1')).filter(Boolean).length;
    expect(full).toBe(1);
    expect(t.summaries).toEqual([]);
    t.clock.advance(INTERVAL);
    expect(t.summaries).toEqual([{ source: 'rn-a', suppressed: 9_999, codes: { HANDSHAKE_UNEXPECTED: 9_999 }, examples: ['op-1'] }]);
    // It goes on: still no line in full, one summary per interval.
    for (let i = 0; i < 500; i++) expect(t.limiter.admit('rn-a', 'HANDSHAKE_UNEXPECTED', 'op-1')).toBe(false);
    t.clock.advance(INTERVAL / 2);
    expect(t.summaries).toHaveLength(1);
    t.clock.advance(INTERVAL / 2);
    expect(t.summaries.at(-1)).toEqual({ source: 'rn-a', suppressed: 500, codes: { HANDSHAKE_UNEXPECTED: 500 }, examples: ['op-1'] });
    // Quiet: no summary with nothing to count; forgotten after a whole quiet interval, then said in full again.
    t.clock.advance(3 * INTERVAL);
    expect(t.summaries).toHaveLength(2);
    expect(t.limiter.size).toBe(0);
    expect(t.clock.pending).toBe(0);
    expect(t.limiter.admit('rn-a', 'HANDSHAKE_UNEXPECTED', 'op-1')).toBe(true);
  });

  it('alternating codes: the first of each code in full, the rest counted by code', () => {
    const t = setup();
    const full: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      const code = i % 2 === 0 ? 'ARTEFACT_TYPE' : 'ENVELOPE_MALFORMED';
      if (t.limiter.admit('127.0.0.1:7443', code, 'artefact')) full.push(code);
    }
    expect(full).toEqual(['ARTEFACT_TYPE', 'ENVELOPE_MALFORMED']);
    t.clock.advance(INTERVAL);
    expect(t.summaries).toEqual([{ source: '127.0.0.1:7443', suppressed: 998, codes: { ARTEFACT_TYPE: 499, ENVELOPE_MALFORMED: 499 }, examples: ['artefact'] }]);
  });

  it('a new code is said in full even while another floods the same source; each source has its own', () => {
    const t = setup();
    for (let i = 0; i < 100; i++) t.limiter.admit('rn-a', 'HANDSHAKE_UNEXPECTED', `junk-${i}`);
    expect(t.limiter.admit('rn-a', 'GRANT_EXPIRED', 'op-honest')).toBe(true);
    expect(t.limiter.admit('rn-b', 'HANDSHAKE_UNEXPECTED', 'junk-0')).toBe(true);
    expect(t.limiter.admit('rn-a', 'GRANT_EXPIRED', 'op-honest')).toBe(false);
  });

  it('many `who`s under one code (an RN naming a fresh initiator each time): at most MAX_WHO more in full per interval, a few named in the summary', () => {
    const t = setup();
    let full = 0;
    for (let i = 0; i < 5_000; i++) if (t.limiter.admit('rn-a', 'HANDSHAKE_UNEXPECTED', `cid-${i}`)) full++;
    expect(full).toBe(MAX_WHO);
    t.clock.advance(INTERVAL);
    const s = t.summaries[0]!;
    expect(s.suppressed).toBe(5_000 - MAX_WHO);
    expect(s.examples).toHaveLength(MAX_EXAMPLES);
    // Over many intervals of the same flood: bounded lines in full per interval.
    for (let round = 1; round <= 5; round++) {
      let n = 0;
      for (let i = 0; i < 5_000; i++) if (t.limiter.admit('rn-a', 'HANDSHAKE_UNEXPECTED', `cid-${round}-${i}`)) n++;
      expect(n).toBeLessThanOrEqual(MAX_WHO);
      t.clock.advance(INTERVAL);
    }
    expect(t.summaries).toHaveLength(6);
  });

  it('the map of sources stays bounded: sources beyond the cap are counted together, the first of each code still in full', () => {
    const t = setup(16);
    let full = 0;
    for (let i = 0; i < 10_000; i++) if (t.limiter.admit(`src-${i}`, 'E', 'x')) full++;
    expect(t.limiter.size).toBe(17);
    // 16 sources in full, then in the overflow: its first, and MAX_WHO more sources by name.
    expect(full).toBe(16 + 1 + MAX_WHO - 1);
    t.clock.advance(INTERVAL);
    expect(t.summaries).toEqual([{ source: OVERFLOW_SOURCE, suppressed: 10_000 - full, codes: { E: 10_000 - full }, examples: expect.any(Array) }]);
    expect(t.summaries[0]!.examples).toHaveLength(MAX_EXAMPLES);
  });

  it('codes beyond MAX_CODES per source are counted under OTHER', () => {
    const t = setup();
    let full = 0;
    for (let round = 0; round < 2; round++) for (let i = 0; i < MAX_CODES + 10; i++) if (t.limiter.admit('rn-a', `C${i}`, 'x')) full++;
    // The first MAX_CODES codes once each (their firsts also filled the MAX_WHO pairs); the 10 beyond, never.
    expect(full).toBe(MAX_CODES);
    t.clock.advance(INTERVAL);
    const s = t.summaries[0]!;
    expect(Object.keys(s.codes)).toHaveLength(MAX_CODES + 1);
    // Counted by name: the 10 beyond (first round), then the first 22 again; the last 10 again are OTHER.
    expect(s.codes[OTHER_CODES]).toBe(10);
    expect(s.suppressed).toBe(2 * (MAX_CODES + 10) - MAX_CODES);
  });

  it('stop() says what is counted at once and leaves no timer', () => {
    const t = setup();
    for (let i = 0; i < 7; i++) t.limiter.admit('rn-a', 'E', 'x');
    t.limiter.stop();
    expect(t.summaries).toEqual([{ source: 'rn-a', suppressed: 6, codes: { E: 6 }, examples: ['x'] }]);
    expect(t.clock.pending).toBe(0);
    t.clock.advance(2 * INTERVAL);
    expect(t.summaries).toHaveLength(1);
  });

  it('after stop(): nothing said in full, nothing kept, no timer armed (no summary a minute later)', () => {
    const t = setup();
    t.limiter.stop();
    expect([t.limiter.admit('rn-a', 'E', 'x'), t.limiter.admit('rn-a', 'F', 'y')]).toEqual([false, false]);
    expect(t.limiter.size).toBe(0);
    expect(t.clock.pending).toBe(0); // before: 1
    t.clock.advance(2 * INTERVAL);
    expect(t.summaries).toEqual([]);
  });
});
