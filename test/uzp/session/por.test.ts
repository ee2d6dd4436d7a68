// Proof-of-Reachability codec and rules (src/uzp/session/por.ts, draft §12, docs/PROFILE.md
// §Proof-of-Reachability): round trips and exact lengths, truncation/extension/junk refused with
// DecodeError only, the verifier's rules (single acceptance §12.5, expiry, RN §12.3, generation,
// profile, the proof's key and CIDs §12.6) and the responder's (answerChallenge).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommonCode, DecodeError } from '../../../src/lib/errors.js';
import { concat } from '../../../src/uzp/bytes.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import {
  answerChallenge,
  CTL_POR_CHALLENGE,
  CTL_POR_RESPONSE,
  decodePor,
  encodeChallenge,
  encodeResponse,
  POR_NONCE_LENGTH,
  POR_PROFILE_EXPORTER_HMAC,
  PorVerifier,
  type PorChallenge,
  type PorKeys,
} from '../../../src/uzp/session/por.js';

const p = nodeProvider;
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
const A = fill(32, 0xa1); // challenger CID
const B = fill(32, 0xc1); // responder CID
const RN = fill(32, 0xe1);
const KEY = fill(32, 0x50);
const TAG = fill(16, 0x71);
/** The two ends of one session: the same exported key, each with its own CID first. */
const atA: PorKeys = { key: KEY, tag: TAG, localCid: A, peerCid: B };
const atB: PorKeys = { key: KEY, tag: TAG, localCid: B, peerCid: A };
const T0 = 1_795_262_401_000;
const LIFETIME = 2_500;

/** A provider whose nonces are 0x01.., 0x02.., ... so tests can name them. */
function counting(): CryptoProvider {
  let i = 0;
  return { ...p, randomBytes: (n) => fill(n, ++i) };
}

function verifier(keys: PorKeys = atA): PorVerifier {
  return new PorVerifier(counting(), keys);
}

/** B's honest answer to A's challenge bytes. */
function answer(challenge: Uint8Array, keys: PorKeys = atB): Uint8Array {
  return encodeResponse(p, keys, decodePor(challenge).challenge);
}

function decodeCode(b: Uint8Array): string | undefined {
  try {
    decodePor(b);
    return undefined;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return e.code;
  }
}

const challengeArb: fc.Arbitrary<PorChallenge> = fc.record({
  profile: fc.integer({ min: 0, max: 255 }),
  nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  rnCid: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  generation: fc.integer({ min: 0, max: 0xffff_ffff }),
  issuedMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  expiresMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

describe('POR_CHALLENGE (0x01) and POR_RESPONSE (0x02) on channel 0', () => {
  it('challenge is 70 bytes, response 102 (the challenge echoed with type 0x02, then a 32-byte proof)', () => {
    const c = verifier().challenge(RN, 0, T0, LIFETIME);
    expect(c.length).toBe(1 + 1 + POR_NONCE_LENGTH + 32 + 4 + 8 + 8);
    expect(c.length).toBe(70);
    expect([c[0], c[1]]).toEqual([CTL_POR_CHALLENGE, POR_PROFILE_EXPORTER_HMAC]);
    const r = answer(c);
    expect(r.length).toBe(102);
    expect(r[0]).toBe(CTL_POR_RESPONSE);
    expect(r.subarray(1, 70)).toEqual(c.subarray(1));
  });

  it('round trips (property)', () => {
    fc.assert(
      fc.property(challengeArb, (c) => {
        expect(decodePor(encodeChallenge(c))).toEqual({ type: CTL_POR_CHALLENGE, challenge: c });
        const r = decodePor(encodeResponse(p, atB, c));
        expect(r.type).toBe(CTL_POR_RESPONSE);
        expect(r.challenge).toEqual(c);
        expect(r.proof!.length).toBe(32);
      }),
      { numRuns: 300 },
    );
  });

  it('every truncation is DECODE_TRUNCATED and every extension DECODE_TRAILING, for both messages', () => {
    const c = verifier().challenge(RN, 0, T0, LIFETIME);
    for (const m of [c, answer(c)]) {
      for (let n = 0; n < m.length; n++) expect(decodeCode(m.subarray(0, n)), `${m[0]} length ${n}`).toBe(CommonCode.DECODE_TRUNCATED);
      for (let extra = 1; extra <= 64; extra++) expect(decodeCode(concat(m, new Uint8Array(extra))), `${m[0]} +${extra}`).toBe(CommonCode.DECODE_TRAILING);
    }
  });

  it('any other type byte is DECODE_TYPE; a time above 2^53-1 is DECODE_VALUE', () => {
    const c = verifier().challenge(RN, 0, T0, LIFETIME);
    for (let t = 0; t < 256; t++) {
      if (t === CTL_POR_CHALLENGE || t === CTL_POR_RESPONSE) continue;
      const x = c.slice();
      x[0] = t;
      expect(decodeCode(x)).toBe(CommonCode.DECODE_TYPE);
    }
    for (const off of [54, 62]) {
      const x = c.slice();
      x[off] = 0xff;
      expect(decodeCode(x), `u64 at ${off}`).toBe(CommonCode.DECODE_VALUE);
    }
  });

  it('junk never throws anything but DecodeError (3,000 inputs)', () => {
    const junk = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 200 }),
      fc.uint8Array({ minLength: 69, maxLength: 69 }).map((b) => concat(Uint8Array.of(CTL_POR_CHALLENGE), b)),
      fc.uint8Array({ minLength: 101, maxLength: 101 }).map((b) => concat(Uint8Array.of(CTL_POR_RESPONSE), b)),
      fc.tuple(fc.constantFrom(CTL_POR_CHALLENGE, CTL_POR_RESPONSE), fc.uint8Array({ minLength: 0, maxLength: 140 })).map(([t, b]) => concat(Uint8Array.of(t), b)),
    );
    const v = verifier();
    v.challenge(RN, 0, T0, LIFETIME);
    fc.assert(
      fc.property(junk, (b) => {
        let d;
        try {
          d = decodePor(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          return;
        }
        // well-formed junk is never accepted (it would need the open nonce and the key)
        expect(v.verify(d, T0)).not.toBe('accepted');
        expect(() => answerChallenge(p, atB, d.challenge, { generation: 0, rnCid: RN, nowMs: T0, skewMs: 300_000 })).not.toThrow();
      }),
      { numRuns: 3_000 },
    );
    expect(v.outstanding).toBe(1);
  });
});

describe('PorVerifier (the challenger): draft §12.2, §12.5, §12.6', () => {
  it('accepts an honest response once; the identical response again is refused (single acceptance)', () => {
    const v = verifier();
    const r = decodePor(answer(v.challenge(RN, 0, T0, LIFETIME)));
    expect(v.verify(r, T0 + 10)).toBe('accepted');
    expect(v.outstanding).toBe(0);
    expect(v.verify(r, T0 + 11)).toBe('unknown-nonce');
  });

  it('expired: refused after expires (and the challenge is forgotten); accepted at exactly expires', () => {
    const v = verifier();
    const r1 = decodePor(answer(v.challenge(RN, 0, T0, LIFETIME)));
    expect(v.verify(r1, T0 + LIFETIME + 1)).toBe('expired');
    expect(v.verify(r1, T0)).toBe('unknown-nonce');
    const r2 = decodePor(answer(v.challenge(RN, 0, T0, LIFETIME)));
    expect(v.verify(r2, T0 + LIFETIME)).toBe('accepted');
  });

  it('a response about another RN CID (an honest proof over a challenge the RN altered) is refused', () => {
    const v = verifier();
    const c = decodePor(v.challenge(RN, 0, T0, LIFETIME)).challenge;
    expect(v.verify(decodePor(encodeResponse(p, atB, { ...c, rnCid: fill(32, 0xe2) })), T0)).toBe('wrong-rn');
  });

  it('a response for another generation, or other issue/expiry times, is refused (§12.3 context)', () => {
    const v = verifier();
    const c = decodePor(v.challenge(RN, 2, T0, LIFETIME)).challenge;
    expect(v.verify(decodePor(encodeResponse(p, atB, { ...c, generation: 1 })), T0)).toBe('wrong-context');
    expect(v.verify(decodePor(encodeResponse(p, atB, { ...c, generation: 3 })), T0)).toBe('wrong-context');
    expect(v.verify(decodePor(encodeResponse(p, atB, { ...c, expiresMs: c.expiresMs + 60_000 })), T0)).toBe('wrong-context');
    expect(v.verify(decodePor(encodeResponse(p, atB, { ...c, issuedMs: c.issuedMs - 1 })), T0)).toBe('wrong-context');
  });

  it('a response under another proof profile is refused', () => {
    const v = verifier();
    const c = decodePor(v.challenge(RN, 0, T0, LIFETIME)).challenge;
    expect(v.verify(decodePor(encodeResponse(p, atB, { ...c, profile: 2 })), T0)).toBe('wrong-profile');
  });

  it("a proof made with another session's key (another exported key) is refused", () => {
    const v = verifier();
    const c = decodePor(v.challenge(RN, 0, T0, LIFETIME)).challenge;
    expect(v.verify(decodePor(encodeResponse(p, { ...atB, key: fill(32, 0x51) }, c)), T0)).toBe('bad-proof');
    expect(v.verify(decodePor(encodeResponse(p, { ...atB, tag: fill(16, 0x72) }, c)), T0)).toBe('bad-proof');
  });

  it('a fabricated proof (random bytes) is refused, and a refusal does not use the challenge up', () => {
    const v = verifier();
    const c = v.challenge(RN, 0, T0, LIFETIME);
    const honest = answer(c);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (proof) => {
        const forged = honest.slice();
        forged.set(proof, 70);
        expect(v.verify(decodePor(forged), T0)).toBe('bad-proof');
      }),
      { numRuns: 500 },
    );
    expect(v.verify(decodePor(honest), T0)).toBe('accepted');
  });

  it('an RN-forged response: a nonce it never got, or a valid proof grafted onto another open nonce, is refused', () => {
    const v = verifier();
    const c1 = v.challenge(RN, 0, T0, LIFETIME);
    const c2 = v.challenge(RN, 0, T0, LIFETIME);
    const r1 = answer(c1);
    // a nonce the verifier never issued, with a recomputed-looking proof
    const invented = r1.slice();
    invented.set(fill(16, 0xee), 2);
    expect(v.verify(decodePor(invented), T0)).toBe('unknown-nonce');
    // the nonce of the other open challenge, proof of the first kept
    const grafted = r1.slice();
    grafted.set(c2.subarray(2, 18), 2);
    expect(v.verify(decodePor(grafted), T0)).toBe('bad-proof');
    // the challenge itself sent back (no proof)
    expect(v.verify(decodePor(c1), T0)).toBe('unknown-nonce');
    expect(v.verify(decodePor(r1), T0)).toBe('accepted');
    expect(v.verify(decodePor(answer(c2)), T0)).toBe('accepted');
  });

  it('a reflection (our own answer to our own challenge) is refused: the proof binds responder and challenger CIDs in order', () => {
    const v = verifier();
    const c = v.challenge(RN, 0, T0, LIFETIME);
    expect(v.verify(decodePor(answer(c, atA)), T0)).toBe('bad-proof');
  });

  it('every single-bit change of an honest response is refused', () => {
    const v = verifier();
    const r = answer(v.challenge(RN, 0, T0, LIFETIME));
    for (let i = 0; i < r.length * 8; i++) {
      const x = r.slice();
      x[i >> 3]! ^= 0x80 >> (i & 7);
      let d;
      try {
        d = decodePor(x);
      } catch {
        continue;
      }
      expect(v.verify(d, T0), `bit ${i}`).not.toBe('accepted');
    }
    expect(v.verify(decodePor(r), T0)).toBe('accepted');
  });

  it('keeps at most 8 challenges open (the oldest is forgotten); reset() forgets all', () => {
    const v = verifier();
    const cs = Array.from({ length: 9 }, (_, i) => v.challenge(RN, 0, T0 + i, LIFETIME));
    expect(v.outstanding).toBe(8);
    expect(v.oldestIssuedMs).toBe(T0 + 1);
    expect(v.verify(decodePor(answer(cs[0]!)), T0 + 9)).toBe('unknown-nonce');
    expect(v.verify(decodePor(answer(cs[8]!)), T0 + 9)).toBe('accepted');
    v.reset();
    expect(v.outstanding).toBe(0);
    expect(v.oldestIssuedMs).toBeUndefined();
    expect(v.verify(decodePor(answer(cs[7]!)), T0 + 9)).toBe('unknown-nonce');
  });
});

describe('answerChallenge (the responder)', () => {
  const c = decodePor(encodeChallenge({ profile: 1, nonce: fill(16, 0x4e), rnCid: RN, generation: 2, issuedMs: T0, expiresMs: T0 + LIFETIME })).challenge;
  const here = { generation: 2, rnCid: RN, nowMs: T0, skewMs: 300_000 };

  it('answers a current challenge with exactly the response encodeResponse makes', () => {
    expect(answerChallenge(p, atB, c, here)).toEqual(encodeResponse(p, atB, c));
  });

  it('refuses an expired one (beyond the skew), answers up to exactly expires + skew', () => {
    expect(answerChallenge(p, atB, c, { ...here, nowMs: T0 + LIFETIME + 300_000 + 1 })).toBeUndefined();
    expect(answerChallenge(p, atB, c, { ...here, nowMs: T0 + LIFETIME + 300_000 })).toBeDefined();
  });

  it('refuses another generation (older or newer)', () => {
    expect(answerChallenge(p, atB, c, { ...here, generation: 1 })).toBeUndefined();
    expect(answerChallenge(p, atB, c, { ...here, generation: 3 })).toBeUndefined();
  });

  it('refuses a challenge about another RN than the one it is stitched through', () => {
    expect(answerChallenge(p, atB, c, { ...here, rnCid: fill(32, 0xe2) })).toBeUndefined();
  });

  it('refuses another proof profile', () => {
    expect(answerChallenge(p, atB, { ...c, profile: 2 }, here)).toBeUndefined();
    expect(answerChallenge(p, atB, { ...c, profile: 0 }, here)).toBeUndefined();
  });

  it('with no RN known (a test stitch) the RN is not checked', () => {
    expect(answerChallenge(p, atB, c, { ...here, rnCid: undefined })).toBeDefined();
  });
});
