// TPM quote structures and verifyQuote without a TPM: a quote captured once from swtpm
// (test/vectors/tpm-quote.json) decodes and verifies on both crypto providers; every field the
// verifier relies on is re-derived a second way here; any corruption, truncation or junk ends in
// ok:false from verifyQuote and in DecodeError (never anything else) from the decoders.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { qualifyingData } from '../../src/attest/tpm/qualifying.js';
import {
  TPMA_OBJECT,
  TpmDecodeError,
  akNameOf,
  decodeAttest,
  decodePublic,
  decodeSignature,
  decodeTpmtPublic,
  eccPublicKey,
  unwrapAttest,
  verifyEcdsaP256,
} from '../../src/attest/tpm/structures.js';
import { verifyQuote } from '../../src/attest/tpm/verify.js';
import type { TpmQuote } from '../../src/attest/types.js';
import { concat, fromHex, toHex } from '../../src/uzp/bytes.js';
import { PROVIDERS } from '../../src/uzp/crypto/index.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { DecodeError } from '../../src/lib/errors.js';

interface Vector {
  nonce: string;
  binding: string;
  claimsDigest: string;
  qualifying: string;
  akPublic: string;
  akName: string;
  attest: string;
  signature: string;
  pcrs: string;
  clock: { clock: string; resetCount: number; restartCount: number; safe: boolean };
}
const v = JSON.parse(readFileSync(new URL('../vectors/tpm-quote.json', import.meta.url), 'utf8')) as Vector;
const quote: TpmQuote = { akPublic: fromHex(v.akPublic), attest: fromHex(v.attest), signature: fromHex(v.signature), pcrs: fromHex(v.pcrs) };
const qualifying = fromHex(v.qualifying);
const akName = fromHex(v.akName);

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** What the decoders may throw: DecodeError only (TpmDecodeError for the TPM structures). */
function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
}

function decodersOn(q: TpmQuote): void {
  onlyDecodeErrors(() => decodePublic(q.akPublic));
  onlyDecodeErrors(() => decodeTpmtPublic(q.akPublic));
  onlyDecodeErrors(() => akNameOf(p, q.akPublic));
  onlyDecodeErrors(() => decodeAttest(q.attest));
  onlyDecodeErrors(() => unwrapAttest(q.attest));
  onlyDecodeErrors(() => decodeSignature(q.signature));
}

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof TpmDecodeError) return `${e.code} ${e.field}`;
    throw e;
  }
  return 'no error';
}

function withByte(b: Uint8Array, i: number, value: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[i] = value;
  return c;
}

function withU16(b: Uint8Array, i: number, value: number): Uint8Array {
  return withByte(withByte(b, i, value >>> 8), i + 1, value & 0xff);
}

describe('the swtpm quote vector', () => {
  it('verifies on both providers with the AK pinned, without a TPM', () => {
    for (const provider of PROVIDERS) {
      expect(toHex(qualifyingData(provider, fromHex(v.nonce), fromHex(v.binding), fromHex(v.claimsDigest)))).toBe(v.qualifying);
      const r = verifyQuote(provider, quote, { qualifying, trustedAkNames: [akName] });
      expect(r).toEqual({
        ok: true,
        reason: expect.stringMatching(/^quote by AK verifies/),
        akName,
        clock: { clock: BigInt(v.clock.clock), resetCount: v.clock.resetCount, restartCount: v.clock.restartCount, safe: v.clock.safe },
      });
    }
  });

  it('decodes to what the spec says, re-derived by hand', () => {
    // TPM2B_PUBLIC: u16 size, then TPMT_PUBLIC; the name is nameAlg || SHA-256(TPMT_PUBLIC).
    expect((quote.akPublic[0]! << 8) | quote.akPublic[1]!).toBe(quote.akPublic.length - 2);
    expect(toHex(akNameOf(p, quote.akPublic))).toBe(toHex(concat(fromHex('000b'), sha256(quote.akPublic.subarray(2)))));
    const pub = decodePublic(quote.akPublic);
    const want = TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.userWithAuth | TPMA_OBJECT.restricted | TPMA_OBJECT.sign;
    expect(pub.objectAttributes).toBe(want);
    expect(pub.authPolicy.length).toBe(0);
    expect([pub.x.length, pub.y.length]).toEqual([32, 32]);

    const a = decodeAttest(quote.attest);
    expect(toHex(quote.attest.subarray(0, 6))).toBe('ff5443478018'); // magic, TPM_ST_ATTEST_QUOTE
    expect(toHex(a.extraData)).toBe(v.qualifying);
    expect(a.qualifiedSigner.length).toBe(34); // the AK's qualified name (not its name)
    expect(a.pcrSelect).toEqual([{ hash: 0x000b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
    expect(toHex(a.pcrDigest)).toBe(toHex(sha256(quote.pcrs)));
    // PCR 0 was extended once with 32 x 0x01 from zero: SHA-256(0^32 || 01^32).
    expect(toHex(quote.pcrs.subarray(0, 32))).toBe(toHex(sha256(concat(new Uint8Array(32), new Uint8Array(32).fill(1)))));

    const sig = decodeSignature(quote.signature);
    expect(verifyEcdsaP256(eccPublicKey(pub), quote.attest, sig)).toBe(true);
    expect(verifyEcdsaP256(eccPublicKey(pub), quote.pcrs, sig)).toBe(false);
  });

  it('says why it refuses', () => {
    // trusted: null = no trust list (an undefined argument would take the default).
    const check = (q: Partial<TpmQuote>, qual = qualifying, trusted: Uint8Array[] | null = [akName]): string =>
      verifyQuote(p, { ...quote, ...q }, { qualifying: qual, ...(trusted !== null ? { trustedAkNames: trusted } : {}) }).reason;
    expect(check({}, qualifying, [new Uint8Array(34)])).toBe('AK not trusted');
    expect(check({}, qualifying, [])).toBe('AK not trusted');
    expect(check({}, withByte(qualifying, 0, qualifying[0]! ^ 1))).toBe('qualifying data does not match: wrong nonce, binding or claims');
    expect(check({ pcrs: withByte(quote.pcrs, 40, 1) })).toBe('PCR values do not match the quoted pcrDigest');
    expect(check({ pcrs: quote.pcrs.subarray(32) })).toMatch(/^PCR values do not match the selection: 8 SHA-256 PCRs quoted, 224 bytes/);
    expect(check({ attest: withByte(quote.attest, quote.attest.length - 1, 0) })).toBe('signature does not verify with the AK');
    // The same point with restricted cleared: a different name, and a key that could sign anything.
    const unrestricted = withByte(quote.akPublic, 7, quote.akPublic[7]! & ~0x01); // objectAttributes bit 16
    expect(check({ akPublic: unrestricted }, qualifying, null)).toMatch(/^AK is not a restricted signing key .*missing restricted/);
    const decrypting = withByte(quote.akPublic, 7, quote.akPublic[7]! | 0x02); // bit 17
    expect(check({ akPublic: decrypting }, qualifying, null)).toBe('AK is not a restricted signing key (decrypt is set)');
    expect(check({ akPublic: new Uint8Array(0) })).toMatch(/^AK public area does not decode: TPM2B_PUBLIC.size/);
    expect(check({ attest: quote.attest.subarray(0, 10) })).toMatch(/^quote \(TPMS_ATTEST\) does not decode: TPMS_ATTEST.qualifiedSigner/);
    expect(check({ signature: new Uint8Array(0) })).toMatch(/^signature \(TPMT_SIGNATURE\) does not decode: TPMT_SIGNATURE.sigAlg/);
    // A point that is not on the curve.
    const offCurve = withByte(quote.akPublic, quote.akPublic.length - 1, quote.akPublic[quote.akPublic.length - 1]! ^ 1);
    expect(check({ akPublic: offCurve }, qualifying, null)).toMatch(/^AK public area does not decode: TPMT_PUBLIC.unique: not a point on NIST P-256/);
  });

  it('names the field a decoder failed on, with a stable code', () => {
    const ak = quote.akPublic;
    const at = quote.attest;
    const sg = quote.signature;
    expect(fieldOf(() => decodePublic(withU16(ak, 0, 0xffff)))).toBe('DECODE_LENGTH TPM2B_PUBLIC.size');
    expect(fieldOf(() => decodePublic(withU16(ak, 2, 0x0001)))).toBe('DECODE_TYPE TPMT_PUBLIC.type');
    expect(fieldOf(() => decodePublic(withU16(ak, 4, 0x000c)))).toBe('DECODE_TYPE TPMT_PUBLIC.nameAlg');
    expect(fieldOf(() => decodePublic(withU16(ak, 18, 0x0004)))).toBe('DECODE_TYPE TPMT_PUBLIC.parameters.curveID');
    expect(fieldOf(() => decodePublic(concat(withU16(ak, 0, ak.length - 1), new Uint8Array(1))))).toBe('DECODE_TRAILING TPMT_PUBLIC.(end)');
    expect(fieldOf(() => decodePublic(concat(ak, new Uint8Array(1))))).toBe('DECODE_TRAILING TPM2B_PUBLIC.(end)');
    expect(fieldOf(() => decodeAttest(withByte(at, 0, 0)))).toBe('DECODE_VALUE TPMS_ATTEST.magic');
    expect(fieldOf(() => decodeAttest(withU16(at, 4, 0x8017)))).toBe('DECODE_TYPE TPMS_ATTEST.type');
    expect(fieldOf(() => decodeAttest(withU16(at, 6, 0xffff)))).toBe('DECODE_LENGTH TPMS_ATTEST.qualifiedSigner');
    expect(fieldOf(() => decodeAttest(withU16(at, 42, 0xffff)))).toBe('DECODE_LENGTH TPMS_ATTEST.extraData');
    expect(fieldOf(() => decodeAttest(withByte(at, 76 + 16, 2)))).toBe('DECODE_VALUE TPMS_ATTEST.clockInfo.safe');
    expect(fieldOf(() => decodeAttest(withByte(at, 101 + 3, 17)))).toBe('DECODE_LENGTH TPMS_ATTEST.attested.pcrSelect.count');
    expect(fieldOf(() => decodeAttest(at.subarray(0, at.length - 1)))).toBe('DECODE_TRUNCATED TPMS_ATTEST.attested.pcrDigest');
    expect(fieldOf(() => decodeAttest(new Uint8Array(2000)))).toBe('DECODE_LENGTH TPMS_ATTEST');
    expect(fieldOf(() => decodeSignature(withU16(sg, 0, 0x0014)))).toBe('DECODE_TYPE TPMT_SIGNATURE.sigAlg');
    expect(fieldOf(() => decodeSignature(withU16(sg, 2, 0x0004)))).toBe('DECODE_TYPE TPMT_SIGNATURE.signature.hash');
    expect(fieldOf(() => decodeSignature(withU16(sg, 4, 0xffff)))).toBe('DECODE_LENGTH TPMT_SIGNATURE.signature.signatureR');
    expect(fieldOf(() => decodeSignature(withU16(sg, 4, 33)))).toBe('DECODE_LENGTH TPMT_SIGNATURE.signature.signatureR');
  });

  it('accepts the attest with or without its TPM2B prefix, and short r/s', () => {
    expect(unwrapAttest(quote.attest)).toBe(quote.attest);
    const prefixed = concat(new Uint8Array([quote.attest.length >>> 8, quote.attest.length & 0xff]), quote.attest);
    expect(toHex(unwrapAttest(prefixed))).toBe(v.attest);
    expect(fieldOf(() => unwrapAttest(concat(prefixed, new Uint8Array(1))))).toBe('DECODE_TRAILING TPM2B_ATTEST.(end)');
    // r, s are integers: a TPM may send fewer than 32 octets when the top ones are zero.
    const sig = decodeSignature(fromHex('0018000b00020102000100'));
    expect(toHex(sig.r)).toBe(`${'00'.repeat(30)}0102`);
    expect(toHex(sig.s)).toBe('00'.repeat(32));
  });
});

describe('corrupted and junk quotes', () => {
  const run = { numRuns: 500 };

  it('any changed byte of attest, signature or AK public area makes verifyQuote fail, never throw', () => {
    fc.assert(
      fc.property(fc.constantFrom('attest' as const, 'signature' as const, 'akPublic' as const), fc.nat(), fc.integer({ min: 1, max: 255 }), (field, pos, x) => {
        const b = quote[field];
        const i = pos % b.length;
        const q = { ...quote, [field]: withByte(b, i, b[i]! ^ x) };
        expect(verifyQuote(p, q, { qualifying, trustedAkNames: [akName] }).ok).toBe(false);
        // Without a trust list a changed attest or signature still fails on the signature. (A changed
        // public area with the same point is another, self-asserted key: only pinning its name, above,
        // refuses it; see verify.ts.)
        if (field !== 'akPublic') expect(verifyQuote(p, q, { qualifying }).ok).toBe(false);
        decodersOn(q);
      }),
      run,
    );
  });

  it('every truncation of every field fails cleanly', () => {
    for (const field of ['attest', 'signature', 'akPublic', 'pcrs'] as const) {
      for (let n = 0; n < quote[field].length; n++) {
        const q = { ...quote, [field]: quote[field].subarray(0, n) };
        expect(verifyQuote(p, q, { qualifying }).ok).toBe(false);
        decodersOn(q);
      }
    }
  });

  it('random bytes never throw from verifyQuote, and the decoders throw only DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 120 }), fc.uint8Array({ maxLength: 300 }), (akPublic, attest, signature, pcrs) => {
        const q = { akPublic, attest, signature, pcrs };
        expect(verifyQuote(p, q, { qualifying }).ok).toBe(false);
        decodersOn(q);
      }),
      run,
    );
  });

  it('oversize length prefixes anywhere are refused, not followed', () => {
    // Every 2-byte window set to 0xffff (a TPM2B size far beyond its bound, or a bogus tag).
    for (const field of ['attest', 'signature', 'akPublic'] as const) {
      for (let i = 0; i + 1 < quote[field].length; i++) {
        const q = { ...quote, [field]: withU16(quote[field], i, 0xffff) };
        expect(verifyQuote(p, q, { qualifying, trustedAkNames: [akName] }).ok).toBe(false);
        decodersOn(q);
      }
    }
    // Whole inputs far above any real structure are refused before reading.
    const huge = new Uint8Array(1 << 20);
    expect(verifyQuote(p, { akPublic: huge, attest: huge, signature: huge, pcrs: huge }, { qualifying }).ok).toBe(false);
  });

  it('junk that is not even bytes does not throw from verifyQuote', () => {
    const bogus = { akPublic: undefined, attest: null, signature: 'x', pcrs: 7 } as unknown as TpmQuote;
    expect(verifyQuote(p, bogus, { qualifying }).ok).toBe(false);
  });

  it('decoders refuse trailing bytes and an RSA key with DECODE_TYPE', () => {
    // An RSA TPMT_PUBLIC starts with type 0x0001.
    const rsa = fromHex('00180001000b00050072000000100014000b0800000000000100');
    expect(fieldOf(() => decodePublic(rsa))).toBe('DECODE_TYPE TPMT_PUBLIC.type');
    expect(() => decodePublic(rsa)).toThrow(/only ECC keys .* got 0x0001 \(RSA\)/);
  });
});
