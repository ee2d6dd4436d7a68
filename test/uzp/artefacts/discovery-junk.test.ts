// Junk for the outbound-indexing artefacts (a collector reads grants and revocations from any
// gateway that reaches it, a gateway reads receipts from its collectors): random bytes, every
// truncation, structured junk with the bodies' own keys -> DecodeError only; mutated envelopes
// through the validators -> typed errors only, and never accepted. (junk.test.ts also runs its
// 10,000-input suites over these three types.)

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codecFor } from '../../../src/uzp/artefacts/codecs.js';
import { openArtefact } from '../../../src/uzp/artefacts/open.js';
import { validateDiscoveryGrant, validateDiscoveryRevocation, validateReceipt } from '../../../src/uzp/artefacts/validate-discovery.js';
import { equal } from '../../../src/uzp/bytes.js';
import type { CborMap } from '../../../src/uzp/cbor.js';
import { CodedError, DecodeError } from '../../../src/lib/errors.js';
import { cborArb, mutatedArb } from './arbitraries.js';
import { DISCOVERY_KEYS, collector, discoveryGrantBody, mintDiscovery, publisher, receiptBody, revocationBody } from './discovery-fixtures.js';
import { T0, provider } from './fixtures.js';

const TYPES = ['discovery-grant', 'receipt', 'discovery-revocation'] as const;
const valid = {
  'discovery-grant': mintDiscovery('discovery-grant', discoveryGrantBody()),
  receipt: mintDiscovery('receipt', receiptBody()),
  'discovery-revocation': mintDiscovery('discovery-revocation', revocationBody()),
};

/** 'ok', or the error class name; anything untyped fails the test. */
function outcome(f: () => unknown): 'ok' | 'decode' | 'other' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error escaped: ${String(e)}`, { cause: e });
    return e instanceof DecodeError ? 'decode' : 'other';
  }
}

describe('discovery artefacts: junk is a DecodeError', () => {
  it('every proper prefix of each artefact', () => {
    for (const type of TYPES) {
      const bytes = valid[type];
      for (let n = 0; n < bytes.length; n++) expect(outcome(() => openArtefact(provider, bytes.subarray(0, n), type)), `${type} cut at ${n}`).toBe('decode');
      expect(outcome(() => openArtefact(provider, bytes, type))).toBe('ok');
    }
  });

  it('3,000 random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(...TYPES), (bytes, type) => {
        expect(outcome(() => openArtefact(provider, bytes, type))).toBe('decode');
      }),
      { numRuns: 3000 },
    );
  });

  it('3,000 structured bodies per type built from their own keys: codec.decode throws DecodeError only', () => {
    const junk = fc.oneof(fc.dictionary(fc.constantFrom(...DISCOVERY_KEYS), cborArb(DISCOVERY_KEYS), { maxKeys: 8 }), cborArb(DISCOVERY_KEYS));
    for (const type of TYPES) {
      const codec = codecFor(type);
      const seen = { ok: 0, decode: 0, other: 0 };
      fc.assert(
        fc.property(junk, (v) => {
          seen[outcome(() => codec.decode(v as CborMap))]++;
        }),
        { numRuns: 3000 },
      );
      expect(seen.other, type).toBe(0);
      expect(seen.decode, type).toBeGreaterThan(0);
    }
  });
});

describe('discovery artefacts: mutated envelopes through the validators', () => {
  it('2,000 mutations: typed errors only, nothing but the original accepted', () => {
    const pub = { cid: publisher.cid, publicKey: publisher.publicKey };
    let accepted = 0;
    fc.assert(
      fc.property(mutatedArb(Object.values(valid)), (bytes) => {
        const results = [
          outcome(() => validateDiscoveryGrant(provider, bytes, { publisher: pub, indexer: collector.cid, nowS: T0 + 60, skewS: 300 })),
          outcome(() => validateReceipt(provider, bytes, { indexer: { cid: collector.cid, publicKey: collector.publicKey }, publisher: publisher.cid })),
          outcome(() => validateDiscoveryRevocation(provider, bytes, { publisher: pub, indexer: collector.cid })),
        ];
        if (results.includes('ok') && !Object.values(valid).some((v) => equal(v, bytes))) accepted++;
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBe(0);
  });
});
