// Whole-handshake vectors (test/vectors/handshake.json). Each names every random input: identity
// seeds, both ephemeral X25519 private keys, the ML-KEM seed d||z and encapsulation m, both hello
// randoms; an implementer needs nothing else (no generator) to reproduce every byte. Three checks:
//   1. the named values alone, fed to our handshake, give CH1, SH flight, Finished, secrets, exporter;
//   2. the same values, derived a second way from docs/PROFILE.md (vector-derive.ts);
//   3. the generator (test/vectors/README.md) still draws exactly those values, on both providers.
// `UPDATE_VECTORS=1` rewrites the file (only when the profile changes on purpose).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { concat, fromHex, toHex } from '../../../src/uzp/bytes.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { announcedParams } from '../../../src/uzp/endpoint.js';
import { exportKeyingMaterial } from '../../../src/uzp/exporter.js';
import { startInitiator } from '../../../src/uzp/handshake/initiator.js';
import type { TransportParams } from '../../../src/uzp/handshake/keys.js';
import { decodeServerHello } from '../../../src/uzp/handshake/messages.js';
import { handshakeAd, handshakeSecrets, openHandshake } from '../../../src/uzp/handshake/schedule.js';
import { respond } from '../../../src/uzp/handshake/responder.js';
import { DEFAULT_RESPONDER_PREFERENCE, SUITES } from '../../../src/uzp/handshake/suites.js';
import { identityFromSeed, type Identity } from '../../../src/uzp/identity/identity.js';
import { deterministicProvider } from '../../helpers/deterministic.js';
import { TestDomain } from '../../helpers/domain.js';
import { deriveIndependently, type HandshakeVector } from './vector-derive.js';

const FILE = new URL('../../vectors/handshake.json', import.meta.url);
const PROVIDERS = [
  ['node', nodeProvider],
  ['noble', nobleProvider],
] as const;

interface Case {
  readonly name: string;
  readonly seed: string;
  readonly offer: readonly number[];
  readonly preference: readonly number[];
}

const CASES: readonly Case[] = [
  { name: 'suite 0x0001', seed: 'uzp-gw handshake vector 1', offer: [1], preference: DEFAULT_RESPONDER_PREFERENCE },
  { name: 'suite 0x0002', seed: 'uzp-gw handshake vector 2', offer: [2], preference: DEFAULT_RESPONDER_PREFERENCE },
  { name: 'suite 0x0003 (hybrid)', seed: 'uzp-gw handshake vector 3', offer: [3], preference: DEFAULT_RESPONDER_PREFERENCE },
  // The EID corner an implementer asked about: the initiator's EID covers the ML-KEM key it
  // offered, the responder's covers no ciphertext because it chose a classical suite.
  { name: 'hybrid offered, classical chosen', seed: 'uzp-gw handshake vector 4', offer: [3, 1], preference: [1, 2] },
];

/** What a live responder announces in EE with the default limits (a gateway: no override). */
const EE: TransportParams = announcedParams();

interface Run {
  ch1: Uint8Array;
  flight: Uint8Array;
  finished: Uint8Array;
  keys: ReturnType<ReturnType<typeof respond>['next']['receive']>;
  initiatorKeys: ReturnType<ReturnType<typeof startInitiator>['next']['receive']>['keys'];
}

/** One handshake between `op` and `gw` on provider `p` (its randomness decides the ephemerals). */
function run(p: CryptoProvider, root: Identity, clock: () => number, op: { id: Identity; pcert: Uint8Array }, gw: { id: Identity; pcert: Uint8Array }, grant: Uint8Array, c: Case): Run {
  const trust = () => new TrustStore({ provider: p, rootPublicKey: root.publicKey, clock });
  const init = startInitiator({ trust: trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, target: gw.id.cid, grant, suites: c.offer });
  const reply = respond({ trust: trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, suites: c.preference, params: EE }, { initiator: op.id.cid, grant, ch1: init.ch1 });
  const fin = init.next.receive(reply.flight);
  return { ch1: init.ch1, flight: reply.flight, finished: fin.finished, keys: reply.next.receive(fin.finished), initiatorKeys: fin.keys };
}

/** The generator of README "handshake.json": the deterministic stream, with each draw the handshake makes recorded by name. */
function generate(base: CryptoProvider, c: Case): HandshakeVector {
  const dp = deterministicProvider(base, c.seed);
  const x25519: Uint8Array[] = [];
  const randoms: Uint8Array[] = [];
  let kemSeed: Uint8Array | undefined;
  let kemM: Uint8Array | undefined;
  const p: CryptoProvider = {
    ...dp,
    randomBytes: (n) => {
      const b = dp.randomBytes(n);
      randoms.push(b);
      return b;
    },
    x25519Generate: () => {
      const k = dp.x25519Generate();
      x25519.push(k.privateKey);
      return k;
    },
    mlkem768Generate: () => base.mlkem768Generate((kemSeed = dp.randomBytes(64))),
    mlkem768Encapsulate: (ek) => base.mlkem768Encapsulate(ek, (kemM = dp.randomBytes(32))),
  };
  const d = new TestDomain(p);
  const op = d.member('operator');
  const gw = d.member('gateway');
  const grant = d.grant(op.id.cid, gw.id.cid, { purposes: [{ purpose: 'modbus.read', units: [1], registers: [[0, 9]] }], slot: 'rs485-1' });
  const r = run(p, d.root, d.clock, op, gw, grant, c);
  const k = r.keys;
  const suite = SUITES.find((s) => s.id === k.suite.id)!;
  return {
    name: c.name,
    suite: suite.name,
    suite_id: suite.id,
    initiator_offer: [...c.offer],
    responder_preference: [...c.preference],
    random_seed: c.seed,
    time_ms: d.clock(),
    root_seed: toHex(d.root.seed),
    initiator_seed: toHex(op.id.seed),
    responder_seed: toHex(gw.id.seed),
    initiator_pcert: toHex(op.pcert),
    responder_pcert: toHex(gw.pcert),
    grant: toHex(grant),
    initiator_x25519_private: toHex(x25519[0]!),
    ...(kemSeed === undefined ? {} : { initiator_mlkem_seed: toHex(kemSeed) }),
    initiator_random: toHex(randoms.at(-2)!),
    responder_x25519_private: toHex(x25519[1]!),
    ...(kemM === undefined ? {} : { responder_mlkem_m: toHex(kemM) }),
    responder_random: toHex(randoms.at(-1)!),
    ee_max_block_plaintext: EE.maxBlockPlaintext,
    ee_window_blocks: EE.windowBlocks,
    ch1: toHex(r.ch1),
    sh_flight: toHex(r.flight),
    finished: toHex(r.finished),
    eid_i: toHex(k.peerEid),
    eid_r: toHex(k.localEid),
    ...intermediates(base, r, x25519, kemSeed, kemM),
    i_ap_traffic: toHex(k.recvSecret),
    r_ap_traffic: toHex(k.sendSecret),
    exporter_uzpif_zpit_key_ctx_empty_32: toHex(exportKeyingMaterial(p, k, 'uzpif-zpit-key', new Uint8Array(0), 32)),
  };
}

/** A provider that hands out exactly the vector's named values, in the order the handshake asks. */
function scripted(base: CryptoProvider, v: HandshakeVector): CryptoProvider {
  const x25519 = [v.initiator_x25519_private, v.responder_x25519_private].map(fromHex);
  const randoms = [v.initiator_random, v.responder_random].map(fromHex);
  return {
    ...base,
    randomBytes: (n) => {
      const b = randoms.shift();
      if (b?.length !== n) throw new Error(`unexpected draw of ${n} random bytes`);
      return b;
    },
    x25519Generate: () => {
      const privateKey = x25519.shift()!;
      return { privateKey, publicKey: base.x25519PublicKey(privateKey) };
    },
    mlkem768Generate: () => base.mlkem768Generate(fromHex(v.initiator_mlkem_seed!)),
    mlkem768Encapsulate: (ek) => base.mlkem768Encapsulate(ek, fromHex(v.responder_mlkem_m!)),
  };
}

/** The shared secret and both transcript hashes, which the handshake API does not expose. */
function intermediates(p: CryptoProvider, r: Run, x25519: Uint8Array[], kemSeed?: Uint8Array, kemM?: Uint8Array): Pick<HandshakeVector, 'shared_secret' | 'th_sh' | 'th_app'> {
  const x = p.x25519(x25519[0]!, p.x25519PublicKey(x25519[1]!));
  const kem = kemM === undefined ? undefined : p.mlkem768Encapsulate(p.mlkem768Generate(kemSeed).publicKey, kemM).sharedSecret;
  const shared = kem === undefined ? x : concat(kem, x);
  const { hello, header } = decodeServerHello(r.flight);
  const thSh = p.sha256(concat(r.ch1, header));
  const inner = openHandshake(p, r.keys.suite.aead, handshakeSecrets(p, shared, thSh).responder, handshakeAd(thSh, 1), hello.sealed)!;
  return { shared_secret: toHex(shared), th_sh: toHex(thSh), th_app: toHex(p.sha256(concat(r.ch1, header, inner))) };
}

if (process.env.UPDATE_VECTORS === '1') {
  const vectors = CASES.map((c) => generate(nodeProvider, c));
  writeFileSync(FILE, JSON.stringify({ source: 'generated by test/uzp/handshake/vectors.test.ts with UPDATE_VECTORS=1; see docs/PROFILE.md §End-to-end handshake and test/vectors/README.md', vectors }, null, 2) + '\n');
}

const file = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as { vectors: HandshakeVector[] }) : undefined;

describe('handshake vectors (test/vectors/handshake.json)', () => {
  it('the vector file exists and has one vector per case', () => {
    expect(file, 'run UPDATE_VECTORS=1 with test/uzp/handshake/vectors.test.ts once').toBeDefined();
    expect(file!.vectors.map((v) => v.name)).toEqual(CASES.map((c) => c.name));
  });

  it('EE announces what a live responder announces: 65,536-byte blocks, a window of 64 (docs/PROFILE.md §Bounds)', () => {
    expect(EE).toEqual({ maxBlockPlaintext: 65536, windowBlocks: 64 });
    for (const v of file!.vectors) expect([v.ee_max_block_plaintext, v.ee_window_blocks]).toEqual([65536, 64]);
  });

  for (const [i, c] of CASES.entries()) {
    for (const [name, p] of PROVIDERS) {
      it(`${c.name}: the named values alone reproduce every byte (${name} provider)`, () => {
        const v = file!.vectors[i]!;
        const sp = scripted(p, v);
        const member = (seed: string, pcert: string) => ({ id: identityFromSeed(sp, fromHex(seed)), pcert: fromHex(pcert) });
        const r = run(sp, identityFromSeed(sp, fromHex(v.root_seed)), () => v.time_ms, member(v.initiator_seed, v.initiator_pcert), member(v.responder_seed, v.responder_pcert), fromHex(v.grant), c);
        expect(toHex(r.ch1)).toBe(v.ch1);
        expect(toHex(r.flight)).toBe(v.sh_flight);
        expect(toHex(r.finished)).toBe(v.finished);
        expect([toHex(r.keys.peerEid), toHex(r.keys.localEid)]).toEqual([v.eid_i, v.eid_r]);
        expect([toHex(r.initiatorKeys.localEid), toHex(r.initiatorKeys.peerEid)]).toEqual([v.eid_i, v.eid_r]);
        expect([toHex(r.keys.recvSecret), toHex(r.keys.sendSecret)]).toEqual([v.i_ap_traffic, v.r_ap_traffic]);
      });

      it(`${c.name}: derived a second way from the profile text (${name} primitives)`, () => {
        deriveIndependently(p, file!.vectors[i]!);
      });

      it(`${c.name}: the generator still draws exactly the named values (${name} provider)`, () => {
        expect(generate(p, c)).toEqual(file!.vectors[i]);
      });

      it(`${c.name}: the generator is the one test/vectors/README.md describes (${name} provider)`, () => {
        // draw i = BLAKE3-XOF(UTF-8(random_seed) || u32be(i), n), i = 0, 1, ... in the README's order
        const v = file!.vectors[i]!;
        let n = 0;
        const draw = (len: number): string => toHex(p.blake3(concat(new TextEncoder().encode(v.random_seed), Uint8Array.of(0, 0, 0, n++)), len));
        const got: Record<string, string> = {};
        for (const f of ['root_seed', 'initiator_seed', 'responder_seed', 'initiator_x25519_private']) got[f] = draw(32);
        if (v.initiator_mlkem_seed !== undefined) got.initiator_mlkem_seed = draw(64);
        got.initiator_random = draw(32);
        got.responder_x25519_private = draw(32);
        if (v.responder_mlkem_m !== undefined) got.responder_mlkem_m = draw(32);
        got.responder_random = draw(32);
        for (const [f, x] of Object.entries(got)) expect(x, f).toBe(v[f as keyof HandshakeVector]);
      });
    }
  }
});
