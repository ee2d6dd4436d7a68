// Property tests: every body codec round-trips (encode -> canonical CBOR -> decode), and whole
// artefacts round-trip through signArtefact -> openAndVerify.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecFor, type BodyOf, type CodecType } from '../../../src/uzp/artefacts/codecs.js';
import { openAndVerify } from '../../../src/uzp/artefacts/open.js';
import { signArtefact } from '../../../src/uzp/artefacts/sign.js';
import { decodeCanonical, encodeCanonical, type CborMap } from '../../../src/uzp/cbor.js';
import { equal } from '../../../src/uzp/bytes.js';
import { grantBodyArb, pcertBodyArb, porEvidenceBodyArb, revocationBodyArb, rnSetBodyArb } from './arbitraries.js';
import { gateway, operator, provider, root, window } from './fixtures.js';
import { discoveryGrantBodyArb, discoveryRevocationBodyArb, receiptBodyArb } from './discovery-fixtures.js';

const arbs: { [T in CodecType]: fc.Arbitrary<BodyOf[T]> } = {
  pcert: pcertBodyArb,
  grant: grantBodyArb,
  'rn-set': rnSetBodyArb,
  revocation: revocationBodyArb,
  'por-evidence': porEvidenceBodyArb,
  'discovery-grant': discoveryGrantBodyArb,
  receipt: receiptBodyArb,
  'discovery-revocation': discoveryRevocationBodyArb,
};

function roundTrip<T extends CodecType>(type: T): void {
  const codec = codecFor(type);
  fc.assert(
    fc.property(arbs[type], (body) => {
      const bytes = encodeCanonical(codec.encode(body));
      const back = codec.decode(decodeCanonical(bytes) as CborMap);
      expect(back).toEqual(body);
      // Canonical: one value, one encoding.
      expect(equal(encodeCanonical(codec.encode(back)), bytes)).toBe(true);
    }),
    { numRuns: 500 },
  );
}

describe('body codecs round-trip', () => {
  for (const type of ['pcert', 'grant', 'rn-set', 'revocation', 'por-evidence', 'discovery-grant', 'receipt', 'discovery-revocation'] as const) it(type, () => roundTrip(type));
});

describe('whole artefacts round-trip through sign -> openAndVerify', () => {
  const resolve = (kid: Uint8Array) => (equal(kid, root.cid) ? root.publicKey : undefined);
  const times = fc.record({ iat: fc.maxSafeNat(), nbf: fc.maxSafeNat(), len: fc.nat(), epoch: fc.maxSafeNat(), sequence: fc.maxSafeNat() });

  it('grant', () => {
    fc.assert(
      fc.property(grantBodyArb, times, (body, t) => {
        const f = { type: 'grant' as const, subject: operator.cid, audience: gateway.cid, issuedAt: t.iat, notBefore: t.nbf, expiresAt: Math.min(Number.MAX_SAFE_INTEGER, t.nbf + t.len), epoch: t.epoch, sequence: t.sequence };
        const env = openAndVerify(provider, signArtefact(provider, root.signer, f, body), 'grant', resolve);
        expect(env.body).toEqual(body);
        expect([env.issuedAt, env.notBefore, env.expiresAt, env.epoch, env.sequence]).toEqual([f.issuedAt, f.notBefore, f.expiresAt, f.epoch, f.sequence]);
      }),
      { numRuns: 150 },
    );
  });

  it('rn-set and revocation', () => {
    fc.assert(
      fc.property(rnSetBodyArb, revocationBodyArb, (rs, rv) => {
        expect(openAndVerify(provider, signArtefact(provider, root.signer, { type: 'rn-set', ...window() }, rs), 'rn-set', resolve).body).toEqual(rs);
        expect(openAndVerify(provider, signArtefact(provider, root.signer, { type: 'revocation', ...window() }, rv), 'revocation', resolve).body).toEqual(rv);
      }),
      { numRuns: 100 },
    );
  });

  it('pcert', () => {
    fc.assert(
      fc.property(pcertBodyArb, (b) => {
        const bytes = signArtefact(provider, root.signer, { type: 'pcert', subject: provider.blake3(b.publicKey), ...window() }, b);
        expect(openAndVerify(provider, bytes, 'pcert', resolve).body).toEqual(b);
      }),
      { numRuns: 150 },
    );
  });
});
