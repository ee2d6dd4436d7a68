// RTU frame boundaries by t3.5 silence, on a fake clock (no waiting, no wall-clock thresholds).

import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/uzp/bytes.js';
import { charTimeMs, t15Ms, t35Ms, bitsPerChar } from '../../src/ports/line-timing.js';
import { expectedRequestLength } from '../../src/sim/modbus-rtu-frame.js';
import { RtuFramer } from '../../src/sim/rtu-framer.js';
import { codeOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { CommonCode } from '../../src/lib/errors.js';

function framer(opts: { tolerant?: boolean; silenceMs?: number; maxStretchMs?: number } = {}) {
  const clock = new FakeClock();
  const frames: string[] = [];
  const overruns: number[] = [];
  const f = new RtuFramer(
    { silenceMs: opts.silenceMs ?? 4, clock, ...(opts.tolerant ? { expectedLength: expectedRequestLength } : {}), ...(opts.maxStretchMs !== undefined ? { maxStretchMs: opts.maxStretchMs } : {}) },
    (b) => frames.push(Buffer.from(b).toString('hex')),
    (n) => overruns.push(n),
  );
  return { clock, frames, overruns, f };
}

describe('line timing', () => {
  it('bits per character and t3.5 / t1.5 (Modbus over Serial Line §2.5.1.1)', () => {
    expect(bitsPerChar('8N1')).toBe(10);
    expect(bitsPerChar('8E1')).toBe(11);
    expect(bitsPerChar('8O1')).toBe(11);
    expect(bitsPerChar('8N2')).toBe(11);
    expect(bitsPerChar('7E1')).toBe(10);
    expect(charTimeMs(9600)).toBeCloseTo(1.0417, 4);
    expect(t35Ms(9600)).toBeCloseTo(3.6458, 4);
    expect(t35Ms(9600, '8E1')).toBeCloseTo(4.0104, 4);
    expect(t35Ms(19200)).toBeCloseTo(1.8229, 4);
    expect(t35Ms(38400)).toBe(1.75);
    expect(t15Ms(115200)).toBe(0.75);
    expect(codeOf(() => bitsPerChar('9N1' as never))).toBe(CommonCode.USAGE);
    expect(codeOf(() => charTimeMs(0))).toBe(CommonCode.USAGE);
    expect(codeOf(() => charTimeMs(9600.5))).toBe(CommonCode.USAGE);
  });
});

describe('RTU framer', () => {
  it('ends a frame only after t3.5 of silence, however it was chunked', () => {
    const { clock, frames, f } = framer();
    f.push(fromHex('0103'));
    clock.advance(2);
    f.push(fromHex('0000'));
    clock.advance(3.9); // 3.9 ms after the last byte: not yet
    expect(frames).toEqual([]);
    f.push(fromHex('000ac5cd'));
    clock.advance(4);
    expect(frames).toEqual(['01030000000ac5cd']);
  });

  it('separates back-to-back frames by the silence between them', () => {
    const { clock, frames, f } = framer();
    f.push(fromHex('aa'));
    clock.advance(5);
    f.push(fromHex('bb'));
    clock.advance(5);
    expect(frames).toEqual(['aa', 'bb']);
  });

  it('strict mode splits a frame at a mid-frame gap; tolerant mode waits for the announced length', () => {
    const strict = framer();
    strict.f.push(fromHex('010300'));
    strict.clock.advance(10);
    strict.f.push(fromHex('00000ac5cd'));
    strict.clock.advance(10);
    expect(strict.frames).toEqual(['010300', '00000ac5cd']);

    const tol = framer({ tolerant: true });
    tol.f.push(fromHex('010300'));
    tol.clock.advance(10);
    tol.f.push(fromHex('00000ac5cd'));
    tol.clock.advance(3.9);
    expect(tol.frames).toEqual([]);
    tol.clock.advance(0.1); // one t3.5 after the last byte, not at the end of the stretch
    expect(tol.frames).toEqual(['01030000000ac5cd']);
  });

  it('tolerant mode gives up after maxStretchMs and delivers the short frame', () => {
    const { clock, frames, f } = framer({ tolerant: true, maxStretchMs: 30 });
    f.push(fromHex('010300'));
    clock.advance(29);
    expect(frames).toEqual([]);
    clock.advance(2);
    expect(frames).toEqual(['010300']);
  });

  it('tolerant mode does not delay a complete frame or one of unknown length', () => {
    const { clock, frames, f } = framer({ tolerant: true });
    f.push(fromHex('01030000000ac5cd'));
    clock.advance(4);
    f.push(fromHex('0107e2'));
    clock.advance(5);
    expect(frames).toEqual(['01030000000ac5cd', '0107e2']);
  });

  it('drops a burst longer than 256 bytes as an overrun, then frames normally', () => {
    const { clock, frames, overruns, f } = framer();
    f.push(new Uint8Array(300));
    clock.advance(5);
    expect(frames).toEqual([]);
    expect(overruns).toEqual([300]);
    f.push(fromHex('0102'));
    clock.advance(5);
    expect(frames).toEqual(['0102']);
  });

  it('reset() drops a partial frame and its timer', () => {
    const { clock, frames, f } = framer();
    f.push(fromHex('0102'));
    f.reset();
    expect(clock.pending).toBe(0);
    clock.advance(10);
    expect(frames).toEqual([]);
  });
});
