// Handshake decoders: property round trips and >= 10,000 junk/mutated inputs each.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeClientHello,
  decodeFinished,
  decodeResponderFlight,
  decodeServerHello,
  encodeCertificateVerify,
  encodeClientHello,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeServerHello,
} from '../../../src/uzp/handshake/messages.js';
import { CodedError } from '../../../src/lib/errors.js';

const b = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const exts = fc.uniqueArray(fc.record({ type: fc.integer({ min: 0, max: 0xffff }), data: fc.uint8Array({ maxLength: 64 }) }), {
  maxLength: 4,
  selector: (e) => e.type,
});

const ch1Arb = fc.record({
  random: b(32),
  suites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }),
  x25519: b(32),
  mlkem: fc.oneof(fc.constant(new Uint8Array(0)), b(1184)),
  target: b(32),
  grantId: b(32),
  pcert: fc.uint8Array({ maxLength: 300 }),
  extensions: exts,
  signature: b(64),
});

const shArb = fc.record({
  random: b(32),
  suite: fc.integer({ min: 0, max: 0xffff }),
  x25519: b(32),
  mlkemCipherText: fc.oneof(fc.constant(new Uint8Array(0)), b(1088)),
  sealed: fc.uint8Array({ maxLength: 500 }),
});

/** Mutations of a valid message: flips, truncations, extensions, random splices. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([v, i, x]) => {
      const c = v.slice();
      if (c.length > 0) c[i % c.length]! ^= x;
      return c;
    }),
    fc.tuple(valid, fc.nat()).map(([v, n]) => v.subarray(0, v.length === 0 ? 0 : n % v.length)),
    fc.tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([v, t]) => new Uint8Array([...v, ...t])),
  );
}

function onlyTypedErrors(decode: (x: Uint8Array) => unknown, inputs: fc.Arbitrary<Uint8Array>): void {
  fc.assert(
    fc.property(inputs, (x) => {
      try {
        decode(x);
      } catch (e) {
        if (!(e instanceof CodedError)) throw e;
      }
    }),
    { numRuns: 10_000 },
  );
}

describe('handshake message codecs', () => {
  it('CH1 round-trips', () => {
    fc.assert(
      fc.property(ch1Arb, (m) => {
        const enc = encodeClientHello(m);
        const { hello, signedPart } = decodeClientHello(enc);
        expect(hello).toEqual({ ...m, suites: [...m.suites] });
        expect(signedPart.length).toBe(enc.length - 64);
      }),
      { numRuns: 300 },
    );
  });

  it('SH flight round-trips', () => {
    fc.assert(
      fc.property(shArb, (m) => {
        const { hello } = decodeServerHello(encodeServerHello(m));
        expect(hello).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  it('responder flight (EE || CERT_R || FIN_R) round-trips', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), exts, fc.uint8Array({ maxLength: 300 }), b(64), b(32), (mbp, win, ex, pcert, sig, fin) => {
        const ee = encodeEncryptedExtensions({ maxBlockPlaintext: mbp, windowBlocks: win, extensions: ex });
        const cert = encodeCertificateVerify({ pcert, signature: sig });
        const d = decodeResponderFlight(new Uint8Array([...ee, ...cert, ...fin]));
        expect(d.ee).toEqual({ maxBlockPlaintext: mbp, windowBlocks: win, extensions: ex });
        expect(d.cert).toEqual({ pcert, signature: sig });
        expect(d.finished).toEqual(fin);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects trailing bytes, duplicate extensions, zero suites and wrong ML-KEM sizes', () => {
    const m = { random: new Uint8Array(32), suites: [1], x25519: new Uint8Array(32), mlkem: new Uint8Array(0), target: new Uint8Array(32), grantId: new Uint8Array(32), pcert: new Uint8Array(3), extensions: [], signature: new Uint8Array(64) };
    const enc = encodeClientHello(m);
    expect(() => decodeClientHello(new Uint8Array([...enc, 0]))).toThrow(expect.objectContaining({ code: 'DECODE_TRAILING' }));
    const dup = encodeClientHello({ ...m, extensions: [] });
    // hand-build duplicate extensions: replace the extension count byte (just before the signature)
    const withDup = new Uint8Array([...dup.subarray(0, dup.length - 65), 2, 0, 1, 0, 0, 0, 1, 0, 0, ...dup.subarray(dup.length - 64)]);
    expect(() => decodeClientHello(withDup)).toThrow(expect.objectContaining({ code: 'DECODE_VALUE' }));
    const zero = enc.slice();
    zero[34] = 0;
    expect(() => decodeClientHello(zero)).toThrow(expect.objectContaining({ code: 'DECODE_LENGTH' }));
    expect(() => encodeClientHello({ ...m, mlkem: new Uint8Array(5) })).not.toThrow();
    expect(() => decodeClientHello(encodeClientHello({ ...m, mlkem: new Uint8Array(5) }))).toThrow(expect.objectContaining({ code: 'DECODE_LENGTH' }));
  });

  it('Finished round-trips and is exactly 49 bytes', () => {
    const s = new Uint8Array(48).fill(7);
    const f = encodeFinished(s);
    expect(f.length).toBe(49);
    expect(decodeFinished(f)).toEqual(s);
  });

  it('CH1 decoder: 10,000 junk/mutated inputs give only typed errors', () => {
    onlyTypedErrors(decodeClientHello, mutated(ch1Arb.map(encodeClientHello)));
  });
  it('SH decoder: 10,000 junk/mutated inputs give only typed errors', () => {
    onlyTypedErrors(decodeServerHello, mutated(shArb.map(encodeServerHello)));
  });
  it('responder flight decoder: 10,000 junk/mutated inputs give only typed errors', () => {
    const valid = fc.tuple(exts, fc.uint8Array({ maxLength: 200 })).map(([ex, pc]) =>
      new Uint8Array([...encodeEncryptedExtensions({ maxBlockPlaintext: 1, windowBlocks: 2, extensions: ex }), ...encodeCertificateVerify({ pcert: pc, signature: new Uint8Array(64) }), ...new Uint8Array(32)]),
    );
    onlyTypedErrors(decodeResponderFlight, mutated(valid));
  });
  it('Finished decoder: 10,000 junk/mutated inputs give only typed errors', () => {
    onlyTypedErrors(decodeFinished, mutated(b(48).map(encodeFinished)));
  });
});
