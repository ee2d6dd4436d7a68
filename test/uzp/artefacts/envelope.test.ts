import { describe, expect, it } from 'vitest';
import { MAX_ENVELOPE_BYTES, OBJECT_TYPES, withArticle } from '../../../src/uzp/artefacts/constants.js';
import { decodeEnvelope, encodeBody, sealEnvelope, artefactSignatureInput } from '../../../src/uzp/artefacts/envelope.js';
import { openAndVerify, openArtefact } from '../../../src/uzp/artefacts/open.js';
import { signArtefact } from '../../../src/uzp/artefacts/sign.js';
import { pcertCodec } from '../../../src/uzp/artefacts/pcert.js';
import { concat, equal, toHex } from '../../../src/uzp/bytes.js';
import { decodeCanonical, encodeCanonical, type CborMap } from '../../../src/uzp/cbor.js';
import { ErrorCode, ValidationError } from '../../../src/uzp/errors.js';
import type { Identity } from '../../../src/uzp/identity/identity.js';
import { gateway, grantBody, mint, operator, pcertBody, provider, rn1, rn2, root, stranger, window } from './fixtures.js';
import { enc, raw, text, type Raw } from './rawcbor.js';
import { type CodedError, CommonCode, DecodeError, StateError } from '../../../src/lib/errors.js';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as CodedError).code ?? `untyped ${String(e)}`;
  }
  return 'no error';
}

const resolve =
  (...ids: Identity[]) =>
  (kid: Uint8Array) =>
    ids.find((i) => equal(i.cid, kid))?.publicKey;

/** Wraps body bytes in an envelope signed by root over the given ctx type. */
function wrap(body: Uint8Array, ctxType = 'pcert', signer: Identity = root): Uint8Array {
  return encodeCanonical({ body, sigs: [{ alg: 'ed25519', kid: signer.cid, sig: signer.signer.sign(artefactSignatureInput(ctxType, body)) }] });
}

function pcertBodyMap(over: CborMap = {}): CborMap {
  return {
    typ: 'pcert',
    iss: root.cid,
    sub: gateway.cid,
    iat: 1000,
    nbf: 1000,
    exp: 2000,
    epo: 0,
    seq: 0,
    b: pcertCodec.encode(pcertBody()),
    ...over,
  };
}

describe('envelope: structure and round trip', () => {
  it('decodes what it signs, with every common field', () => {
    const bytes = mint('grant', grantBody(), { epoch: 2, sequence: 9 });
    const env = decodeEnvelope(provider, bytes);
    expect(env.type).toBe('grant');
    expect(toHex(env.issuer)).toBe(toHex(root.cid));
    expect(toHex(env.subject!)).toBe(toHex(operator.cid));
    expect(toHex(env.audience!)).toBe(toHex(gateway.cid));
    expect([env.epoch, env.sequence]).toEqual([2, 9]);
    expect(env.notBefore).toBe(window().notBefore);
    expect(toHex(env.objectId)).toBe(toHex(provider.blake3(env.bodyBytes)));
    expect(env.signatures).toHaveLength(1);
    expect(env.bytes).toBe(bytes);
  });

  it('the test CBOR writer reproduces canonical encoding (so the variants below differ only where intended)', () => {
    const m = pcertBodyMap();
    expect(toHex(enc(raw(m)))).toBe(toHex(encodeCanonical(m)));
    const body = encodeCanonical(m);
    expect(() => openAndVerify(provider, wrap(body), 'pcert', resolve(root))).not.toThrow();
  });
});

describe('envelope: non-canonical encodings are refused', () => {
  const body = encodeCanonical(pcertBodyMap());
  const sig = root.signer.sign(artefactSignatureInput('pcert', body));
  const sigRaw: Raw = raw({ alg: 'ed25519', kid: root.cid, sig });

  it('envelope map keys out of order -> CBOR_NON_CANONICAL', () => {
    const bytes = enc({ t: 'map', v: [[text('sigs'), { t: 'arr', v: [sigRaw] }], [text('body'), { t: 'bytes', v: body }]] });
    expect(codeOf(() => decodeEnvelope(provider, bytes))).toBe(ErrorCode.CBOR_NON_CANONICAL);
  });

  it('body map keys out of order -> CBOR_NON_CANONICAL', () => {
    const r = raw(pcertBodyMap()) as Extract<Raw, { t: 'map' }>;
    const reordered = enc({ t: 'map', v: [...r.v].reverse() });
    expect(codeOf(() => decodeEnvelope(provider, wrap(reordered)))).toBe(ErrorCode.CBOR_NON_CANONICAL);
  });

  it('non-shortest integer, non-shortest length, indefinite length, duplicate key, float, tag, trailing bytes -> CBOR error', () => {
    const r = raw(pcertBodyMap()) as Extract<Raw, { t: 'map' }>;
    const withIat = (val: Raw): Raw => ({ t: 'map', v: r.v.map(([k, v]) => [k, (k as { v: string }).v === 'iat' ? val : v] as [Raw, Raw]) });
    const variants: Record<string, Uint8Array> = {
      'iat as 8-byte integer': wrap(enc(withIat({ t: 'uint', v: 1000, width: 8 }))),
      'iat as float64': wrap(enc(withIat({ t: 'raw', v: Uint8Array.of(0xfb, 0x40, 0x8f, 0x40, 0, 0, 0, 0, 0) }))),
      'iat tagged': wrap(enc(withIat({ t: 'raw', v: concat(Uint8Array.of(0xc1), enc({ t: 'uint', v: 1000 })) }))),
      'duplicate key seq': wrap(enc({ t: 'map', v: [...r.v, [text('seq'), { t: 'uint', v: 0 }]] })),
      'indefinite-length body map': wrap(enc({ t: 'map', v: r.v, indef: true })),
      'indefinite-length sigs': enc({ t: 'map', v: [[text('body'), { t: 'bytes', v: body }], [text('sigs'), { t: 'arr', v: [sigRaw], indef: true }]] }),
      'body with 4-byte length': enc({ t: 'map', v: [[text('body'), { t: 'bytes', v: body, width: 4 }], [text('sigs'), { t: 'arr', v: [sigRaw] }]] }),
      'trailing byte': concat(wrap(body), Uint8Array.of(0)),
    };
    for (const [name, bytes] of Object.entries(variants)) {
      const e = (() => {
        try {
          decodeEnvelope(provider, bytes);
        } catch (x) {
          return x;
        }
        return undefined;
      })();
      expect(e, name).toBeInstanceOf(DecodeError);
      expect([ErrorCode.CBOR_INVALID, ErrorCode.CBOR_NON_CANONICAL], name).toContain((e as DecodeError).code);
    }
  });
});

describe('envelope: field rules', () => {
  it('refuses oversize envelopes before decoding', () => {
    expect(codeOf(() => decodeEnvelope(provider, new Uint8Array(MAX_ENVELOPE_BYTES + 1)))).toBe(CommonCode.DECODE_LENGTH);
  });
  it('refuses an unknown object_type, an unknown field and nbf after exp', () => {
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ typ: 'certificate' })))))).toBe(ErrorCode.ARTEFACT_TYPE);
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ zzz: 1 })))))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ nbf: 2001 })))))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ iss: new Uint8Array(31) })))))).toBe(CommonCode.DECODE_LENGTH);
    expect(codeOf(() => decodeEnvelope(provider, encodeCanonical({ body: encodeCanonical(pcertBodyMap()), sigs: [], x: 1 })))).toBe(CommonCode.DECODE_VALUE);
  });
  it('decodes types without a codec structurally but will not open them as typed artefacts', () => {
    const bytes = wrap(encodeCanonical(pcertBodyMap({ typ: 'attestation' })), 'attestation');
    expect(decodeEnvelope(provider, bytes).type).toBe('attestation');
    expect(codeOf(() => openArtefact(provider, bytes, 'pcert'))).toBe(ErrorCode.ARTEFACT_TYPE);
  });
  it('refuses a type other than the expected one (ValidationError ARTEFACT_TYPE)', () => {
    expect(() => openArtefact(provider, mint('grant', grantBody()), 'pcert')).toThrow(ValidationError);
    expect(codeOf(() => openArtefact(provider, mint('grant', grantBody()), 'pcert'))).toBe(ErrorCode.ARTEFACT_TYPE);
  });
  // Before: "expected a rn-set artefact".
  it('names the expected type with the article its sound takes ("an rn-set", "a pcert")', () => {
    expect(() => openArtefact(provider, mint('grant', grantBody()), 'rn-set')).toThrow('expected an rn-set artefact, got grant');
    expect(() => openArtefact(provider, mint('grant', grantBody()), 'pcert')).toThrow('expected a pcert artefact, got grant');
    // Every type, decided one by one: a new one fails here until someone has said how it is read.
    const an = new Set(['rn-set', 'attestation']);
    expect(Object.fromEntries(OBJECT_TYPES.map((t) => [t, withArticle(t)]))).toEqual(Object.fromEntries(OBJECT_TYPES.map((t) => [t, `${an.has(t) ? 'an' : 'a'} ${t}`])));
    expect(OBJECT_TYPES).toHaveLength(10);
  });
  it('enforces per-type sub/aud presence', () => {
    const noSub = pcertBodyMap();
    delete noSub.sub;
    expect(codeOf(() => openArtefact(provider, wrap(encodeCanonical(noSub)), 'pcert'))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => openArtefact(provider, wrap(encodeCanonical(pcertBodyMap({ aud: gateway.cid }))), 'pcert'))).toBe(CommonCode.DECODE_VALUE);
  });
  it('PCert sub must be the CID of pk (PCERT_KEY_MISMATCH)', () => {
    expect(codeOf(() => openArtefact(provider, wrap(encodeCanonical(pcertBodyMap({ sub: operator.cid }))), 'pcert'))).toBe(ErrorCode.PCERT_KEY_MISMATCH);
  });
});

describe('envelope: extensions (draft §12 unknown-extension handling)', () => {
  const ext = (id: string, crit: boolean) => ({ id, crit, val: { n: 1 } });
  it('unknown critical extension -> ARTEFACT_CRITICAL_EXT', () => {
    const bytes = wrap(encodeCanonical(pcertBodyMap({ ext: [ext('x-must-understand', true)] })));
    expect(decodeEnvelope(provider, bytes).extensions[0]!.critical).toBe(true);
    expect(codeOf(() => openArtefact(provider, bytes, 'pcert'))).toBe(ErrorCode.ARTEFACT_CRITICAL_EXT);
  });
  it('unknown non-critical extension -> accepted, kept with its canonical value, ignored', () => {
    const bytes = wrap(encodeCanonical(pcertBodyMap({ ext: [ext('x-note', false)] })));
    const env = openAndVerify(provider, bytes, 'pcert', resolve(root));
    expect(env.extensions).toHaveLength(1);
    expect(env.extensions[0]!.id).toBe('x-note');
    expect(decodeCanonical(env.extensions[0]!.value)).toEqual({ n: 1 });
  });
  it('empty extension list and duplicate ids are refused (one value, one encoding)', () => {
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ ext: [] })))))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ ext: [ext('a', false), ext('a', false)] })))))).toBe(
      CommonCode.DECODE_VALUE,
    );
    expect(codeOf(() => decodeEnvelope(provider, wrap(encodeCanonical(pcertBodyMap({ ext: [{ id: 'a', crit: false } as CborMap] })))))).toBe(
      CommonCode.DECODE_VALUE,
    );
  });
  it('encodeBody omits an empty extension list and round-trips a non-empty one', () => {
    const f = { type: 'pcert' as const, issuer: root.cid, subject: gateway.cid, ...window() };
    expect(decodeCanonical(encodeBody({ ...f, extensions: [] }, {}))).not.toHaveProperty('ext');
    const value = encodeCanonical([1, 'x']);
    const m = decodeCanonical(encodeBody({ ...f, extensions: [{ id: 'e', critical: false, value }] }, {})) as CborMap;
    expect(m.ext).toEqual([{ id: 'e', crit: false, val: [1, 'x'] }]);
  });
});

describe('envelope: signatures (ordering, algorithm matching, coverage)', () => {
  const fields = { type: 'pcert' as const, subject: gateway.cid, ...window() };
  const b = pcertCodec.encode(pcertBody());

  it('no signature -> SIG_MISSING; issuer signature not first -> SIG_MISSING', () => {
    const body = encodeCanonical(pcertBodyMap());
    expect(codeOf(() => decodeEnvelope(provider, encodeCanonical({ body, sigs: [] })))).toBe(ErrorCode.SIG_MISSING);
    expect(codeOf(() => decodeEnvelope(provider, wrap(body, 'pcert', stranger)))).toBe(ErrorCode.SIG_MISSING);
  });

  it('unknown algorithm identifier -> SIG_ALG', () => {
    const body = encodeCanonical(pcertBodyMap());
    const bytes = encodeCanonical({ body, sigs: [{ alg: 'ed448', kid: root.cid, sig: new Uint8Array(64) }] });
    expect(codeOf(() => decodeEnvelope(provider, bytes))).toBe(ErrorCode.SIG_ALG);
  });

  it('co-signatures are sorted by kid, verified, and must all verify', () => {
    const bytes = sealEnvelope(provider, [root.signer, rn2.signer, rn1.signer], fields, b);
    const env = decodeEnvelope(provider, bytes);
    expect(env.signatures.map((s) => toHex(s.kid))).toEqual([toHex(root.cid), ...[rn1.cid, rn2.cid].map(toHex).sort()]);
    expect(() => openAndVerify(provider, bytes, 'pcert', resolve(root, rn1, rn2))).not.toThrow();
    expect(codeOf(() => openAndVerify(provider, bytes, 'pcert', resolve(root, rn1)))).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    // Corrupt the last co-signature: the issuer's still verifies, the envelope does not.
    const outer = decodeCanonical(bytes) as CborMap;
    const sigs = outer.sigs as CborMap[];
    const last = sigs[2]!.sig as Uint8Array;
    last[0]! ^= 1;
    expect(codeOf(() => openAndVerify(provider, encodeCanonical(outer), 'pcert', resolve(root, rn1, rn2)))).toBe(ErrorCode.SIG_INVALID);
  });

  it('co-signatures out of order or repeating the issuer -> DECODE_VALUE', () => {
    const bytes = sealEnvelope(provider, [root.signer, rn1.signer, rn2.signer], fields, b);
    const outer = decodeCanonical(bytes) as CborMap;
    const sigs = outer.sigs as CborMap[];
    expect(codeOf(() => decodeEnvelope(provider, encodeCanonical({ ...outer, sigs: [sigs[0]!, sigs[2]!, sigs[1]!] })))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeEnvelope(provider, encodeCanonical({ ...outer, sigs: [sigs[0]!, sigs[1]!, sigs[1]!] })))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOf(() => decodeEnvelope(provider, encodeCanonical({ ...outer, sigs: [sigs[0]!, sigs[0]!] })))).toBe(CommonCode.DECODE_VALUE);
  });

  it('signature input is domain-separated by object_type', () => {
    // A valid root signature over the same body bytes but in the "grant" context does not verify as a PCert.
    expect(codeOf(() => openAndVerify(provider, wrap(encodeCanonical(pcertBodyMap()), 'grant'), 'pcert', resolve(root)))).toBe(ErrorCode.SIG_INVALID);
  });

  it('sealEnvelope refuses local misuse', () => {
    expect(() => sealEnvelope(provider, [], fields, b)).toThrow(StateError);
    expect(() => sealEnvelope(provider, [root.signer], { ...fields, issuer: gateway.cid }, b)).toThrow(StateError);
    expect(() => sealEnvelope(provider, [root.signer, root.signer], fields, b)).toThrow(StateError);
    expect(() => sealEnvelope(provider, [root.signer], { ...fields, notBefore: fields.expiresAt + 1 }, b)).toThrow(StateError);
    expect(() => sealEnvelope(provider, [root.signer], fields, { big: new Uint8Array(MAX_ENVELOPE_BYTES) })).toThrow(StateError);
  });

  it('signArtefact refuses Grant flags that exclude each other and wrong sub/aud presence', () => {
    expect(codeOf(() => mint('grant', grantBody({ earlyData: true, noReplay: true })))).toBe(ErrorCode.GRANT_FLAGS);
    expect(() => signArtefact(provider, root.signer, { type: 'pcert', ...window() }, pcertBody())).toThrow(StateError);
    expect(() => signArtefact(provider, root.signer, { type: 'revocation', subject: gateway.cid, ...window() }, { cids: [], objectIds: [] })).toThrow(StateError);
  });
});
