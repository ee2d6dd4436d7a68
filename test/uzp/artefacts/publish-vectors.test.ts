// Outbound-publishing vectors (test/vectors/publish.json): a Discovery Grant from a gateway to a
// collector (OI draft §9.1, §10), one for every slot, an "accept" and a "revoke" receipt (OI §11.5),
// a discovery revocation of some slots of one grant and one of the whole relationship (OI §11.6), and
// the root-signed Pantheon Grant that lets the gateway publish to the collector (telemetry.publish,
// slot "*"). Fixed seeds and times; each body in the file is the wire map "b" as JSON (byte strings
// as lowercase hex). Checks:
//   1. our code makes exactly the file (UPDATE_VECTORS=1 rewrites it), on both crypto providers;
//   2. each vector decodes to its JSON, re-encodes byte for byte, and validates against the
//      authenticated identities (validate-discovery.ts) — or, for the Pantheon Grant, a TrustStore;
//   3. each body and envelope is rebuilt a second way from the documented layout alone: the hand
//      CBOR writer (rawcbor.ts) and an Ed25519 signature made with node:crypto.

import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codecFor, type CodecType } from '../../../src/uzp/artefacts/codecs.js';
import type { ArtefactFields } from '../../../src/uzp/artefacts/envelope.js';
import { artefactSignatureInput, decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { openArtefact } from '../../../src/uzp/artefacts/open.js';
import { signArtefact } from '../../../src/uzp/artefacts/sign.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { validateDiscoveryGrant, validateDiscoveryRevocation, validateReceipt } from '../../../src/uzp/artefacts/validate-discovery.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { cborToJson, decodeCanonical, encodeCanonical, type CborMap, type CborValue } from '../../../src/uzp/cbor.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { identityFromSeed, type Identity } from '../../../src/uzp/identity/identity.js';
import { blake3SingleBlock } from '../identity/blake3-ref.js';
import { enc, raw } from './rawcbor.js';

const FILE = new URL('../../vectors/publish.json', import.meta.url);
const PROVIDERS = [
  ['node', nodeProvider],
  ['noble', nobleProvider],
] as const;

/** 2026-01-01T00:00:00Z */
const T = 1_767_225_600;
const DAY = 86_400;
const SEEDS = { root: 0x01, gateway: 0x02, collector: 0x07 } as const;
type Who = keyof typeof SEEDS;

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

interface Vector {
  name: string;
  type: CodecType;
  signer: Who;
  fields: { issuer: string; subject?: string; audience: string; issued_at: number; not_before: number; expires_at: number; epoch: number; sequence: number };
  body: J;
  body_hex: string;
  signature_input_hex: string;
  object_id: string;
  envelope_hex: string;
}

interface Vectors {
  source: string;
  description: string;
  signature_context_prefix: string;
  identities: Record<Who, { seed: string; public: string; cid: string }>;
  vectors: Vector[];
}

/** The wire map as JSON: byte strings as hex (cborToJson). */
const toJson = (b: CborValue): J => cborToJson(b);
/** Back from JSON: the byte-string fields of these bodies are "g" (32 bytes) only. */
function fromJson(v: J, key = ''): CborValue {
  if (key === 'g') return fromHex(v);
  if (Array.isArray(v)) return v.map((x) => fromJson(x));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x, k)]));
  return v;
}

function generate(p: CryptoProvider): Vectors {
  const id = Object.fromEntries(Object.entries(SEEDS).map(([k, s]) => [k, identityFromSeed(p, new Uint8Array(32).fill(s))])) as Record<Who, Identity>;
  const vectors: Vector[] = [];
  const add = (name: string, type: CodecType, signer: Who, f: Omit<ArtefactFields, 'type'>, body: unknown): Uint8Array => {
    const bytes = signArtefact(p, id[signer].signer, { type, ...f } as ArtefactFields & { type: CodecType }, body as never);
    const env = decodeEnvelope(p, bytes);
    vectors.push({
      name,
      type,
      signer,
      fields: {
        issuer: toHex(env.issuer),
        ...(env.subject !== undefined ? { subject: toHex(env.subject) } : {}),
        audience: toHex(env.audience!),
        issued_at: env.issuedAt,
        not_before: env.notBefore,
        expires_at: env.expiresAt,
        epoch: env.epoch,
        sequence: env.sequence,
      },
      body: toJson(env.body),
      body_hex: toHex(env.bodyBytes),
      signature_input_hex: toHex(artefactSignatureInput(type, env.bodyBytes)),
      object_id: toHex(env.objectId),
      envelope_hex: toHex(bytes),
    });
    return env.objectId;
  };
  const [gw, col] = [id.gateway.cid, id.collector.cid];
  const win = (from: number, days: number) => ({ issuedAt: from, notBefore: from, expiresAt: from + days * DAY });

  add('pantheon-grant-gateway-publishes-to-collector', 'grant', 'root', { subject: gw, audience: col, ...win(T, 365) }, {
    scopes: [{ slot: '*', purposes: [{ purpose: 'telemetry.publish' }] }],
    nonce: 1,
    earlyData: false,
    noReplay: true,
  });
  const grantId = add('discovery-grant-two-slots', 'discovery-grant', 'gateway', { audience: col, ...win(T, 90) }, {
    scope: [{ slot: 'rs485-1', device: 'th-bus-1' }, { slot: 'tty-1' }],
    purposes: ['telemetry.store', 'telemetry.dashboard'],
    constraints: { retentionDays: 30, maxRate: 10, attribution: 'Plant 7, line 2' },
    policy: { allow: ['telemetry.store', 'telemetry.dashboard', 'telemetry.alert'], deny: ['ai.train', 'data.resell'], retentionDays: 90, redistribution: false },
  });
  add('discovery-grant-every-slot', 'discovery-grant', 'gateway', { audience: col, ...win(T, 30), sequence: 1 }, {
    scope: [{ slot: '*' }],
    purposes: ['telemetry.store'],
    constraints: { retentionDays: 7 },
    policy: { allow: ['telemetry.store'], deny: [], retentionDays: 7, redistribution: true },
  });
  add('receipt-accept', 'receipt', 'collector', { audience: gw, ...win(T + 3600, 365) }, {
    kind: 'accept',
    grantId,
    scope: ['rs485-1'],
    purposes: ['telemetry.store'],
    ranges: [
      { slot: 'rs485-1', epoch: 3, first: 1, last: 120 },
      { slot: 'rs485-1', epoch: 4, first: 1, last: 17 },
    ],
    atMs: (T + 3600) * 1000,
  });
  add('discovery-revocation-slot-of-grant', 'discovery-revocation', 'gateway', { audience: col, ...win(T + 7200, 365) }, { grantId, scope: ['tty-1'], atMs: (T + 7200) * 1000 });
  add('receipt-revoke', 'receipt', 'collector', { audience: gw, ...win(T + 7260, 365) }, {
    kind: 'revoke',
    grantId,
    scope: ['tty-1'],
    purposes: [],
    ranges: [],
    atMs: (T + 7260) * 1000,
    deleted: 250,
    kept: 0,
  });
  add('discovery-revocation-relationship', 'discovery-revocation', 'gateway', { audience: col, ...win(T + 9000, 365) }, { atMs: (T + 9000) * 1000 });

  return {
    source: 'generated by test/uzp/artefacts/publish-vectors.test.ts with UPDATE_VECTORS=1; see docs/PROFILE.md (outbound publishing artefacts)',
    description:
      'outbound-indexing artefacts in the common envelope: Discovery Grants signed by the gateway for the collector (OI draft §9.1, §10), receipts signed by the collector for the gateway (OI §11.5), discovery revocations signed by the gateway (OI §11.6), and the root-signed Pantheon Grant (subject gateway, audience collector, telemetry.publish on every slot). Identities from fixed Ed25519 seeds, CID = BLAKE3-256(public key); each body is the wire map "b" as JSON, byte strings as lowercase hex.',
    signature_context_prefix: 'uzp-gw/1 ',
    identities: Object.fromEntries(Object.entries(id).map(([k, i]) => [k, { seed: toHex(i.seed), public: toHex(i.publicKey), cid: toHex(i.cid) }])) as Vectors['identities'],
    vectors,
  };
}

if (process.env.UPDATE_VECTORS === '1') writeFileSync(FILE, JSON.stringify(generate(nodeProvider), null, 2) + '\n');

const file = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Vectors) : undefined;
const v = (): Vectors => {
  expect(file, 'run UPDATE_VECTORS=1 with test/uzp/artefacts/publish-vectors.test.ts once').toBeDefined();
  return file!;
};

/** Ed25519 with node:crypto straight from the seed (PKCS#8 = fixed prefix || seed, RFC 8410). */
function nodeEd25519(seedHex: string, message: Uint8Array): string {
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' });
  return nodeSign(null, message, key).toString('hex');
}

/** The body and envelope a second way: the documented layout, a hand CBOR writer, node:crypto. */
function rebuild(x: Vectors, vec: Vector): { body: string; input: string; envelope: string } {
  const f = vec.fields;
  const common: CborMap = { typ: vec.type, iss: fromHex(f.issuer), aud: fromHex(f.audience), iat: f.issued_at, nbf: f.not_before, exp: f.expires_at, epo: f.epoch, seq: f.sequence, b: fromJson(vec.body) };
  if (f.subject !== undefined) common.sub = fromHex(f.subject);
  const body = enc(raw(common));
  const ctx = new TextEncoder().encode(x.signature_context_prefix + vec.type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const input = Buffer.concat([Buffer.from([ctx.length >> 8, ctx.length & 0xff]), ctx, len, body]);
  const signer = x.identities[vec.signer];
  const sig = fromHex(nodeEd25519(signer.seed, input));
  const envelope = enc(raw({ body, sigs: [{ alg: 'ed25519', kid: fromHex(signer.cid), sig }] }));
  return { body: toHex(body), input: input.toString('hex'), envelope: toHex(envelope) };
}

describe('publish vectors (test/vectors/publish.json)', () => {
  for (const [name, p] of PROVIDERS) {
    it(`our code makes exactly the recorded file (${name} provider)`, () => {
      expect(generate(p)).toEqual(v());
    });
  }

  it('has every outbound type, and identities hand-checked with an independent BLAKE3', () => {
    const x = v();
    expect(new Set(x.vectors.map((y) => y.type))).toEqual(new Set(['grant', 'discovery-grant', 'receipt', 'discovery-revocation']));
    for (const [who, i] of Object.entries(x.identities)) {
      expect(toHex(identityFromSeed(nodeProvider, fromHex(i.seed)).publicKey), who).toBe(i.public);
      expect(toHex(blake3SingleBlock(fromHex(i.public))), who).toBe(i.cid);
    }
  });

  it('each vector decodes to its JSON and re-encodes byte for byte', () => {
    for (const vec of v().vectors) {
      const env = openArtefact(nodeProvider, fromHex(vec.envelope_hex), vec.type);
      expect(toHex(env.bodyBytes), vec.name).toBe(vec.body_hex);
      expect(toHex(env.objectId), vec.name).toBe(vec.object_id);
      const wire = codecFor(vec.type).encode(env.body as never);
      expect(toJson(wire), vec.name).toEqual(vec.body);
      expect(toHex(encodeCanonical(wire)), vec.name).toBe(toHex(encodeCanonical((decodeCanonical(env.bodyBytes) as CborMap).b!)));
    }
  });

  it('each body, signature input and envelope rebuilt from the documented layout (hand CBOR, node:crypto Ed25519)', () => {
    const x = v();
    for (const vec of x.vectors) {
      expect(rebuild(x, vec), vec.name).toEqual({ body: vec.body_hex, input: vec.signature_input_hex, envelope: vec.envelope_hex });
      expect(toHex(nodeProvider.blake3(fromHex(vec.body_hex))), vec.name).toBe(vec.object_id);
    }
  });

  it('each validates against the authenticated identities; receipts and revocations name the grant', () => {
    const x = v();
    const peer = (w: Who) => ({ cid: fromHex(x.identities[w].cid), publicKey: fromHex(x.identities[w].public) });
    const [gw, col] = [peer('gateway'), peer('collector')];
    const grantId = fromHex(x.vectors.find((y) => y.name === 'discovery-grant-two-slots')!.object_id);
    for (const vec of x.vectors) {
      const bytes = fromHex(vec.envelope_hex);
      const nowS = vec.fields.not_before + 60;
      if (vec.type === 'discovery-grant') {
        expect(validateDiscoveryGrant(nodeProvider, bytes, { publisher: gw, indexer: col.cid, nowS, skewS: 300 }).body.purposes.length, vec.name).toBeGreaterThan(0);
      } else if (vec.type === 'receipt') {
        expect(validateReceipt(nodeProvider, bytes, { indexer: col, publisher: gw.cid, grantId }).body.grantId, vec.name).toEqual(grantId);
      } else if (vec.type === 'discovery-revocation') {
        expect(() => validateDiscoveryRevocation(nodeProvider, bytes, { publisher: gw, indexer: col.cid }), vec.name).not.toThrow();
      } else {
        const ts = new TrustStore({ provider: nodeProvider, rootPublicKey: fromHex(x.identities.root.public), clock: () => nowS * 1000 });
        const g = ts.validateGrant(bytes, { audience: col.cid, subject: gw.cid });
        expect(g.body.scopes, vec.name).toEqual([{ slot: '*', purposes: [{ purpose: 'telemetry.publish' }] }]);
      }
    }
  });
});
