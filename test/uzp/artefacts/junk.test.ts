// >= 10,000 junk and mutated inputs per decoder: only typed UzpErrors may escape, nothing hangs
// (the vitest timeout bounds each test).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecFor, type CodecType } from '../../../src/uzp/artefacts/codecs.js';
import { decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { openAndVerify, openArtefact } from '../../../src/uzp/artefacts/open.js';
import { decodeCanonical, encodeCanonical, type CborMap } from '../../../src/uzp/cbor.js';
import { equal } from '../../../src/uzp/bytes.js';
import { cborArb, mutatedArb } from './arbitraries.js';
import { FakeClock, T0, gateway, grantBody, mint, pcertBody, provider, revocationBody, rnSetBody, root, store } from './fixtures.js';
import { CodedError } from '../../../src/lib/errors.js';
import { DISCOVERY_KEYS, discoveryGrantBody, mintDiscovery, receiptBody, revocationBody as discoveryRevocationBody } from './discovery-fixtures.js';

const RUNS = 10_000;

/** Runs f; returns 'ok' or 'error', failing the test on anything that is not a CodedError. */
function typedOnly(f: () => unknown): 'ok' | 'error' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error escaped: ${String(e)}`, { cause: e });
    return 'error';
  }
}

const valid: Record<CodecType, Uint8Array> = {
  pcert: mint('pcert', pcertBody()),
  grant: mint('grant', grantBody()),
  'rn-set': mint('rn-set', rnSetBody()),
  revocation: mint('revocation', revocationBody([gateway.cid], [root.cid])),
  'por-evidence': mint('por-evidence', { profile: 1, rnCid: root.cid, sessionTag: new Uint8Array(16).fill(7), generation: 2, nonce: new Uint8Array(16).fill(9), issuedMs: 1_000, expiresMs: 3_500, proof: new Uint8Array(32).fill(5) }),
  'discovery-grant': mintDiscovery('discovery-grant', discoveryGrantBody()),
  receipt: mintDiscovery('receipt', receiptBody()),
  'discovery-revocation': mintDiscovery('discovery-revocation', discoveryRevocationBody()),
};
const types = Object.keys(valid) as CodecType[];
const resolve = (kid: Uint8Array) => (equal(kid, root.cid) ? root.publicKey : undefined);

describe('envelope decoder junk', () => {
  it(`${RUNS} mutated envelopes and random bytes`, () => {
    const seen = { ok: 0, error: 0 };
    const input = fc.oneof({ weight: 4, arbitrary: mutatedArb(Object.values(valid)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) });
    fc.assert(
      fc.property(input, fc.constantFrom(...types), (bytes, type) => {
        seen[typedOnly(() => decodeEnvelope(provider, bytes))]++;
        typedOnly(() => openArtefact(provider, bytes, type));
      }),
      { numRuns: RUNS },
    );
    expect(seen.error).toBeGreaterThan(RUNS / 2);
  });

  it('2,000 mutated envelopes through signature verification and a TrustStore', () => {
    const ts = store(new FakeClock(T0 + 60));
    let accepted = 0;
    fc.assert(
      fc.property(mutatedArb(Object.values(valid)), (bytes) => {
        typedOnly(() => openAndVerify(provider, bytes, 'grant', resolve));
        if (typedOnly(() => ts.validatePCert(bytes)) === 'ok' && !equal(bytes, valid.pcert)) accepted++;
        typedOnly(() => ts.validateGrant(bytes, { audience: gateway.cid }));
        typedOnly(() => ts.setRnSet(bytes));
        typedOnly(() => ts.setRevocation(bytes));
      }),
      { numRuns: 2000 },
    );
    // A mutation that still verifies must keep the signed body and signature bytes; it could only
    // differ in the envelope framing, which canonical decoding refuses. So nothing is accepted
    // unless it is the original (which a mutation sequence can occasionally restore).
    expect(accepted).toBe(0);
  });
});

describe('body decoders junk', () => {
  for (const type of types) {
    const codec = codecFor(type);
    const b = (decodeCanonical(decodeEnvelope(provider, valid[type]).bodyBytes) as CborMap).b!;
    const keys = ['p', 'r', 'u', 't', 'pk', 'role', 'name', 'purp', 'scope', 'slot', 'dev', 'nonce', 'ed', 'nr', 'rns', 'cid', 'addr', 'roles', 'cids', 'ids', ...DISCOVERY_KEYS];

    it(`${type}: ${RUNS} mutated encodings and structured junk`, () => {
      const seen = { ok: 0, error: 0 };
      const mutated = mutatedArb([encodeCanonical(b)]).map((bytes) => {
        try {
          return decodeCanonical(bytes);
        } catch {
          return null;
        }
      });
      const structured = fc.dictionary(fc.constantFrom(...keys), cborArb(keys), { maxKeys: 6 });
      fc.assert(
        fc.property(fc.oneof(mutated, structured, cborArb(keys)), (v) => {
          const r = typedOnly(() => {
            const body = codec.decode(v as CborMap);
            codec.check(provider, { subject: provider.blake3(gateway.publicKey) } as never, body);
          });
          seen[r]++;
        }),
        { numRuns: RUNS },
      );
      expect(seen.error).toBeGreaterThan(0);
      // The unmutated body decodes (so the errors above are caused by the junk).
      expect(() => codec.decode(b as CborMap)).not.toThrow();
    });
  }
});
