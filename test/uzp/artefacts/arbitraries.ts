// fast-check arbitraries for artefact bodies and junk inputs (test helper).

import type { PorEvidenceBody } from '../../../src/uzp/artefacts/por-evidence.js';
import fc from 'fast-check';
import type { CborValue } from '../../../src/uzp/cbor.js';
import { repeatedRnAddress } from '../../../src/uzp/artefacts/rnset.js';
import type { GrantBody, PCertBody, Purpose, RevocationBody, RnSetBody } from '../../../src/uzp/artefacts/types.js';
import { provider } from './fixtures.js';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const name = (max = 40) => fc.string({ minLength: 1, maxLength: max });
const word = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);

export const purposeArb: fc.Arbitrary<Purpose> = fc
  .record(
    {
      purpose: fc.oneof(fc.constantFrom('serial.read', 'serial.write', 'modbus.read', 'modbus.write', 'mqtt.subscribe', 'mqtt.publish'), fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('.'))),
      units: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 }),
      tables: fc.subarray(['holding', 'input', 'coils', 'discrete'] as const, { minLength: 1 }),
      registers: fc.array(
        fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const),
        { minLength: 1, maxLength: 4 },
      ),
      topics: fc.array(
        fc
          .tuple(fc.array(fc.oneof(word, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
          .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/')),
        { minLength: 1, maxLength: 3 },
      ),
    },
    { requiredKeys: ['purpose'] },
  )
  .map((p) => p as Purpose);

export const grantBodyArb: fc.Arbitrary<GrantBody> = fc
  .record({
    scopes: fc.uniqueArray(fc.record({ slot: name(), device: name(), purposes: fc.array(purposeArb, { minLength: 1, maxLength: 4 }) }, { requiredKeys: ['slot', 'purposes'] }), {
      minLength: 1,
      maxLength: 4,
      selector: (s) => s.slot,
    }),
    nonce: fc.maxSafeNat(),
    earlyData: fc.boolean(),
    noReplay: fc.boolean(),
  })
  .map((g) => (g.earlyData && g.noReplay ? { ...g, noReplay: false } : g));

export const pcertBodyArb: fc.Arbitrary<PCertBody> = fc.record(
  { publicKey: bytes32, role: fc.constantFrom('gateway' as const, 'operator' as const, 'rn' as const), name: name(256) },
  { requiredKeys: ['publicKey', 'role'] },
);

const hostArb = fc.oneof(
  fc.array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/), { minLength: 1, maxLength: 3 }).map((w) => w.join('.')),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const addressArb = fc.tuple(hostArb, fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`);

export const rnSetBodyArb: fc.Arbitrary<RnSetBody> = fc.record({
  scope: name(),
  rns: fc
    .uniqueArray(
      fc.record({
        publicKey: bytes32,
        addresses: fc.uniqueArray(addressArb, { minLength: 1, maxLength: 3 }),
        roles: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), { minLength: 1, maxLength: 3 }),
      }),
      { maxLength: 4, selector: (e) => Buffer.from(e.publicKey).toString('hex') },
    )
    // A valid statement lists each address under one RN only (pantheon rn-set refuses others; a gateway warns).
    .filter((es) => repeatedRnAddress(es) === undefined)
    .map((es) => es.map((e) => ({ cid: provider.blake3(e.publicKey), ...e }))),
});

export const porEvidenceBodyArb: fc.Arbitrary<PorEvidenceBody> = fc.record({
  profile: fc.nat(),
  rnCid: bytes32,
  sessionTag: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  generation: fc.nat(),
  nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  issuedMs: fc.nat({ max: 2 ** 40 }),
  expiresMs: fc.nat({ max: 2 ** 40 }),
  proof: bytes32,
});

export const revocationBodyArb: fc.Arbitrary<RevocationBody> = fc.record({
  cids: fc.uniqueArray(bytes32, { maxLength: 5, selector: (b) => Buffer.from(b).toString('hex') }),
  objectIds: fc.uniqueArray(bytes32, { maxLength: 5, selector: (b) => Buffer.from(b).toString('hex') }),
});

/** Arbitrary profile CBOR values whose map keys come mostly from `keys` (to reach deep decoder paths). */
export function cborArb(keys: readonly string[]): fc.Arbitrary<CborValue> {
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) });
  const { value } = fc.letrec<{ value: CborValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.nat(),
      fc.integer({ min: 0, max: 0x1_0000 }),
      fc.maxSafeNat(),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 20 }),
      fc.constantFrom('gateway', 'operator', 'rn', 'relay', 'modbus.read', 'a:1', 'x/#'),
      fc.uint8Array({ maxLength: 40 }),
      bytes32,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    ),
  }));
  return value;
}

/** Byte-level mutations of valid encodings: flips, sets, inserts, deletes, truncation. */
export type Op =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; val: number }
  | { k: 'ins'; pos: number; b: Uint8Array }
  | { k: 'del'; pos: number; n: number }
  | { k: 'cut'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), pos: fc.nat(), val: fc.constantFrom(0x00, 0x18, 0x1b, 0x40, 0x5f, 0x7f, 0x9f, 0xbf, 0xf4, 0xf5, 0xf6, 0xf7, 0xfb, 0xff, 0xc0) }),
  fc.record({ k: fc.constant('ins' as const), pos: fc.nat(), b: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ k: fc.constant('del' as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ k: fc.constant('cut' as const), n: fc.nat() }),
);

export function applyOps(base: Uint8Array, ops: readonly Op[]): Uint8Array {
  let b = base.slice();
  for (const op of ops) {
    const pos = b.length === 0 ? 0 : ('pos' in op ? op.pos : 0) % b.length;
    if (op.k === 'flip' && b.length > 0) b[pos]! ^= 1 << op.bit;
    else if (op.k === 'set' && b.length > 0) b[pos] = op.val;
    else if (op.k === 'ins') b = Uint8Array.from([...b.subarray(0, pos), ...op.b, ...b.subarray(pos)]);
    else if (op.k === 'del') b = Uint8Array.from([...b.subarray(0, pos), ...b.subarray(pos + op.n)]);
    else if (op.k === 'cut') b = b.subarray(0, b.length === 0 ? 0 : op.n % b.length);
  }
  return b;
}

export function mutatedArb(bases: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...bases), fc.array(opArb, { minLength: 1, maxLength: 4 })).map(([b, ops]) => applyOps(b, ops));
}
