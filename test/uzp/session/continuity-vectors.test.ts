// Continuity and PoR vectors (test/vectors/continuity.json, docs/PROFILE.md §Continuity (re-stitch)
// and §Proof-of-Reachability). Fixed inputs — the exporter's two session inputs `exp` and `binding`,
// both CIDs, the RN, the Grant and RN Set ids, times, generation, PoR nonces — and the exact bytes:
// the three exported values, RESUME, RESUMED, and a PoR challenge and response each way. Checks:
//   1. our code (a Session and a Failover on a fixed SessionKeys, the codecs) makes exactly those bytes;
//   2. the same bytes derived a second way from the profile text alone, with node:crypto;
//   3. the generator still makes the file (UPDATE_VECTORS=1 rewrites it), on both providers;
//   4. docs/PROFILE.md shows the same hex, and names every field of the file.

import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/lib/clock.js';
import type { Grant, PCert, Valid } from '../../../src/uzp/artefacts/types.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { RESUME_TOKEN_LIFETIME_MS } from '../../../src/uzp/continuity-initiator.js';
import { exportKeyingMaterial } from '../../../src/uzp/exporter.js';
import { sealSessionKeys, type SessionKeys } from '../../../src/uzp/handshake/keys.js';
import { SUITES } from '../../../src/uzp/handshake/suites.js';
import { Association } from '../../../src/uzp/session/association.js';
import { decodeResume, encodeResume, encodeResumed, encodeStandby, resumedValid, resumeMacValid } from '../../../src/uzp/session/continuity.js';
import { Failover } from '../../../src/uzp/session/failover.js';
import { DEFAULT_POR_INTERVAL_MS, DEFAULT_POR_TIMEOUT_MS } from '../../../src/uzp/session/liveness.js';
import { decodePor } from '../../../src/uzp/session/por.js';
import { Session } from '../../../src/uzp/session/session.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const FILE = new URL('../../vectors/continuity.json', import.meta.url);
const PROFILE_FILE = new URL('../../../docs/PROFILE.md', import.meta.url);
const PROVIDERS = [
  ['node', nodeProvider],
  ['noble', nobleProvider],
] as const;

/** n bytes counting up from `start` (00 01 02 ...), the fixed inputs. */
const run = (start: number, n = 32): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

const INPUTS = {
  exp: run(0x00),
  binding: run(0x20),
  cid_i: run(0xa0),
  cid_r: run(0xc0),
  rn_cid: run(0xe0),
  grant_id: new Uint8Array(32).fill(0x47),
  rn_set_id: new Uint8Array(32).fill(0x53),
  generation: 1,
  issued_ms: 1_795_262_400_000,
  por_issued_ms: 1_795_262_401_000,
  nonce_i: run(0x40, 16),
  nonce_r: run(0x50, 16),
};

interface Fields {
  [k: string]: string | number;
}
interface Vectors {
  source: string;
  description: string;
  inputs: { exp: string; binding: string; cid_i: string; cid_r: string };
  exporter: { tag: string; mac_key: string; por_key: string };
  resume: { fields: Fields; hex: string };
  standby: { fields: Fields; hex: string };
  resumed: { fields: Fields; hex: string };
  por: { name: string; challenger: 'initiator' | 'responder'; fields: Fields; por_challenge: string; por_response: string }[];
}

/** A SessionKeys holding the fixed exporter inputs; nothing else of it matters to continuity or PoR. */
function fixedKeys(role: 'initiator' | 'responder'): SessionKeys {
  const i = role === 'initiator';
  return sealSessionKeys({
    role,
    suite: SUITES[0]!,
    localCid: i ? INPUTS.cid_i : INPUTS.cid_r,
    peerCid: i ? INPUTS.cid_r : INPUTS.cid_i,
    localEid: new Uint8Array(32).fill(i ? 1 : 2),
    peerEid: new Uint8Array(32).fill(i ? 2 : 1),
    sendSecret: new Uint8Array(32).fill(i ? 3 : 4),
    recvSecret: new Uint8Array(32).fill(i ? 4 : 3),
    adContext: new Uint8Array(128),
    direction: i ? 0 : 1,
    exporterMaster: INPUTS.exp,
    exporterBinding: INPUTS.binding,
    responderParams: { maxBlockPlaintext: 32768, windowBlocks: 128 },
    peerPCert: {} as Valid<PCert>,
    grant: {} as Valid<Grant>,
    peerExtensions: [],
  });
}

/** The continuity half of one side, as a Session makes it, with its control messages captured. */
function side(p: CryptoProvider, role: 'initiator' | 'responder', nonce: Uint8Array) {
  const keys = fixedKeys(role);
  const sent: Uint8Array[] = [];
  const clock: Clock = Object.assign(new FakeClock(), { wall: () => INPUTS.por_issued_ms });
  const failover = new Failover(
    {
      provider: { ...p, randomBytes: (n: number) => (n === nonce.length ? nonce : p.randomBytes(n)) },
      clock,
      role,
      localCid: keys.localCid,
      peerCid: keys.peerCid,
      exporter: (label, context, length) => exportKeyingMaterial(p, keys, label, context, length),
      sendControl: (m) => sent.push(m),
      dead: () => {
        throw new Error('no PoR timeout in a vector run');
      },
      expired: () => {},
    },
    { windowMs: 30_000, por: { intervalMs: DEFAULT_POR_INTERVAL_MS, timeoutMs: DEFAULT_POR_TIMEOUT_MS }, skewMs: 300_000 },
  );
  return { keys, failover, sent };
}

/** The whole file, from the fixed inputs, through our code. */
function generate(p: CryptoProvider): Vectors {
  const i = side(p, 'initiator', INPUTS.nonce_i);
  const r = side(p, 'responder', INPUTS.nonce_r);
  const k = i.failover.continuity;
  const token = { tag: k.tag, generation: INPUTS.generation, issuedMs: INPUTS.issued_ms, expiresMs: INPUTS.issued_ms + RESUME_TOKEN_LIFETIME_MS, grantId: INPUTS.grant_id, rnSetId: INPUTS.rn_set_id, rnCid: INPUTS.rn_cid };
  const resume = encodeResume(p, k, token);
  const standby = encodeStandby(p, k, token);
  const resumed = encodeResumed(p, r.failover.continuity, INPUTS.generation, INPUTS.rn_cid);
  // Re-stitched through rn_cid at generation 1: each side sends its first PoR challenge at once.
  i.failover.stitched(INPUTS.rn_cid, INPUTS.generation);
  r.failover.stitched(INPUTS.rn_cid, INPUTS.generation);
  const [ci, cr] = [i.sent[0]!, r.sent[0]!];
  r.failover.onControl(ci);
  i.failover.onControl(cr);
  const [ri, rr] = [r.sent[1]!, i.sent[1]!];
  const por = (name: string, challenger: 'initiator' | 'responder', challenge: Uint8Array, response: Uint8Array) => {
    const c = decodePor(challenge).challenge;
    return {
      name,
      challenger,
      fields: { profile: c.profile, nonce: toHex(c.nonce), rn_cid: toHex(c.rnCid), generation: c.generation, issued_ms: c.issuedMs, expires_ms: c.expiresMs },
      por_challenge: toHex(challenge),
      por_response: toHex(response),
    };
  };
  return {
    source: 'generated by test/uzp/session/continuity-vectors.test.ts with UPDATE_VECTORS=1; see docs/PROFILE.md §Continuity (re-stitch), §Proof-of-Reachability',
    description:
      'exporter outputs for fixed exporter inputs (exp = exporter master secret, binding = SHA-256(cid_i || cid_r || u16 suite || EE) taken as given), the RESUME the initiator presents at RN rn_cid for generation 1 (and the STANDBY it would present there instead), the RESUMED the responder answers, and the first PoR challenge of each side after that re-stitch with the other side\'s response',
    inputs: { exp: toHex(INPUTS.exp), binding: toHex(INPUTS.binding), cid_i: toHex(INPUTS.cid_i), cid_r: toHex(INPUTS.cid_r) },
    exporter: { tag: toHex(k.tag), mac_key: toHex(k.macKey), por_key: toHex(exportKeyingMaterial(p, i.keys, 'uzp-gw por', new Uint8Array(0), 32)) },
    resume: {
      fields: { type: 4, version: 1, tag: toHex(token.tag), generation: token.generation, issued_ms: token.issuedMs, expires_ms: token.expiresMs, grant_id: toHex(token.grantId), rn_set_id: toHex(token.rnSetId), rn_cid: toHex(token.rnCid), mac: toHex(resume.subarray(134)) },
      hex: toHex(resume),
    },
    standby: {
      fields: { type: 6, version: 1, tag: toHex(token.tag), generation: token.generation, issued_ms: token.issuedMs, expires_ms: token.expiresMs, grant_id: toHex(token.grantId), rn_set_id: toHex(token.rnSetId), rn_cid: toHex(token.rnCid), mac: toHex(standby.subarray(134)) },
      hex: toHex(standby),
    },
    resumed: { fields: { type: 5, version: 1, tag: toHex(k.tag), generation: INPUTS.generation, rn_cid: toHex(INPUTS.rn_cid), mac: toHex(resumed.subarray(22)) }, hex: toHex(resumed) },
    por: [por('initiator challenges, responder answers', 'initiator', ci, ri), por('responder challenges, initiator answers', 'responder', cr, rr)],
  };
}

if (process.env.UPDATE_VECTORS === '1') writeFileSync(FILE, JSON.stringify(generate(nodeProvider), null, 2) + '\n');

const file = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Vectors) : undefined;
const v = (): Vectors => {
  expect(file, 'run UPDATE_VECTORS=1 with test/uzp/session/continuity-vectors.test.ts once').toBeDefined();
  return file!;
};

// ---- a second derivation, from docs/PROFILE.md alone (node:crypto HMAC; nothing from src/) ----

const B = (h: string): Buffer => Buffer.from(h, 'hex');
const hmac = (key: Buffer, ...data: Buffer[]): Buffer => createHmac('sha256', key).update(Buffer.concat(data)).digest();
const sha256 = (b: Buffer): Buffer => Buffer.from(nodeProvider.sha256(b));
const u32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const u64 = (n: number): Buffer => Buffer.concat([u32(Math.floor(n / 2 ** 32)), u32(n >>> 0)]);

/** Expand-Label(S, label, ctx, L) = HKDF-Expand(S, u16 L || u8 len || "uzp-gw/1 " + label || u8 len(ctx) || ctx, L). */
function expandLabel(secret: Buffer, label: string, ctx: Buffer, length: number): Buffer {
  const full = Buffer.from('uzp-gw/1 ' + label);
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([ctx.length]), ctx]);
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let n = 1; Buffer.concat(out).length < length; n++) out.push((t = hmac(secret, t, info, Buffer.from([n]))));
  return Buffer.concat(out).subarray(0, length);
}

/** output = Expand-Label(Expand-Label(exp, "exp " + label, binding, 32), "exporter", SHA-256(context), length). */
const exporter = (x: Vectors, label: string, context: string, length: number): Buffer =>
  expandLabel(expandLabel(B(x.inputs.exp), 'exp ' + label, B(x.inputs.binding), 32), 'exporter', sha256(Buffer.from(context)), length);

function deriveIndependently(x: Vectors): void {
  const { cid_i, cid_r } = x.inputs;
  expect(exporter(x, 'uzp-gw continuity', 'session tag', 16).toString('hex'), 'tag').toBe(x.exporter.tag);
  expect(exporter(x, 'uzp-gw continuity', 'resume mac', 32).toString('hex'), 'mac_key').toBe(x.exporter.mac_key);
  expect(exporter(x, 'uzp-gw por', '', 32).toString('hex'), 'por_key').toBe(x.exporter.por_key);
  const macKey = B(x.exporter.mac_key);
  const f = x.resume.fields;
  const body = Buffer.concat([Buffer.from([0x04, 0x01]), B(f.tag as string), u32(f.generation as number), u64(f.issued_ms as number), u64(f.expires_ms as number), B(f.grant_id as string), B(f.rn_set_id as string), B(f.rn_cid as string)]);
  const resume = Buffer.concat([body, hmac(macKey, Buffer.from('uzp resume v1'), B(cid_i), B(cid_r), body)]);
  expect(resume.toString('hex'), 'RESUME').toBe(x.resume.hex);
  const sf = x.standby.fields;
  const sbody = Buffer.concat([Buffer.from([0x06, 0x01]), B(sf.tag as string), u32(sf.generation as number), u64(sf.issued_ms as number), u64(sf.expires_ms as number), B(sf.grant_id as string), B(sf.rn_set_id as string), B(sf.rn_cid as string)]);
  const standby = Buffer.concat([sbody, hmac(macKey, Buffer.from('uzp standby v1'), B(cid_i), B(cid_r), sbody)]);
  expect(standby.toString('hex'), 'STANDBY').toBe(x.standby.hex);
  const g = x.resumed.fields;
  const rbody = Buffer.concat([Buffer.from([0x05, 0x01]), B(g.tag as string), u32(g.generation as number)]);
  const resumed = Buffer.concat([rbody, hmac(macKey, Buffer.from('uzp resumed v1'), B(cid_i), B(cid_r), B(g.rn_cid as string), rbody)]);
  expect(resumed.toString('hex'), 'RESUMED').toBe(x.resumed.hex);
  for (const c of x.por) {
    const h = c.fields;
    const rest = Buffer.concat([Buffer.from([h.profile as number]), B(h.nonce as string), B(h.rn_cid as string), u32(h.generation as number), u64(h.issued_ms as number), u64(h.expires_ms as number)]);
    expect(Buffer.concat([Buffer.from([0x01]), rest]).toString('hex'), `${c.name}: POR_CHALLENGE`).toBe(c.por_challenge);
    const [responder, challenger] = c.challenger === 'initiator' ? [cid_r, cid_i] : [cid_i, cid_r];
    const proof = hmac(B(x.exporter.por_key), Buffer.from('uzp por v1'), B(responder), B(challenger), B(x.exporter.tag), rest);
    expect(Buffer.concat([Buffer.from([0x02]), rest, proof]).toString('hex'), `${c.name}: POR_RESPONSE`).toBe(c.por_response);
  }
}

describe('continuity and PoR vectors (test/vectors/continuity.json)', () => {
  for (const [name, p] of PROVIDERS) {
    it(`our code makes exactly the recorded bytes (${name} provider)`, () => {
      const x = v();
      expect(generate(p)).toEqual(x);
      // a real Session on the same keys exports the same continuity keys
      for (const role of ['initiator', 'responder'] as const) {
        const a = new Association();
        a.to('pending');
        const s = new Session({ provider: p, keys: fixedKeys(role), association: a, clock: new FakeClock(), continuity: { windowMs: 30_000, por: false, skewMs: 0 } });
        const k = s.failover!.continuity;
        expect([toHex(k.tag), toHex(k.macKey), toHex(k.initiatorCid), toHex(k.responderCid)]).toEqual([x.exporter.tag, x.exporter.mac_key, x.inputs.cid_i, x.inputs.cid_r]);
      }
    });

    it(`the recorded bytes verify: RESUME MAC, RESUMED, and each PoR response accepted once by its challenger (${name} provider)`, () => {
      const x = v();
      const i = side(p, 'initiator', INPUTS.nonce_i);
      const r = side(p, 'responder', INPUTS.nonce_r);
      expect(resumeMacValid(p, r.failover.continuity, decodeResume(fromHex(x.resume.hex)))).toBe(true);
      expect(resumeMacValid(p, r.failover.continuity, decodeResume(fromHex(x.standby.hex)))).toBe(true);
      expect(resumedValid(p, i.failover.continuity, fromHex(x.resumed.hex), INPUTS.generation, INPUTS.rn_cid)).toBe(true);
      i.failover.stitched(INPUTS.rn_cid, INPUTS.generation);
      r.failover.stitched(INPUTS.rn_cid, INPUTS.generation);
      const [toI, toR] = x.por[0]!.challenger === 'initiator' ? [x.por[0]!, x.por[1]!] : [x.por[1]!, x.por[0]!];
      i.failover.onControl(fromHex(toI.por_response));
      i.failover.onControl(fromHex(toI.por_response));
      r.failover.onControl(fromHex(toR.por_response));
      expect([i.failover.liveness!.stats.accepted, i.failover.liveness!.stats.refused]).toEqual([1, 1]);
      expect(r.failover.liveness!.stats.accepted).toBe(1);
    });
  }

  it('derived a second way from the profile text (node:crypto, nothing from src/)', () => {
    deriveIndependently(v());
  });

  it('docs/PROFILE.md shows every recorded hex value', () => {
    const x = v();
    const doc = readFileSync(PROFILE_FILE, 'utf8').replace(/[\s`|]/g, '');
    const values = [...Object.values(x.inputs), ...Object.values(x.exporter), x.resume.hex, x.standby.hex, x.resumed.hex, ...x.por.flatMap((c) => [c.por_challenge, c.por_response])];
    for (const h of values) expect(doc.includes(h), h.slice(0, 24)).toBe(true);
  });

  it('every field of the file is a name docs/PROFILE.md defines (in code spans or blocks)', () => {
    const md = readFileSync(PROFILE_FILE, 'utf8');
    const names = new Set<string>();
    const words = (s: string): void => void s.match(/[A-Za-z_][A-Za-z0-9_]*/g)?.forEach((w) => names.add(w));
    for (const block of md.match(/```[\s\S]*?```/g) ?? []) words(block);
    for (const line of md.replace(/```[\s\S]*?```/g, '').split('\n')) for (const span of line.match(/`[^`]*`/g) ?? []) words(span);
    const keys = new Set<string>();
    const walk = (o: unknown): void => {
      if (Array.isArray(o)) o.forEach(walk);
      else if (o !== null && typeof o === 'object') for (const [k, y] of Object.entries(o)) {
        keys.add(k);
        walk(y);
      }
    };
    walk(v());
    // vector bookkeeping, as test/vectors/field-names.json "all" lists it
    const bookkeeping = new Set(['source', 'description', 'name', 'hex', 'fields']);
    expect([...keys].filter((k) => !bookkeeping.has(k) && !names.has(k))).toEqual([]);
  });
});
