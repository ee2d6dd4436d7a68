// Round trips (fast-check) and junk for the frame and ACK codecs: decoders throw only DecodeError.

import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodeFrames, encodeFrames, walkFrames, type Frame } from '../../../src/uzp/blocks/frames.js';
import { decodeAck, encodeAck, type AckFrame, type AckRange } from '../../../src/uzp/blocks/ack.js';
import { mulberry32 } from './harness.js';
import { DecodeError, isCodedError } from '../../../src/lib/errors.js';

const msg: fc.Arbitrary<Frame> = fc.record({
  type: fc.constant('msg' as const),
  channel: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant(0xffff_ffff), fc.nat({ max: 0xffff_ffff })),
  fin: fc.boolean(),
  channelClose: fc.boolean(),
  data: fc.uint8Array({ maxLength: 300 }),
}).map((m) => ({ ...m, channelClose: m.fin && m.channelClose }));

const close: fc.Arbitrary<Frame> = fc.record({
  type: fc.constant('close' as const),
  code: fc.integer({ min: 0, max: 0xffff }),
  reason: fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => new TextEncoder().encode(s).length <= 256),
});

const frameList: fc.Arbitrary<Frame[]> = fc
  .tuple(
    fc.array(fc.oneof(msg, fc.constant<Frame>({ type: 'ping' })), { maxLength: 8 }),
    fc.option(close, { nil: undefined }),
    fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
  )
  .map(([body, c, pad]) => [...body, ...(c ? [c] : []), ...(pad ? [{ type: 'padding' as const, length: pad }] : [])])
  .filter((fs) => fs.length > 0);

/** Descending, disjoint, non-adjacent ranges below a random largest. */
const ackFrame: fc.Arbitrary<AckFrame> = fc
  .tuple(
    fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
    fc.nat({ max: 0xffff_ffff }),
    fc.array(fc.tuple(fc.nat({ max: 20 }), fc.integer({ min: 1, max: 20 })), { minLength: 0, maxLength: 63 }),
    fc.nat({ max: 20 }),
  )
  .map(([largest, ackDelayUs, steps, firstLen]) => {
    const ranges: AckRange[] = [{ first: Math.max(0, largest - firstLen), last: largest }];
    for (const [len, gap] of steps) {
      const last = ranges[ranges.length - 1]!.first - gap - 1;
      if (last < 0) break;
      ranges.push({ first: Math.max(0, last - len), last });
    }
    return { largest, ackDelayUs, ranges };
  });

/** Runs `decode` and fails the test if it throws anything but a DecodeError. */
function onlyDecodeErrors(decode: (b: Uint8Array) => unknown, input: Uint8Array): boolean {
  try {
    decode(input);
    return true;
  } catch (e) {
    if (!(e instanceof DecodeError) || !isCodedError(e)) throw new Error(`non-DecodeError thrown: ${String(e)}`, { cause: e });
    return false;
  }
}

function mutate(rand: () => number, b: Uint8Array): Uint8Array {
  const r = rand();
  const pos = Math.floor(rand() * Math.max(1, b.length));
  if (r < 0.4 && b.length > 0) {
    const m = b.slice();
    m[pos] = m[pos]! ^ (1 << Math.floor(rand() * 8));
    return m;
  }
  if (r < 0.55) return b.slice(0, pos); // truncate
  if (r < 0.7) {
    const m = new Uint8Array(b.length + 1 + Math.floor(rand() * 4)); // extend
    m.set(b);
    for (let i = b.length; i < m.length; i++) m[i] = Math.floor(rand() * 256);
    return m;
  }
  if (r < 0.85 && b.length > 0) {
    const m = b.slice();
    m[pos] = Math.floor(rand() * 256); // random byte
    return m;
  }
  const m = b.slice(); // overwrite a 4-byte window (lengths, counts)
  for (let i = pos; i < Math.min(m.length, pos + 4); i++) m[i] = rand() < 0.5 ? 0xff : 0;
  return m;
}

describe('frame codec', () => {
  it('round-trips any valid frame list', () => {
    fc.assert(
      fc.property(frameList, (fs) => {
        const bytes = encodeFrames(fs);
        expect(decodeFrames(bytes)).toEqual(fs);
        expect(encodeFrames(decodeFrames(bytes))).toEqual(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('10,000 random byte strings: only DecodeError, and walkFrames agrees with decodeFrames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(0, 1, 2, 3, 4, 0xff), (junk, first) => {
        const b = junk.length > 0 ? Uint8Array.of(first, ...junk.subarray(1)) : junk;
        const ok = onlyDecodeErrors(decodeFrames, b);
        expect(onlyDecodeErrors((x) => walkFrames(x, null), b)).toBe(ok);
      }),
      { numRuns: 10_000 },
    );
  });

  it('10,000 mutations of valid plaintexts: only DecodeError; accepted ones re-encode identically', () => {
    const rand = mulberry32(42);
    const samples = fc.sample(frameList, { numRuns: 200, seed: 7 }).map((fs) => encodeFrames(fs));
    let rejected = 0;
    for (let i = 0; i < 10_000; i++) {
      const m = mutate(rand, samples[i % samples.length]!);
      if (onlyDecodeErrors(decodeFrames, m)) expect(encodeFrames(decodeFrames(m))).toEqual(m);
      else rejected++;
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});

describe('ACK codec', () => {
  it('round-trips any valid ACK frame', () => {
    fc.assert(
      fc.property(ackFrame, (a) => {
        const bytes = encodeAck(a);
        expect(decodeAck(bytes)).toEqual(a);
      }),
      { numRuns: 1000 },
    );
  });

  it('the encoder refuses what the decoder would refuse', () => {
    expect(() => encodeAck({ largest: 5, ackDelayUs: 0, ranges: [] })).toThrow(RangeError);
    expect(() => encodeAck({ largest: 5, ackDelayUs: 0, ranges: [{ first: 3, last: 5 }, { first: 1, last: 2 }] })).toThrow(RangeError);
    expect(() => encodeAck({ largest: 5, ackDelayUs: -1, ranges: [{ first: 3, last: 5 }] })).toThrow(RangeError);
  });

  it('10,000 random byte strings: only DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (b) => {
        onlyDecodeErrors(decodeAck, b);
      }),
      { numRuns: 10_000 },
    );
  });

  it('10,000 mutations of valid ACK frames: only DecodeError; accepted ones are valid and re-encode identically', () => {
    const rand = mulberry32(99);
    const samples = fc.sample(ackFrame, { numRuns: 200, seed: 3 }).map((a) => encodeAck(a));
    let rejected = 0;
    for (let i = 0; i < 10_000; i++) {
      const m = mutate(rand, samples[i % samples.length]!);
      if (onlyDecodeErrors(decodeAck, m)) expect(encodeAck(decodeAck(m))).toEqual(m);
      else rejected++;
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});
