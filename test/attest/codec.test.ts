// Decoders of the attestation profile: a checked-in vector, properties and junk input.
// Evidence: claims + envelope; the 43/14 device identity parser; the CH1 attestation request.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bundleRootOf, fileLeaf, groupLeaf, merkleTree } from '../../src/attest/bundle.js';
import { decodeClaims, encodeClaims, ueidOf } from '../../src/attest/claims.js';
import { parseDeviceIdResponse, readDeviceIdentity } from '../../src/attest/device-id.js';
import { decodeEvidence, signEvidence } from '../../src/attest/evidence.js';
import { attestationRequest, attestationRequestOf } from '../../src/attest/request.js';
import { openManifest, signManifest } from '../../src/attest/manifest.js';
import { EAT_PROFILE, type Claims, type ReferenceManifest } from '../../src/attest/types.js';
import { decodeEnvelope, sealEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { decodeCanonical, encodeCanonical, type CborMap } from '../../src/uzp/cbor.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';
import { CodedError } from '../../src/lib/errors.js';

const VECTORS = JSON.parse(readFileSync(new URL('../vectors/attestation.json', import.meta.url), 'utf8')) as {
  seed: string;
  evidence: string;
  bundle_root: string;
};

/** The claims of the checked-in vector (docs/PROFILE.md §Attestation, "Test vector"). */
function vectorClaims(cid: Uint8Array): Claims {
  const leaves = [fileLeaf(p, 'dist/cli/main.js', 'f', new TextEncoder().encode('main\n'))];
  const group = { name: 'dist/cli', files: 1, root: merkleTree(p, leaves) };
  return {
    eat_profile: EAT_PROFILE,
    eat_nonce: fromHex('000102030405060708090a0b0c0d0e0f'),
    ueid: ueidOf(cid),
    iat: 1_795_262_400,
    oemid: fromHex('dca632'),
    hwmodel: 'Raspberry Pi 4 Model B',
    hwversion: '1.5',
    board: 'rpi-4b',
    swname: 'uzp-gateway',
    swversion: '0.1.0',
    measurements: { bundle: { root: bundleRootOf(p, [group]), files: 1, groups: [group] }, lockfile: new Uint8Array(32).fill(0x11), node: 'v24.22.3', runtime: { path: '/opt/uzp-gateway/runtime/bin/node', sha256: new Uint8Array(32).fill(0x66) }, config: new Uint8Array(32).fill(0x22), board: new Uint8Array(32).fill(0x33) },
    dbgstat: 'disabled',
    bootseed: new Uint8Array(32).fill(0x44),
    binding: new Uint8Array(32).fill(0x55),
    key_origin: 'software',
    submods: { 'rs485-1': { device: 'th-bus-1', driver: 'modbus-poller', port: '/dev/ttyAMA0', identity: { vendor: 'ACME', product: 'TH-20', revision: '1.2' } } },
  };
}

describe('evidence vector', () => {
  const id = identityFromSeed(p, fromHex(VECTORS.seed));
  it('signing the vector claims gives the checked-in bytes, and they decode back', () => {
    const c = vectorClaims(id.cid);
    expect(toHex(c.measurements.bundle.root)).toBe(VECTORS.bundle_root);
    const bytes = signEvidence(p, id.signer, c);
    expect(toHex(bytes)).toBe(VECTORS.evidence);
    const ev = decodeEvidence(p, fromHex(VECTORS.evidence));
    expect(ev.claims).toEqual(c);
    expect(toHex(ev.issuer)).toBe(toHex(id.cid));
  });

  it('merkle split: 3 leaves = node(node(a,b), c); empty tree is BLAKE3(0x02)', () => {
    const [a, b, c] = [1, 2, 3].map((n) => new Uint8Array(32).fill(n)) as [Uint8Array, Uint8Array, Uint8Array];
    const node = (l: Uint8Array, r: Uint8Array): Uint8Array => p.blake3(Uint8Array.of(1, ...l, ...r));
    expect(merkleTree(p, [a, b, c])).toEqual(node(node(a, b), c));
    expect(merkleTree(p, [])).toEqual(p.blake3(Uint8Array.of(2)));
    expect(groupLeaf(p, { name: 'x', files: 1, root: a })).toEqual(p.blake3(Uint8Array.of(3, 0, 1, 0x78, 0, 0, 0, 1, ...a)));
  });
});

describe('evidence decoder: properties and junk', () => {
  const id = identityFromSeed(p, fromHex(VECTORS.seed));
  const good = fromHex(VECTORS.evidence);

  it('claims encode/decode round trip for arbitrary slot sets and nonces', () => {
    const slot = fc.record({ device: fc.string({ maxLength: 20 }), driver: fc.constantFrom('modbus-poller', 'serial-raw'), port: fc.string({ maxLength: 30 }) });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), slot, { maxKeys: 5 }), (nonce, submods) => {
        const c = { ...vectorClaims(id.cid), eat_nonce: nonce, submods };
        const back = decodeClaims(decodeCanonical(encodeCanonical(encodeClaims(c))) as CborMap);
        expect(back).toEqual(c);
      }),
      { numRuns: 200 },
    );
  });

  it('any single flipped byte is refused by the decoder or breaks the signature', async () => {
    const { evidenceSignatureValid } = await import('../../src/attest/evidence.js');
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = good.slice();
        b[i]! ^= x;
        try {
          const ev = decodeEvidence(p, b);
          expect(evidenceSignatureValid(p, ev)).toBe(false);
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('junk and every truncation throw typed errors only', () => {
    for (let n = 0; n < good.length; n += 7) expect(() => decodeEvidence(p, good.subarray(0, n))).toThrow(CodedError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (junk) => {
        try {
          decodeEvidence(p, junk);
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Modbus 43/14 device identity parser', () => {
  // Vector: Modbus Application Protocol V1.1b3 §6.21 example shape, basic objects 0..2.
  const reply = fromHex('2b0e0101000003' + '0004' + '41434d45' + '0105' + '54482d3230' + '0203' + '312e32');

  it('parses the basic objects', () => {
    const page = parseDeviceIdResponse(reply);
    expect([...page.objects.keys()]).toEqual([0, 1, 2]);
    expect(page.next).toBeUndefined();
  });

  it('follows "more follows" and refuses exceptions quietly', async () => {
    const first = fromHex('2b0e0101ff0202' + '0004' + '41434d45' + '0105' + '54482d3230');
    const pages = [first, fromHex('2b0e0101000001' + '0203' + '312e32')];
    const asked: number[] = [];
    const id = await readDeviceIdentity(async (_u, pdu) => {
      asked.push(pdu[3]!);
      return pages.shift()!;
    }, 1);
    expect(id).toEqual({ vendor: 'ACME', product: 'TH-20', revision: '1.2' });
    expect(asked).toEqual([0, 2]);
    expect(await readDeviceIdentity(async () => fromHex('ab01'), 1)).toBeUndefined();
  });

  it('junk never throws anything but DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 260 }), (junk) => {
        try {
          parseDeviceIdResponse(Uint8Array.of(0x2b, 0x0e, 0x01, ...junk));
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
        }
      }),
      { numRuns: 1000 },
    );
    for (let n = 0; n < reply.length; n++) expect(() => parseDeviceIdResponse(reply.subarray(0, n))).toThrow(CodedError);
  });
});

describe('CH1 attestation request', () => {
  it('round trips and ignores malformed requests', () => {
    const n = new Uint8Array(16).fill(3);
    expect(attestationRequestOf([attestationRequest(n)])).toEqual(n);
    expect(toHex(attestationRequest(n).data)).toBe('a1656e6f6e636550' + '03'.repeat(16));
    expect(attestationRequestOf([])).toBeUndefined();
    expect(attestationRequestOf([{ type: 1, data: new Uint8Array([0xff]) }])).toBeUndefined();
    expect(attestationRequestOf([{ type: 1, data: encodeCanonical({ nonce: new Uint8Array(4) }) }])).toBeUndefined();
    expect(() => attestationRequest(new Uint8Array(7))).toThrow(RangeError);
  });
});

describe('reference manifest decoder', () => {
  const signer = identityFromSeed(p, fromHex(VECTORS.seed));
  const base = (): ReferenceManifest => {
    const c = vectorClaims(signer.cid);
    return {
      board: c.board, oemid: c.oemid, hwmodel: c.hwmodel, hwversion: c.hwversion, swname: c.swname, swversion: c.swversion,
      bundle: c.measurements.bundle, lockfile: c.measurements.lockfile, node: ['v24.22.3'], config: c.measurements.config, boardDigest: c.measurements.board,
      slots: { 'rs485-1': { device: 'th-bus-1', driver: 'modbus-poller', port: '/dev/ttyAMA0' } },
    };
  };

  it('round trips with and without the runtime pin', () => {
    const pinned = { ...base(), runtime: { path: '/opt/uzp-gateway/runtime/bin/node', sha256: new Uint8Array(32).fill(0x66) } };
    for (const m of [base(), pinned]) expect(openManifest(p, signManifest(p, signer.signer, m, 1_795_262_400)).manifest).toEqual(m);
  });

  it('a runtime path that is not absolute, or a digest of the wrong length, is refused by name', () => {
    const sealed = (runtime: CborMap): Uint8Array => {
      // Re-sealed by hand, so that the encoder's own types cannot keep the bad value out.
      const body = decodeEnvelope(p, signManifest(p, signer.signer, base(), 1_795_262_400)).body as CborMap;
      return sealEnvelope(p, [signer.signer], { type: 'reference-manifest', issuedAt: 1_795_262_400, notBefore: 1_795_262_400, expiresAt: 1_795_262_500 }, { ...body, runtime });
    };
    expect(() => openManifest(p, sealed({ path: 'bin/node', sha256: new Uint8Array(32) }))).toThrow(/manifest\.runtime\.path: expected an absolute path/);
    expect(() => openManifest(p, sealed({ path: '/n', sha256: new Uint8Array(31) }))).toThrow(/manifest\.runtime\.sha256/);
    expect(() => openManifest(p, sealed({ path: '/n', sha256: new Uint8Array(32), extra: 1 }))).toThrow(CodedError);
  });

  it('junk and truncations throw typed errors only', () => {
    const good = signManifest(p, signer.signer, { ...base(), runtime: { path: '/opt/uzp-gateway/runtime/bin/node', sha256: new Uint8Array(32) } }, 1_795_262_400);
    for (let n = 0; n < good.length; n += 5) expect(() => openManifest(p, good.subarray(0, n))).toThrow(CodedError);
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const b = good.slice();
        b[i]! ^= x;
        expect(() => openManifest(p, b)).toThrow(CodedError);
      }),
      { numRuns: 300 },
    );
  });
});
