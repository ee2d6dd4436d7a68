// LineSplitter's cost is linear in the bytes received, and its output did not change when it
// stopped joining and searching the whole held line at every chunk (1-byte reads of a 64 KiB line
// cost 1.5 s per 256 KiB). Work is counted (bytes copied and searched, LineSplitter.work), not timed.
// Behaviour: a property test against the former splitter, kept here as the reference, over random
// streams, chunkings, delimiters, bounds and port resyncs.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LineSplitter } from '../../src/hil-devices/serial-line.js';

/** The splitter as it was (quadratic on long lines), the reference for what the lines must be. */
class FormerSplitter {
  pending = Buffer.alloc(0);
  discarding = false;
  resyncing = false;
  constructor(
    private readonly delim: Buffer,
    private readonly max: number,
    private readonly onLine: (line: Buffer, truncated: boolean) => void,
  ) {}
  resync(): void {
    [this.pending, this.discarding, this.resyncing] = [Buffer.alloc(0), true, true];
  }
  endResync(): void {
    if (this.resyncing) [this.pending, this.discarding, this.resyncing] = [Buffer.alloc(0), false, false];
  }
  push(chunk: Uint8Array): void {
    let data = Buffer.concat([this.pending, chunk]);
    let start = 0;
    for (let i = data.indexOf(this.delim, start); i !== -1; i = data.indexOf(this.delim, start)) {
      let line = data.subarray(start, i);
      if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
      start = i + this.delim.length;
      if (this.discarding) [this.discarding, this.resyncing] = [false, false];
      else if (line.length > this.max) this.onLine(line.subarray(0, this.max), true);
      else this.onLine(line, false);
    }
    data = data.subarray(start);
    if (!this.discarding && data.length > this.max + this.delim.length) {
      this.onLine(data.subarray(0, this.max), true);
      this.discarding = true;
    }
    if (this.discarding) data = data.subarray(Math.max(0, data.length - (this.delim.length - 1)));
    this.pending = Buffer.from(data);
  }
}

type Step = { push: Uint8Array } | 'resync' | 'endResync';

function run(make: (on: (l: Buffer, t: boolean) => void) => FormerSplitter | LineSplitter, steps: Step[]): string[] {
  const out: string[] = [];
  const s = make((l, t) => out.push(`${t ? 'cut' : 'line'}:${l.toString('latin1')}`));
  for (const st of steps) {
    if (st === 'resync') s.resync();
    else if (st === 'endResync') s.endResync();
    else s.push(st.push);
    out.push(`held:${s instanceof LineSplitter ? s.held : s.pending.length}`);
  }
  return out;
}

describe('LineSplitter', () => {
  it('property: the same lines, cuts and held bytes as the former splitter, whatever the chunking', () => {
    const byte = fc.constantFrom(...Buffer.from('ab\r\n|x'));
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 12, arbitrary: fc.array(byte, { maxLength: 40 }).map((b) => ({ push: Uint8Array.from(b) })) },
      { weight: 1, arbitrary: fc.constantFrom<Step>('resync', 'endResync') },
    );
    fc.assert(
      fc.property(fc.constantFrom('\n', '\r\n', '|', '||', 'ab', 'aab'), fc.integer({ min: 1, max: 24 }), fc.array(step, { maxLength: 40 }), (d, max, steps) => {
        const delim = Buffer.from(d);
        const want = run((on) => new FormerSplitter(delim, max, on), steps);
        expect(run((on) => new LineSplitter(delim, max, on), steps)).toEqual(want);
      }),
      { numRuns: 5000 },
    );
  });

  it('1-byte reads of a 256 KiB line with no delimiter at max_line_bytes 65536: linear work, one cut', () => {
    const cuts: number[] = [];
    const s = new LineSplitter(Buffer.from('\n'), 65_536, (l, t) => void (t && cuts.push(l.length)));
    const total = 4 * 65_536;
    const one = Buffer.from('A');
    for (let i = 0; i < total; i++) s.push(one);
    expect(cuts).toEqual([65_536]);
    // Each byte copied into the buffer once (plus its growth, at most the bound) and searched once.
    expect(s.work.copied).toBeLessThanOrEqual(total + 2 * 65_538);
    expect(s.work.scanned).toBeLessThanOrEqual(total);
  });

  it('1-byte reads of long lines ended by a two-byte delimiter split across reads: linear work', () => {
    const lines: number[] = [];
    const s = new LineSplitter(Buffer.from('\r\n'), 65_536, (l) => void lines.push(l.length));
    const line = Buffer.concat([Buffer.alloc(60_000, 0x42), Buffer.from('\r\n')]);
    for (let k = 0; k < 4; k++) for (let i = 0; i < line.length; i++) s.push(line.subarray(i, i + 1));
    expect(lines).toEqual([60_000, 60_000, 60_000, 60_000]);
    const total = 4 * line.length;
    expect(s.work.copied).toBeLessThanOrEqual(total + 2 * 65_540);
    // A byte may be searched again as the first byte of a delimiter begun in the previous read.
    expect(s.work.scanned).toBeLessThanOrEqual(2 * total);
  });
});
