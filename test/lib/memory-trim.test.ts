// The memory trimmer (src/lib/memory-trim.ts): the first check always trims (start-up's high-water
// mark), later checks trim only past the growth margin over the RSS the last trim left, checks keep
// coming at the interval, stop() ends them; and V8's real gc is there to call, with or without
// node's --expose-gc. capYoungGeneration keeps a churning process's new space at its start (a
// fresh node per case, capped and not).

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MemoryTrimmer, TRIM_FIRST_CHECK_MS, TRIM_GROWTH_BYTES, TRIM_INTERVAL_MS, v8Gc, type Trim } from '../../src/lib/memory-trim.js';
import { FakeClock } from '../helpers/fake-clock.js';

const run = promisify(execFile);
const DIST_MEMORY_TRIM = fileURLToPath(new URL('../../dist/lib/memory-trim.js', import.meta.url));

const MB = 1024 * 1024;

function rig() {
  const clock = new FakeClock(0);
  let rss = 130 * MB;
  let gcs = 0;
  const trims: Trim[] = [];
  const t = new MemoryTrimmer({
    clock,
    rss: () => rss,
    gc: () => {
      gcs++;
      rss -= 30 * MB; // what the GC gives back
    },
    onTrim: (x) => trims.push(x),
  });
  return { clock, t, trims, gcs: () => gcs, setRss: (v: number) => (rss = v) };
}

describe('MemoryTrimmer', () => {
  it('trims at the first check, then only when the RSS grew past the margin since the last trim', () => {
    const r = rig();
    r.t.start();
    r.clock.advance(TRIM_FIRST_CHECK_MS - 1);
    expect(r.gcs()).toBe(0);
    r.clock.advance(1);
    expect(r.trims).toEqual([{ rssBefore: 130 * MB, rssAfter: 100 * MB, pauseMs: expect.any(Number) }]);
    // Within the margin: no GC, however many checks.
    r.setRss(100 * MB + TRIM_GROWTH_BYTES);
    r.clock.advance(3 * TRIM_INTERVAL_MS);
    expect(r.gcs()).toBe(1);
    // Past it: the next check trims, and the margin counts from what that trim left.
    r.setRss(100 * MB + TRIM_GROWTH_BYTES + 1);
    r.clock.advance(TRIM_INTERVAL_MS);
    expect(r.gcs()).toBe(2);
    expect(r.trims[1]!.rssAfter).toBe(78 * MB + 1);
  });

  it('stop() ends the checks', () => {
    const r = rig();
    r.t.start();
    r.t.stop();
    r.clock.advance(10 * TRIM_INTERVAL_MS);
    expect(r.gcs()).toBe(0);
  });

  it("V8's gc is obtained without --expose-gc and runs (a memory-reducing GC)", () => {
    const gc = v8Gc();
    expect(typeof gc).toBe('function');
    expect(v8Gc()).toBe(gc);
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    // The process's global scope is left as it was.
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe(process.execArgv.includes('--expose-gc') ? 'function' : 'undefined');
  });

  it('a real check with the real GC reports the RSS before and after', () => {
    const trim = new MemoryTrimmer().check();
    expect(trim).toBeDefined();
    expect(trim!.rssBefore).toBeGreaterThan(0);
    expect(trim!.rssAfter).toBeGreaterThan(0);
    expect(trim!.pauseMs).toBeGreaterThanOrEqual(0);
  });
});

describe('capYoungGeneration', () => {
  // A fresh node per case (the flag is process-wide): churn short-lived objects, some kept a while,
  // then read the new space's size. Uncapped, V8 grows it past its 2 MB start; capped, it stays.
  const churn = (cap: boolean): Promise<number> => {
    const script = `
      import { getHeapSpaceStatistics } from 'node:v8';
      ${cap ? `import { capYoungGeneration } from ${JSON.stringify(DIST_MEMORY_TRIM)}; capYoungGeneration();` : ''}
      const keep = [];
      for (let i = 0; i < 3e6; i++) { const x = { a: i, b: [i, i] }; if (i % 1000 === 0) keep.push(x); if (keep.length > 500) keep.length = 0; }
      console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    `;
    return run(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 }).then(({ stdout }) => Number(stdout.trim()));
  };

  it('keeps the young generation at its starting 2 MB where V8 would grow it', async () => {
    const [uncapped, capped] = await Promise.all([churn(false), churn(true)]);
    expect(capped).toBe(2 * 1024 * 1024);
    // Checked by hand: with capYoungGeneration emptied, this test fails.
    expect(uncapped).toBeGreaterThan(capped);
  });
});
