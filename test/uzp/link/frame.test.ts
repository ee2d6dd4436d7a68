import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { FrameDecoder, MAX_PIECES, encodeFrame, encodeRelayFrame, frameBytes, frameU32, type Frame } from '../../../src/uzp/link/frame.js';
import { FrameType } from '../../../src/uzp/link/constants.js';
import { decodeRelay } from '../../../src/uzp/link/messages.js';
import { concat, toHex } from '../../../src/uzp/bytes.js';
import { CodedError, CommonCode, DecodeError } from '../../../src/lib/errors.js';

function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  out.push(b.subarray(prev));
  return out;
}

function decodeAll(d: FrameDecoder, chunks: Uint8Array[]): Frame[] {
  return chunks.flatMap((c) => d.push(c));
}

const frameArb = fc.record({ type: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 300 }) });

describe('link framing', () => {
  it('encodes u32be length (type + payload) || type || payload', () => {
    expect(toHex(encodeFrame(0x10, Uint8Array.of(0xaa, 0xbb)))).toBe('0000000310aabb');
    expect(toHex(encodeFrame(0x01, new Uint8Array(0)))).toBe('0000000101');
    expect(toHex(encodeRelayFrame(0x01020304, Uint8Array.of(9)))).toBe('00000006' + '20' + '01020304' + '09');
  });

  it('encodeRelayFrame equals encodeFrame(RELAY, stitch_id || payload)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ maxLength: 200 }), (id, p) => {
        const a = encodeRelayFrame(id, p);
        const d = new FrameDecoder(1024).push(a);
        expect(d).toHaveLength(1);
        expect(d[0]!.type).toBe(FrameType.RELAY);
        const r = decodeRelay(d[0]!.payload);
        expect(r.stitchId).toBe(id);
        expect(toHex(r.payload)).toBe(toHex(p));
      }),
    );
  });

  it('reassembles frames across arbitrary chunk boundaries (property)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 12 }), (frames, cuts) => {
        const wire = concat(...frames.map((f) => encodeFrame(f.type, f.payload)));
        const got = decodeAll(new FrameDecoder(1024), split(wire, cuts));
        expect(got.map((f) => [f.type, toHex(f.payload)])).toEqual(frames.map((f) => [f.type, toHex(f.payload)]));
      }),
    );
  });

  it('reuse mode: feed() hands over the same frames through one read buffer reused for every chunk (property)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 12 }), (frames, cuts) => {
        const wire = concat(...frames.map((f) => encodeFrame(f.type, f.payload)));
        const d = new FrameDecoder(1024, { reuse: true });
        const read = new Uint8Array(wire.length); // as RnLink's socket: every chunk lands at the start of one buffer
        const got: [number, string, string][] = [];
        for (const c of split(wire, cuts)) {
          read.set(c);
          // Copied out inside the visitor: that is all reuse mode promises.
          d.feed(read.subarray(0, c.length), (f) => void got.push([f.type, toHex(f.payload), toHex(f.raw)]));
          read.fill(0xee); // the next read overwrites the buffer
        }
        expect(got).toEqual(frames.map((f) => [f.type, toHex(f.payload), toHex(encodeFrame(f.type, f.payload))]));
      }),
    );
  });

  it('reuse mode: frames that span reads share one assembly buffer, and push() is refused', () => {
    const d = new FrameDecoder(1024, { reuse: true });
    const a = encodeFrame(1, new Uint8Array(100).fill(1));
    const b = encodeFrame(2, new Uint8Array(60).fill(2));
    const seen: Frame[] = [];
    d.feed(a.subarray(0, 50), (f) => void seen.push(f));
    d.feed(concat(a.subarray(50), b.subarray(0, 30)), (f) => void seen.push(f));
    d.feed(b.subarray(30), (f) => void seen.push(f));
    expect(seen.map((f) => f.type)).toEqual([1, 2]);
    expect(seen[0]!.raw.buffer).toBe(seen[1]!.raw.buffer); // the second overwrote the first: views only
    expect(toHex(seen[1]!.raw)).toBe(toHex(b));
    expect(() => d.push(a)).toThrow(TypeError);
    // Without reuse every spanning frame has its own memory.
    const own = new FrameDecoder(1024);
    const frames = [...own.push(a.subarray(0, 50)), ...own.push(concat(a.subarray(50), b.subarray(0, 30))), ...own.push(b.subarray(30))];
    expect(frames[0]!.raw.buffer).not.toBe(frames[1]!.raw.buffer);
    expect(toHex(frames[0]!.raw)).toBe(toHex(a));
  });

  it('pieces mode: a frame spanning reads comes as views of them, the same bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(4000), { maxLength: 12 }), (frames, cuts) => {
        const wire = concat(...frames.map((f) => encodeFrame(f.type, f.payload)));
        const chunks = split(wire, cuts).map((c) => c.slice()); // a fresh buffer per read, as node's
        const got = decodeAll(new FrameDecoder(1024, { pieces: true }), chunks);
        expect(got.map((f) => [f.type, toHex(f.payload), frameBytes(f)])).toEqual(frames.map((f) => [f.type, toHex(f.payload), 5 + f.payload.length]));
        for (const f of got) {
          if (f.pieces === undefined) continue;
          expect(f.pieces.length).toBeLessThanOrEqual(MAX_PIECES + 1);
          expect(toHex(concat(...f.pieces))).toBe(toHex(f.raw));
          // Every piece after the header copy is a view of one of the reads: nothing was copied.
          for (const p of f.pieces.slice(1)) expect(chunks.some((c) => c.buffer === p.buffer)).toBe(true);
        }
      }),
    );
  });

  it('pieces mode: a frame over MAX_PIECES reads is assembled; frameU32 reads across pieces', () => {
    const payload = Uint8Array.from({ length: 40 }, (_, i) => i);
    const wire = encodeFrame(0x20, payload);
    const d = new FrameDecoder(1024, { pieces: true });
    // Split so that the u32 at offset 5 straddles two reads.
    let got = [...d.push(wire.slice(0, 7)), ...d.push(wire.slice(7, 30)), ...d.push(wire.slice(30))];
    expect(got[0]!.pieces).toHaveLength(4);
    expect(frameU32(got[0]!, 5)).toBe(0x00010203);
    expect(frameU32(got[0]!, 42)).toBeUndefined();
    expect(frameBytes(got[0]!)).toBe(45);
    got = [];
    for (let i = 0; i < wire.length; i += 3) got.push(...d.push(wire.slice(i, i + 3))); // 15 reads
    expect(got).toHaveLength(1);
    expect(got[0]!.pieces).toBeUndefined();
    expect(toHex(got[0]!.raw)).toBe(toHex(wire));
    expect(frameU32(got[0]!, 5)).toBe(0x00010203);
  });

  it('handles a stream fed one byte at a time', () => {
    const wire = concat(encodeFrame(1, Uint8Array.of(1, 2, 3)), encodeFrame(2, new Uint8Array(0)), encodeFrame(3, new Uint8Array(100).fill(7)));
    const d = new FrameDecoder(1024);
    const got: Frame[] = [];
    const completedAt: number[] = [];
    for (let i = 0; i < wire.length; i++) {
      const f = d.push(wire.subarray(i, i + 1));
      if (f.length > 0) completedAt.push(i);
      got.push(...f);
    }
    // Each frame appears exactly when its last byte arrives.
    expect(completedAt).toEqual([7, 12, 12 + 105]);
    expect(got.map((f) => f.type)).toEqual([1, 2, 3]);
    expect(got[2]!.payload.every((b) => b === 7)).toBe(true);
    expect(d.buffered).toBe(0);
  });

  it('refuses a frame over the cap from its header alone and stays failed', () => {
    const d = new FrameDecoder(16);
    expect(d.push(encodeFrame(1, new Uint8Array(15)))).toHaveLength(1); // exactly the cap (1 + 15)
    let err: unknown;
    try {
      d.push(Uint8Array.of(0, 0, 0, 17, 1)); // header only: no payload needed to refuse
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).code).toBe(ErrorCode.LINK_FRAME_TOO_LARGE);
    expect(() => d.push(encodeFrame(1, Uint8Array.of(1)))).toThrow(DecodeError);
  });

  it('refuses a zero length', () => {
    expect(() => new FrameDecoder(100).push(Uint8Array.of(0, 0, 0, 0, 1))).toThrow(expect.objectContaining({ code: CommonCode.DECODE_LENGTH }));
  });

  it('refuses a zero-length frame from its 4 length bytes alone, without waiting for a type byte it does not have', () => {
    expect(() => new FrameDecoder(100).push(Uint8Array.of(0, 0, 0, 0))).toThrow(expect.objectContaining({ code: CommonCode.DECODE_LENGTH }));
    const d = new FrameDecoder(100);
    expect(d.push(Uint8Array.of(0, 0))).toEqual([]);
    expect(() => d.push(Uint8Array.of(0, 0))).toThrow(expect.objectContaining({ code: CommonCode.DECODE_LENGTH }));
    // the same for an oversize length: refused before its type byte
    expect(() => new FrameDecoder(100).push(Uint8Array.of(0, 0, 0, 101))).toThrow(expect.objectContaining({ code: ErrorCode.LINK_FRAME_TOO_LARGE }));
  });

  it('raising the cap after attachment admits larger frames', () => {
    const d = new FrameDecoder(16);
    d.setMaxFrame(1000);
    expect(d.push(encodeFrame(1, new Uint8Array(999)))[0]!.payload).toHaveLength(999);
  });

  it('10,000 junk inputs: only DecodeError, never another exception, bounded buffering', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
        const d = new FrameDecoder(256);
        try {
          for (const c of chunks) {
            for (const f of d.push(c)) expect(f.payload.length).toBeLessThan(256);
            expect(d.buffered).toBeLessThanOrEqual(256 + 5);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
