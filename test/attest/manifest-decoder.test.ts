// openManifest / decodeManifestBody (reference manifests, RFC 9334 §8.3): vectors (a fixed manifest
// signed by the RFC 8032 test key decodes to its fields; each malformed field, envelope field and
// signature refused with its code) and a round trip with signManifest over generated manifests.

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openManifest, signManifest } from '../../src/attest/manifest.js';
import type { ReferenceManifest } from '../../src/attest/types.js';
import { SLOT_ID } from '../../src/config/board-schema.js';
import { CodedError, CommonCode } from '../../src/lib/errors.js';
import { decodeEnvelope, sealEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { encodeCanonical, type CborMap, type CborValue } from '../../src/uzp/cbor.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';
import { codeOf } from '../helpers/errors.js';

// RFC 8032 §7.1 TEST 1 and TEST 2 keys.
const signer = identityFromSeed(p, fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
const other = identityFromSeed(p, fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'));
const T = 1_795_262_400; // 2026-11-20T08:00:00Z
/** The signed bytes of fixed() at T (lifetime 3600), pinned: a change of the encoding shows here. */
const EXPECTED_LENGTH = 969;
const EXPECTED_SHA256 = '820f6e1fc39826ac608be3803a670ec55b721e2e110e69140f278f15e5b51f29';

const fixed = (): ReferenceManifest => ({
  board: 'rpi-4b',
  oemid: fromHex('b827eb'),
  hwmodel: 'Raspberry Pi 4 Model B',
  hwversion: '1.5',
  swname: 'uzp-gateway',
  swversion: '0.1.0',
  bundle: {
    root: new Uint8Array(32).fill(0x11),
    files: 42,
    groups: [
      { name: 'dist', files: 40, root: new Uint8Array(32).fill(0x22) },
      { name: 'package.json', files: 1, root: new Uint8Array(32).fill(0x33) },
    ],
  },
  lockfile: new Uint8Array(32).fill(0x44),
  node: ['v24.22.0', 'v24.22.3'],
  runtime: { path: '/opt/uzp-gateway/runtime/bin/node', sha256: new Uint8Array(32).fill(0x55) },
  config: new Uint8Array(32).fill(0x66),
  boardDigest: new Uint8Array(32).fill(0x77),
  slots: {
    'rs485-1': { device: 'th-bus-1', driver: 'modbus-poller', port: '/dev/ttyAMA0', identity: { vendor: 'Acme', product: 'TH-100', revision: '2.1' } },
    mqtt: { device: 'plc', driver: 'mqtt-subscriber', port: 'mqtt://broker.local:1883' },
  },
});

/** The body signManifest writes for `fixed()`, to be altered and sealed again by hand. */
const fixedBody = (): CborMap => decodeEnvelope(p, signManifest(p, signer.signer, fixed(), T, 3600)).body as CborMap;
const seal = (b: CborValue, o: { signers?: typeof signer.signer[]; type?: 'reference-manifest' | 'pcert'; nbf?: number; exp?: number; extra?: object } = {}): Uint8Array =>
  sealEnvelope(p, o.signers ?? [signer.signer], { type: (o.type ?? 'reference-manifest') as never, issuedAt: T, notBefore: o.nbf ?? T, expiresAt: o.exp ?? T + 3600, ...o.extra }, b);
const codeOfOpen = (bytes: Uint8Array, opts: { trusted?: readonly Uint8Array[]; now?: number } = {}): string => codeOf(() => openManifest(p, bytes, opts));

describe('reference manifest vectors', () => {
  it('the RFC 8032 TEST 1 key signs the fixed manifest to fixed bytes, which decode to its fields', () => {
    expect(toHex(signer.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const bytes = signManifest(p, signer.signer, fixed(), T, 3600);
    // Canonical CBOR and deterministic Ed25519: one manifest, one encoding.
    expect(bytes.length).toBe(EXPECTED_LENGTH);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(EXPECTED_SHA256);
    const m = openManifest(p, bytes, { trusted: [signer.cid], now: T + 10 });
    expect(m.manifest).toEqual(fixed());
    expect(toHex(m.signer)).toBe(toHex(signer.cid));
    expect([m.issuedAt, m.expiresAt]).toEqual([T, T + 3600]);
    expect(m.bytes).toBe(bytes);
    // Without a runtime pin (flashed with --node) the field is absent, not undefined-valued.
    const { runtime: _r, ...unpinned } = fixed();
    const u = openManifest(p, signManifest(p, signer.signer, unpinned, T));
    expect(u.manifest).toEqual(unpinned);
    expect('runtime' in u.manifest).toBe(false);
    expect(u.expiresAt - u.issuedAt).toBe(5 * 365 * 24 * 3600);
  });

  it('refuses each malformed body field with a DecodeError code naming it', () => {
    const cases: [string, (b: CborMap) => void, string, RegExp][] = [
      ['unknown key', (b) => (b.extra = 1), CommonCode.DECODE_VALUE, /manifest: unknown field "extra"/],
      ['no node', (b) => (b.node = []), CommonCode.DECODE_VALUE, /manifest\.node: at least one/],
      ['17 node versions', (b) => (b.node = Array.from({ length: 17 }, () => 'v24')), CommonCode.DECODE_LENGTH, /manifest\.node/],
      ['node not text', (b) => (b.node = [24]), CommonCode.DECODE_TYPE, /manifest\.node\[0\]/],
      ['node too long', (b) => (b.node = ['v'.repeat(33)]), CommonCode.DECODE_LENGTH, /manifest\.node\[0\]/],
      ['pk of 31 bytes', (b) => (b.pk = new Uint8Array(31)), CommonCode.DECODE_LENGTH, /manifest\.pk/],
      ['pk missing', (b) => delete b.pk, CommonCode.DECODE_TYPE, /manifest\.pk/],
      ['board too long', (b) => (b.board = 'b'.repeat(65)), CommonCode.DECODE_LENGTH, /manifest\.board/],
      ['board a number', (b) => (b.board = 4), CommonCode.DECODE_TYPE, /manifest\.board/],
      ['oemid of 4 bytes', (b) => (b.oemid = new Uint8Array(4)), CommonCode.DECODE_LENGTH, /manifest\.oemid/],
      ['lockfile of 31 bytes', (b) => (b.lockfile = new Uint8Array(31)), CommonCode.DECODE_LENGTH, /manifest\.lockfile/],
      ['config text', (b) => (b.config = 'x'), CommonCode.DECODE_TYPE, /manifest\.config/],
      ['board_digest missing', (b) => delete b.board_digest, CommonCode.DECODE_TYPE, /manifest\.board_digest/],
      ['groups out of order', (b) => ((b.bundle as CborMap).groups = [['z', 1, new Uint8Array(32)], ['a', 1, new Uint8Array(32)]]), CommonCode.DECODE_VALUE, /strictly ascending/],
      ['group of 2 items', (b) => ((b.bundle as CborMap).groups = [['a', 1]]), CommonCode.DECODE_LENGTH, /groups\[0\]/],
      ['negative file count', (b) => ((b.bundle as CborMap).files = -1), CommonCode.DECODE_TYPE, /manifest\.bundle\.files/],
      ['relative runtime path', (b) => (b.runtime = { path: 'node', sha256: new Uint8Array(32) }), CommonCode.DECODE_VALUE, /absolute path/],
      ['65 slots', (b) => (b.slots = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`s${i}`, { device: 'd', driver: 'x', port: 'p' }]))), CommonCode.DECODE_LENGTH, /more than 64 slots/],
      ['empty slot id', (b) => (b.slots = { '': { device: 'd', driver: 'x', port: 'p' } }), CommonCode.DECODE_VALUE, /slot id of 0 characters/],
      ['slot without port', (b) => (b.slots = { s: { device: 'd', driver: 'x' } }), CommonCode.DECODE_TYPE, /manifest\.slots\.s\.port/],
      ['slots a list', (b) => (b.slots = []), CommonCode.DECODE_TYPE, /manifest\.slots/],
    ];
    for (const [what, change, code, message] of cases) {
      const b = fixedBody();
      change(b);
      const bytes = seal(b);
      expect(codeOfOpen(bytes), what).toBe(code);
      expect(() => openManifest(p, bytes), what).toThrow(message);
    }
    expect(codeOfOpen(seal('not a map'))).toBe(CommonCode.DECODE_TYPE);
  });

  it('refuses a wrong envelope, issuer, signature count, signer or validity window with its code', () => {
    const good = signManifest(p, signer.signer, fixed(), T, 3600);
    expect(codeOfOpen(seal(fixedBody(), { type: 'pcert' }))).toBe(ErrorCode.ARTEFACT_TYPE);
    expect(codeOfOpen(seal(fixedBody(), { extra: { subject: other.cid } }))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOfOpen(seal(fixedBody(), { extra: { audience: other.cid } }))).toBe(CommonCode.DECODE_VALUE);
    expect(codeOfOpen(seal(fixedBody(), { extra: { extensions: [{ id: 'x-future', critical: true, value: encodeCanonical(1) }] } }))).toBe(ErrorCode.ARTEFACT_CRITICAL_EXT);
    expect(openManifest(p, seal(fixedBody(), { extra: { extensions: [{ id: 'x-future', critical: false, value: encodeCanonical(1) }] } })).manifest).toEqual(fixed());
    expect(codeOfOpen(seal({ ...fixedBody(), pk: other.publicKey }))).toBe(ErrorCode.ARTEFACT_ISSUER);
    expect(codeOfOpen(seal(fixedBody(), { signers: [signer.signer, other.signer] }))).toBe(ErrorCode.SIG_INVALID);
    expect(codeOfOpen(good, { trusted: [other.cid] })).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    expect(codeOfOpen(good, { trusted: [] })).toBe(ErrorCode.SIG_UNKNOWN_SIGNER);
    expect(codeOfOpen(good, { now: T - 1 })).toBe(ErrorCode.ARTEFACT_NOT_YET_VALID);
    expect(codeOfOpen(good, { now: T + 3601 })).toBe(ErrorCode.ARTEFACT_EXPIRED);
    expect(codeOfOpen(good, { now: T })).toBe('no error');
    expect(codeOfOpen(good, { now: T + 3600 })).toBe('no error');
    const flipped = good.slice();
    flipped[flipped.length - 1]! ^= 1; // last byte of the signature
    expect(codeOfOpen(flipped)).toBe(ErrorCode.SIG_INVALID);
  });
});

const digest = fc.uint8Array({ minLength: 32, maxLength: 32 });
const textMax = (max: number, min = 0): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(max, 40) }).filter((s) => s.length <= max);
const groupsArb = fc
  .uniqueArray(fc.record({ name: textMax(256), files: fc.nat(), root: digest }), { selector: (g) => g.name, maxLength: 8 })
  .map((gs) => [...gs].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name))))
  .filter((gs) => gs.every((g, i) => i === 0 || Buffer.compare(Buffer.from(gs[i - 1]!.name), Buffer.from(g.name)) < 0));
const identityArb = fc.record({ vendor: textMax(244), product: textMax(244), revision: textMax(244) });
const slotArb = fc.record({ device: textMax(256), driver: textMax(256), port: textMax(1024), identity: identityArb }, { requiredKeys: ['device', 'driver', 'port'] });
const manifestArb: fc.Arbitrary<ReferenceManifest> = fc.record(
  {
    board: textMax(64),
    oemid: fc.oneof(fc.uint8Array({ minLength: 3, maxLength: 3 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    hwmodel: textMax(256),
    hwversion: textMax(64),
    swname: textMax(256),
    swversion: textMax(64),
    bundle: fc.record({ root: digest, files: fc.maxSafeNat(), groups: groupsArb }),
    lockfile: digest,
    node: fc.array(textMax(32), { minLength: 1, maxLength: 16 }),
    runtime: fc.record({ path: textMax(1000).map((s) => `/${s}`), sha256: digest }),
    config: digest,
    boardDigest: digest,
    slots: fc.dictionary(fc.stringMatching(SLOT_ID), slotArb, { maxKeys: 6 }),
  },
  { requiredKeys: ['board', 'oemid', 'hwmodel', 'hwversion', 'swname', 'swversion', 'bundle', 'lockfile', 'node', 'config', 'boardDigest', 'slots'] },
);

describe('reference manifest round trip', () => {
  it('openManifest(signManifest(m)) gives back any manifest, its signer and its window', () => {
    fc.assert(
      fc.property(manifestArb, fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 10 * 365 * 86400 }), fc.boolean(), (m, now, lifetime, useOther) => {
        const id = useOther ? other : signer;
        const bytes = signManifest(p, id.signer, m, now, lifetime);
        const opened = openManifest(p, bytes, { trusted: [id.cid], now: now + Math.floor(lifetime / 2) });
        expect(opened.manifest).toEqual(m);
        expect(toHex(opened.signer)).toBe(toHex(id.cid));
        expect([opened.issuedAt, opened.expiresAt]).toEqual([now, now + lifetime]);
        // Signing is deterministic: the same manifest, key and times give the same bytes.
        expect(toHex(signManifest(p, id.signer, opened.manifest, now, lifetime))).toBe(toHex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('any byte flip of a signed manifest is refused with a typed error', () => {
    fc.assert(
      fc.property(manifestArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (m, at, x) => {
        const bytes = signManifest(p, signer.signer, m, T, 3600);
        const b = bytes.slice();
        b[at % b.length]! ^= x;
        try {
          openManifest(p, b);
          throw new Error(`a flipped byte at ${at % b.length} was accepted`);
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

