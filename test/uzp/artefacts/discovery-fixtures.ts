// Fixtures and fast-check arbitraries for the outbound-indexing artefacts (discovery-grant, receipt,
// discovery-revocation): the gateway (fixtures.ts seed 2) publishes to a collector (seed 7).

import fc from 'fast-check';
import type { DiscoveryGrantBody } from '../../../src/uzp/artefacts/discovery-grant.js';
import type { DiscoveryRevocationBody } from '../../../src/uzp/artefacts/discovery-revocation.js';
import type { ArtefactFields } from '../../../src/uzp/artefacts/envelope.js';
import type { ReceiptBody } from '../../../src/uzp/artefacts/receipt.js';
import { signArtefact } from '../../../src/uzp/artefacts/sign.js';
import { identityFromSeed, type Identity } from '../../../src/uzp/identity/identity.js';
import { gateway, provider, seed, window } from './fixtures.js';

export const collector: Identity = identityFromSeed(provider, seed(7));
export const publisher = gateway;

export function discoveryGrantBody(over: Partial<DiscoveryGrantBody> = {}): DiscoveryGrantBody {
  return {
    scope: [{ slot: 'rs485-1', device: 'th-bus-1' }, { slot: 'tty-1' }],
    purposes: ['telemetry.store', 'telemetry.dashboard'],
    constraints: { retentionDays: 30, maxRate: 10, attribution: 'Plant 7, line 2' },
    policy: { allow: ['telemetry.store', 'telemetry.dashboard', 'telemetry.alert'], deny: ['ai.train'], retentionDays: 90, redistribution: false },
    ...over,
  };
}

export function receiptBody(over: Partial<ReceiptBody> = {}): ReceiptBody {
  return {
    kind: 'accept',
    grantId: new Uint8Array(32).fill(0x47),
    scope: ['rs485-1'],
    purposes: ['telemetry.store'],
    ranges: [{ slot: 'rs485-1', epoch: 3, first: 1, last: 120 }],
    atMs: 1_767_225_660_000,
    ...over,
  };
}

export function revocationBody(over: Partial<DiscoveryRevocationBody> = {}): DiscoveryRevocationBody {
  return { grantId: new Uint8Array(32).fill(0x47), scope: ['tty-1'], atMs: 1_767_225_700_000, ...over };
}

type DiscoveryType = 'discovery-grant' | 'receipt' | 'discovery-revocation';
type Body<T extends DiscoveryType> = T extends 'discovery-grant' ? DiscoveryGrantBody : T extends 'receipt' ? ReceiptBody : DiscoveryRevocationBody;

/**
 * Signs one of the three: grants and revocations by the publisher for the collector, receipts by
 * the collector for the publisher, unless `issuer` / `over.audience` say otherwise.
 */
export function mintDiscovery<T extends DiscoveryType>(type: T, body: Body<T>, over: Partial<ArtefactFields> = {}, issuer?: Identity, coSigners: Identity[] = []): Uint8Array {
  const by = issuer ?? (type === 'receipt' ? collector : publisher);
  const audience = type === 'receipt' ? publisher.cid : collector.cid;
  return signArtefact(provider, by.signer, { type, ...window(), audience, ...over } as ArtefactFields & { type: T }, body as never, coSigners.map((c) => c.signer));
}

// ---- arbitraries ----

const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
const purpose = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('.'));
const slot = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/), fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== '*'));

export const discoveryGrantBodyArb: fc.Arbitrary<DiscoveryGrantBody> = fc
  .record({
    scope: fc.oneof(
      { weight: 1, arbitrary: fc.constant([{ slot: '*' }]) },
      {
        weight: 4,
        arbitrary: fc.uniqueArray(fc.record({ slot, device: fc.string({ minLength: 1, maxLength: 30 }) }, { requiredKeys: ['slot'] }), { minLength: 1, maxLength: 5, selector: (s) => s.slot }),
      },
    ),
    purposes: fc.uniqueArray(purpose, { minLength: 1, maxLength: 4 }),
    extraAllow: fc.uniqueArray(purpose, { maxLength: 4 }),
    deny: fc.uniqueArray(purpose, { maxLength: 4 }),
    retention: fc.tuple(fc.integer({ min: 1, max: 36_500 }), fc.integer({ min: 1, max: 36_500 })),
    maxRate: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }),
    attribution: fc.option(fc.string({ minLength: 1, maxLength: 256 }), { nil: undefined }),
    redistribution: fc.boolean(),
  })
  .map((r) => {
    // A consistent policy: every purpose allowed, none denied, retention within the policy's.
    const allow = [...new Set([...r.purposes, ...r.extraAllow])];
    const [a, b] = r.retention;
    return {
      scope: r.scope,
      purposes: r.purposes,
      constraints: { retentionDays: Math.min(a, b), ...(r.maxRate !== undefined ? { maxRate: r.maxRate } : {}), ...(r.attribution !== undefined ? { attribution: r.attribution } : {}) },
      policy: { allow, deny: r.deny.filter((p) => !allow.includes(p)), retentionDays: Math.max(a, b), redistribution: r.redistribution },
    };
  });

const rangeArb = fc
  .record({ slot, epoch: fc.maxSafeNat(), a: fc.maxSafeNat(), b: fc.maxSafeNat() })
  .map((r) => ({ slot: r.slot, epoch: r.epoch, first: Math.min(r.a, r.b), last: Math.max(r.a, r.b) }));

export const receiptBodyArb: fc.Arbitrary<ReceiptBody> = fc
  .record({
    kind: fc.constantFrom('accept' as const, 'revoke' as const),
    grantId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    scope: fc.uniqueArray(slot, { maxLength: 5 }),
    purposes: fc.uniqueArray(purpose, { maxLength: 4 }),
    ranges: fc.array(rangeArb, { maxLength: 5 }),
    atMs: fc.maxSafeNat(),
    deleted: fc.option(fc.maxSafeNat(), { nil: undefined }),
    kept: fc.option(fc.maxSafeNat(), { nil: undefined }),
  })
  .map(({ deleted, kept, ranges, ...r }) =>
    r.kind === 'accept'
      ? { ...r, ranges }
      : { ...r, ranges: [], ...(deleted !== undefined ? { deleted } : {}), ...(kept !== undefined ? { kept } : {}) },
  );

export const discoveryRevocationBodyArb: fc.Arbitrary<DiscoveryRevocationBody> = fc.record(
  {
    grantId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    scope: fc.uniqueArray(slot, { minLength: 1, maxLength: 5 }),
    atMs: fc.maxSafeNat(),
  },
  { requiredKeys: ['atMs'] },
);

/** Map keys of the three bodies, for structured junk. */
export const DISCOVERY_KEYS = ['scope', 'slot', 'dev', 'purp', 'cons', 'ret_d', 'rate', 'attr', 'pol', 'allow', 'deny', 'redist', 'k', 'g', 'rng', 'at_ms', 'del', 'kept'];
