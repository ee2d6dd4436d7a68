// RESUME / STANDBY / RESUMED (src/uzp/session/continuity.ts, docs/PROFILE.md §Continuity): round trips,
// exact lengths, every truncation and extension refused with DecodeError, every single-bit change
// caught (by the decoder or the MAC), and junk that never throws anything but DecodeError (decodeResume)
// or anything at all (resumedValid, which answers false).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommonCode, DecodeError } from '../../../src/lib/errors.js';
import { concat } from '../../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../../src/uzp/crypto/node.js';
import {
  CONTINUITY_VERSION,
  decodeResume,
  encodeResume,
  encodeResumed,
  encodeStandby,
  isContinuityToken,
  MSG_RESUME,
  MSG_RESUMED,
  MSG_STANDBY,
  RESUME_LENGTH,
  RESUMED_LENGTH,
  resumedValid,
  resumeMacValid,
  SESSION_TAG_LENGTH,
  type ContinuityKeys,
  type ResumeToken,
} from '../../../src/uzp/session/continuity.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const keysArb: fc.Arbitrary<ContinuityKeys> = fc.record({ tag: bytes(16), macKey: bytes(32), initiatorCid: bytes(32), responderCid: bytes(32) });
const tokenArb = (tag: Uint8Array): fc.Arbitrary<ResumeToken> =>
  fc.record({ tag: fc.constant(tag), generation: fc.integer({ min: 0, max: 0xffff_ffff }), issuedMs: u53, expiresMs: u53, grantId: bytes(32), rnSetId: bytes(32), rnCid: bytes(32) });
const caseArb = keysArb.chain((k) => tokenArb(k.tag).map((t) => ({ k, t })));

const K: ContinuityKeys = { tag: new Uint8Array(16).fill(0x71), macKey: new Uint8Array(32).fill(0x6b), initiatorCid: new Uint8Array(32).fill(0xa1), responderCid: new Uint8Array(32).fill(0xc1) };
const T: ResumeToken = { tag: K.tag, generation: 1, issuedMs: 1_795_262_400_000, expiresMs: 1_795_262_415_000, grantId: new Uint8Array(32).fill(0x47), rnSetId: new Uint8Array(32).fill(0x53), rnCid: new Uint8Array(32).fill(0xe1) };
const RN = T.rnCid;

function decodeCode(b: Uint8Array): string | undefined {
  try {
    decodeResume(b);
    return undefined;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return e.code;
  }
}

/** Every single-bit change of token `b` (RESUME or STANDBY) is refused by the decoder or by the MAC. */
function expectEveryBitFlipRefused(b: Uint8Array): void {
  for (let i = 0; i < b.length * 8; i++) {
    const x = b.slice();
    x[i >> 3]! ^= 0x80 >> (i & 7);
    let d;
    try {
      d = decodeResume(x);
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      continue;
    }
    expect(resumeMacValid(p, K, d), `bit ${i}`).toBe(false);
  }
}

describe('RESUME (0x04)', () => {
  it('is 166 bytes: type, version, tag 16, generation u32, issued u64, expires u64, 3 ids of 32, MAC 32', () => {
    expect(RESUME_LENGTH).toBe(1 + 1 + SESSION_TAG_LENGTH + 4 + 8 + 8 + 96 + 32);
    const b = encodeResume(p, K, T);
    expect(b.length).toBe(166);
    expect([b[0], b[1]]).toEqual([MSG_RESUME, CONTINUITY_VERSION]);
    expect(isContinuityToken(b)).toBe(true);
    expect(isContinuityToken(new Uint8Array(0))).toBe(false);
    expect(isContinuityToken(Uint8Array.of(0x01))).toBe(false);
  });

  it('round trip: decodes to the token it was made from and its MAC verifies (property)', () => {
    fc.assert(
      fc.property(caseArb, ({ k, t }) => {
        const b = encodeResume(p, k, t);
        const d = decodeResume(b);
        expect({ tag: d.tag, generation: d.generation, issuedMs: d.issuedMs, expiresMs: d.expiresMs, grantId: d.grantId, rnSetId: d.rnSetId, rnCid: d.rnCid }).toEqual(t);
        expect(resumeMacValid(p, k, d)).toBe(true);
        expect(d.body).toEqual(b.subarray(0, 134));
      }),
      { numRuns: 300 },
    );
  });

  it('every truncation is DECODE_TRUNCATED, every extension DECODE_TRAILING', () => {
    const b = encodeResume(p, K, T);
    for (let n = 0; n < b.length; n++) expect(decodeCode(b.subarray(0, n)), `length ${n}`).toBe(CommonCode.DECODE_TRUNCATED);
    for (let extra = 1; extra <= 64; extra++) expect(decodeCode(concat(b, new Uint8Array(extra))), `+${extra}`).toBe(CommonCode.DECODE_TRAILING);
  });

  it('type other than 0x04 (or 0x06, STANDBY): DECODE_TYPE; version other than 1: DECODE_VALUE; a time above 2^53-1: DECODE_VALUE', () => {
    const b = encodeResume(p, K, T);
    for (let t = 0; t < 256; t++) {
      if (t === MSG_RESUME || t === MSG_STANDBY) continue;
      const x = b.slice();
      x[0] = t;
      expect(decodeCode(x)).toBe(CommonCode.DECODE_TYPE);
    }
    for (const v of [0, 2, 255]) {
      const x = b.slice();
      x[1] = v;
      expect(decodeCode(x)).toBe(CommonCode.DECODE_VALUE);
    }
    for (const off of [22, 30]) {
      const x = b.slice();
      x[off] = 0x00;
      x[off + 1] = 0x20; // hi word 0x0020_xxxx > 0x1f_ffff
      expect(decodeCode(x), `u64 at ${off}`).toBe(CommonCode.DECODE_VALUE);
    }
  });

  it('every single-bit change is caught: refused by the decoder or by the MAC', () => {
    const b = encodeResume(p, K, T);
    expectEveryBitFlipRefused(b);
  });

  it('the MAC binds both CIDs in order and the key: another key, swapped or other CIDs do not verify', () => {
    const d = decodeResume(encodeResume(p, K, T));
    expect(resumeMacValid(p, { ...K, macKey: new Uint8Array(32).fill(0x6c) }, d)).toBe(false);
    expect(resumeMacValid(p, { ...K, initiatorCid: K.responderCid, responderCid: K.initiatorCid }, d)).toBe(false);
    expect(resumeMacValid(p, { ...K, initiatorCid: new Uint8Array(32) }, d)).toBe(false);
  });

  it('the encoder refuses fields of the wrong size and integers out of range (local misuse: RangeError)', () => {
    expect(() => encodeResume(p, K, { ...T, tag: new Uint8Array(15) })).toThrow(RangeError);
    expect(() => encodeResume(p, K, { ...T, grantId: new Uint8Array(33) })).toThrow(RangeError);
    expect(() => encodeResume(p, K, { ...T, rnSetId: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => encodeResume(p, K, { ...T, rnCid: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => encodeResume(p, K, { ...T, generation: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeResume(p, K, { ...T, expiresMs: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeResume(p, K, { ...T, issuedMs: -1 })).toThrow(RangeError);
  });
});

describe('STANDBY (0x06)', () => {
  it('is a RESUME with type 0x06 and the MAC label "uzp standby v1": same length and fields', () => {
    const b = encodeStandby(p, K, T);
    const r = encodeResume(p, K, T);
    expect(b.length).toBe(RESUME_LENGTH);
    expect([b[0], b[1]]).toEqual([MSG_STANDBY, CONTINUITY_VERSION]);
    expect(b.subarray(1, 134)).toEqual(r.subarray(1, 134));
    expect(isContinuityToken(b)).toBe(true);
    const d = decodeResume(b);
    expect(d.standby).toBe(true);
    expect(decodeResume(r).standby).toBe(false);
    expect({ tag: d.tag, generation: d.generation, issuedMs: d.issuedMs, expiresMs: d.expiresMs, grantId: d.grantId, rnSetId: d.rnSetId, rnCid: d.rnCid }).toEqual(T);
    expect(resumeMacValid(p, K, d)).toBe(true);
  });

  it('a RESUME never passes for a STANDBY nor the other way round: retyping one breaks its MAC', () => {
    fc.assert(
      fc.property(caseArb, ({ k, t }) => {
        const standby = encodeStandby(p, k, t);
        const resume = encodeResume(p, k, t);
        expect(standby.subarray(134)).not.toEqual(resume.subarray(134));
        const asResume = standby.slice();
        asResume[0] = MSG_RESUME;
        const asStandby = resume.slice();
        asStandby[0] = MSG_STANDBY;
        expect(resumeMacValid(p, k, decodeResume(asResume))).toBe(false);
        expect(resumeMacValid(p, k, decodeResume(asStandby))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('every truncation, extension and single-bit change is refused by the decoder or the MAC', () => {
    const b = encodeStandby(p, K, T);
    for (let n = 0; n < b.length; n++) expect(decodeCode(b.subarray(0, n))).toBe(CommonCode.DECODE_TRUNCATED);
    for (let extra = 1; extra <= 8; extra++) expect(decodeCode(concat(b, new Uint8Array(extra)))).toBe(CommonCode.DECODE_TRAILING);
    expectEveryBitFlipRefused(b);
  });
});

describe('RESUMED (0x05)', () => {
  it('is 54 bytes: type, version, tag 16, generation u32, MAC 32; verifies for its tag, generation and RN only', () => {
    const b = encodeResumed(p, K, 7, RN);
    expect(RESUMED_LENGTH).toBe(54);
    expect(b.length).toBe(54);
    expect([b[0], b[1]]).toEqual([MSG_RESUMED, CONTINUITY_VERSION]);
    expect(resumedValid(p, K, b, 7, RN)).toBe(true);
    expect(resumedValid(p, K, b, 6, RN)).toBe(false);
    expect(resumedValid(p, K, b, 8, RN)).toBe(false);
    expect(resumedValid(p, K, b, 7, new Uint8Array(32).fill(0xe2))).toBe(false);
    expect(resumedValid(p, { ...K, tag: new Uint8Array(16) }, b, 7, RN)).toBe(false);
    expect(resumedValid(p, { ...K, macKey: new Uint8Array(32) }, b, 7, RN)).toBe(false);
  });

  it('round trip (property)', () => {
    fc.assert(
      fc.property(keysArb, fc.integer({ min: 0, max: 0xffff_ffff }), bytes(32), (k, g, rn) => {
        expect(resumedValid(p, k, encodeResumed(p, k, g, rn), g, rn)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('every truncation, extension and single-bit change: false', () => {
    const b = encodeResumed(p, K, 1, RN);
    for (let n = 0; n < b.length; n++) expect(resumedValid(p, K, b.subarray(0, n), 1, RN)).toBe(false);
    for (let extra = 1; extra <= 64; extra++) expect(resumedValid(p, K, concat(b, new Uint8Array(extra)), 1, RN)).toBe(false);
    for (let i = 0; i < b.length * 8; i++) {
      const x = b.slice();
      x[i >> 3]! ^= 0x80 >> (i & 7);
      expect(resumedValid(p, K, x, 1, RN), `bit ${i}`).toBe(false);
    }
  });

  it('a RESUME is never a RESUMED and the other way round (type bytes, lengths and MAC labels differ)', () => {
    const resume = encodeResume(p, K, T);
    expect(resumedValid(p, K, resume, 1, RN)).toBe(false);
    expect(resumedValid(p, K, resume.subarray(0, 54), 1, RN)).toBe(false);
    expect(decodeCode(encodeResumed(p, K, 1, RN))).toBe(CommonCode.DECODE_TYPE);
  });
});

describe('junk never throws anything but DecodeError', () => {
  // Junk shaped to get past the early checks: right type and version, right length, or neither.
  const junk = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 300 }),
    fc.uint8Array({ minLength: RESUME_LENGTH - 2, maxLength: RESUME_LENGTH - 2 }).map((b) => concat(Uint8Array.of(MSG_RESUME, 1), b)),
    fc.uint8Array({ minLength: 0, maxLength: 260 }).map((b) => concat(Uint8Array.of(MSG_RESUME, 1), b)),
    fc.uint8Array({ minLength: RESUME_LENGTH - 2, maxLength: RESUME_LENGTH - 2 }).map((b) => concat(Uint8Array.of(MSG_STANDBY, 1), b)),
    fc.uint8Array({ minLength: RESUMED_LENGTH - 2, maxLength: RESUMED_LENGTH - 2 }).map((b) => concat(Uint8Array.of(MSG_RESUMED, 1), b)),
  );

  it('decodeResume: DecodeError or a token whose MAC does not verify (2,000 inputs)', () => {
    fc.assert(
      fc.property(junk, (b) => {
        let d;
        try {
          d = decodeResume(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return;
        }
        expect(b.length).toBe(RESUME_LENGTH);
        expect(resumeMacValid(p, K, d)).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('resumedValid: false, never a throw (2,000 inputs)', () => {
    fc.assert(
      fc.property(junk, fc.integer({ min: 0, max: 0xffff_ffff }), (b, g) => {
        expect(resumedValid(p, K, b, g, RN)).toBe(false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('a RESUMED with our tag and generation but junk MAC: false', () => {
    fc.assert(
      fc.property(bytes(32), (m) => {
        const b = encodeResumed(p, K, 3, RN);
        b.set(m, 22);
        expect(resumedValid(p, K, b, 3, RN)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
