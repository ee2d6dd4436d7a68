// The 1-RTT attachment's pure parts (docs/PROFILE.md §1-RTT attachment): the Ed25519 -> X25519 key
// conversion, the vector, both state machines with every refusal, the decoders under junk, the RN's
// strike register and the EP's HELLO made ahead. End to end with a real RN: test/rn/rn-attach-1rtt.test.ts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttachStrikes } from '../../../src/rn/attach-strikes.js';
import { decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { concat, fromHex, toHex } from '../../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed, x25519PublicFromEd25519 } from '../../../src/uzp/crypto/ed-to-x25519.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider as p } from '../../../src/uzp/crypto/node.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { Attach1Initiator, acceptHello1, openConfirm } from '../../../src/uzp/link/attach-1rtt.js';
import { attachAttestationContext, controlKeys } from '../../../src/uzp/link/attach-keys.js';
import { earlyKey, helloKey, linkPrk, staticPrk, transcript0v2, transcript1v2, transcript2v2 } from '../../../src/uzp/link/attach1-keys.js';
import { CONTROL_AD } from '../../../src/uzp/link/attach.js';
import { ATTACH1_MADE_AHEAD_MAX_AGE_MS, ControlKind, FrameType } from '../../../src/uzp/link/constants.js';
import { encodeControl } from '../../../src/uzp/link/control.js';
import { encodeFrame } from '../../../src/uzp/link/frame.js';
import { HELLO1_CLEAR_LENGTH, decodeHello1, decodeHelloR1, helloVersion } from '../../../src/uzp/link/messages-1rtt.js';
import { putMadeAhead, takeMadeAhead } from '../../../src/uzp/link/rn-keys.js';
import { CodedError, DecodeError } from '../../../src/lib/errors.js';
import { TestDomain, type Member } from '../../helpers/domain.js';
import { LINK_VECTORS, attachInputs } from './attach-vector.js';
import { codeOf } from '../../helpers/errors.js';

const LINK = LINK_VECTORS;

const NOW = 1_800_000_000_000;

function world(provider: CryptoProvider = p) {
  const d = new TestDomain(provider);
  const rn = d.member('rn').id;
  const ep = d.member('gateway');
  const epTrust = d.trust();
  epTrust.setRnSet(d.rnSet([{ id: rn, addresses: ['127.0.0.1:7000'] }]));
  return { d, rn, ep, epTrust, rnTrust: d.trust() };
}

type World = ReturnType<typeof world>;

function initiator(w: World, ep: Member = w.ep, rnPublicKey = w.rn.publicKey, signer = ep.id.signer): Attach1Initiator {
  return new Attach1Initiator({ trust: w.epTrust, signer, pcert: ep.pcert, pcertObjectId: decodeEnvelope(w.epTrust.provider, ep.pcert).objectId, rnPublicKey, nowMs: () => NOW });
}

function responderOpts(w: World, rnSeed = w.rn.seed) {
  const rp = w.rnTrust.provider;
  return { trust: w.rnTrust, signer: rp.signer(rnSeed), staticPrivate: x25519PrivateFromEd25519Seed(rp, rnSeed), maxFrame: 256 * 1024, keepaliveMs: 10_000 };
}

describe('an Ed25519 identity key as an X25519 key (ed-to-x25519.ts)', () => {
  for (const provider of [p, nobleProvider]) {
    it(`${provider.name}: X25519(SHA-512(seed)[0..32], base) is the birational map of the Ed25519 public key, for any seed`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
          const edPublic = provider.ed25519PublicKey(seed);
          expect(toHex(provider.x25519PublicKey(x25519PrivateFromEd25519Seed(provider, seed)))).toBe(toHex(x25519PublicFromEd25519(edPublic)));
        }),
        { numRuns: 40 },
      );
    });
  }

  it('refuses what has no X25519 counterpart: wrong length, y = 1 (the identity), y not reduced', () => {
    expect(codeOf(() => x25519PublicFromEd25519(new Uint8Array(31)))).toBe(ErrorCode.CRYPTO_BAD_KEY);
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(codeOf(() => x25519PublicFromEd25519(one))).toBe(ErrorCode.CRYPTO_BAD_KEY);
    const big = new Uint8Array(32).fill(0xff);
    big[31] = 0x7f; // y = 2^255 - 1 >= p
    expect(codeOf(() => x25519PublicFromEd25519(big))).toBe(ErrorCode.CRYPTO_BAD_KEY);
  });
});

describe('1-RTT attachment vector (test/vectors/link.json attach1)', () => {
  it('reproduces every intermediate value and message from the attach vector inputs', () => {
    const I = LINK.attach.inputs;
    const O = LINK.attach1.outputs;
    const { h, trust, ephEp, ephRn } = attachInputs();
    const rnSigner = p.signer(h('rn_seed'));
    const timeEp = LINK.attach1.inputs.time_ep_ms;
    const ini = new Attach1Initiator({
      trust,
      signer: p.signer(h('ep_seed')),
      pcert: h('pcert'),
      pcertObjectId: h('pcert_object_id'),
      rnPublicKey: rnSigner.publicKey,
      nowMs: () => timeEp,
      ephemeral: ephEp,
      nonce: h('nonce_ep'),
      rnRole: 'relay',
    });
    const hello = ini.hello();
    expect(toHex(hello)).toBe(O.hello);
    expect(toHex(encodeFrame(FrameType.CONTROL, ini.afterAuth()!.send.seal(encodeControl({ kind: ControlKind.ACCEPT }), CONTROL_AD)))).toBe(O.ep_first_early_control_frame_accept);
    const staticPrivate = x25519PrivateFromEd25519Seed(p, h('rn_seed'));
    expect(toHex(staticPrivate)).toBe(O.rn_x25519_private);
    const r = acceptHello1({ trust, signer: rnSigner, staticPrivate, maxFrame: I.max_frame as number, keepaliveMs: I.keepalive_ms as number, ephemeral: ephRn, nonce: h('nonce_rn') }, hello);
    expect(toHex(r.helloR)).toBe(O.hello_r);
    expect(toHex(r.pcert.objectId)).toBe(I.pcert_object_id);
    const { confirm, result } = ini.onHelloR(r.helloR);
    expect(toHex(confirm)).toBe(O.auth_confirm);
    expect(openConfirm(r.confirmRecv, confirm)).toBe(true);
    expect(result.maxFrame).toBe(I.max_frame);
    // Intermediate values from the pure key-schedule functions.
    const rnX = x25519PublicFromEd25519(rnSigner.publicKey);
    expect(toHex(rnX)).toBe(O.rn_x25519_public);
    const th0 = transcript0v2(p, hello.subarray(0, HELLO1_CLEAR_LENGTH), rnSigner.publicKey);
    expect(toHex(th0)).toBe(O.th0);
    const ssS = p.x25519(ephEp.privateKey, rnX);
    expect(toHex(ssS)).toBe(O.shared_secret_static);
    expect(toHex(p.x25519(staticPrivate, ephEp.publicKey))).toBe(O.shared_secret_static);
    const prkS = staticPrk(p, th0, ssS);
    expect(toHex(prkS)).toBe(O.prk_s);
    const hk = helloKey(p, prkS, th0);
    expect([toHex(hk.key), toHex(hk.iv)]).toEqual([O.ep_hs_key, O.ep_hs_iv]);
    const th1 = transcript1v2(p, th0, decodeHello1(hello).sealed);
    expect(toHex(th1)).toBe(O.th1);
    const ek = earlyKey(p, prkS, th1);
    expect([toHex(ek.key), toHex(ek.iv)]).toEqual([O.ep_early_key, O.ep_early_iv]);
    const th2 = transcript2v2(p, th1, ephRn.publicKey, h('nonce_rn'));
    expect(toHex(th2)).toBe(O.th2);
    const ssE = p.x25519(ephEp.privateKey, ephRn.publicKey);
    expect(toHex(ssE)).toBe(O.shared_secret_ephemeral);
    const prk = linkPrk(p, th2, ssE, ssS);
    expect(toHex(prk)).toBe(O.prk);
    const ctl = controlKeys(p, prk, th2);
    expect([ctl.rn.key, ctl.rn.iv, ctl.ep.key, ctl.ep.iv].map(toHex)).toEqual([O.rn_ctl_key, O.rn_ctl_iv, O.ep_ctl_key, O.ep_ctl_iv]);
    expect(toHex(encodeFrame(FrameType.CONTROL, result.channel.send.seal(encodeControl({ kind: ControlKind.PING, nonce: 9 }), CONTROL_AD)))).toBe(O.ep_first_control_frame_ping_9);
    expect(toHex(encodeFrame(FrameType.CONTROL, r.channel.send.seal(encodeControl({ kind: ControlKind.PING, nonce: 7 }), CONTROL_AD)))).toBe(O.rn_first_control_frame_ping_7);
    const att = attachAttestationContext(p, prk, th2);
    expect([toHex(att.nonce), toHex(att.binding)]).toEqual([O.attest_nonce, O.attest_binding]);
    expect([toHex(result.attestation.nonce), toHex(r.attestation.nonce)]).toEqual([O.attest_nonce, O.attest_nonce]);
  });

  it('the vector\'s labels and transcript re-derive from the profile text with plain SHA-256 and HKDF', () => {
    const O = LINK.attach1.outputs;
    const hello = fromHex(O.hello!);
    const rnPublic = p.ed25519PublicKey(fromHex(LINK.attach.inputs.rn_seed as string));
    const th0 = p.sha256(concat(new TextEncoder().encode('uzp-gw/1 attach1'), hello.subarray(0, 73), rnPublic));
    expect(toHex(th0)).toBe(O.th0);
    const info = (label: string, ctx: Uint8Array, n: number) => {
      const l = new TextEncoder().encode('uzp-gw/1 ' + label);
      return Uint8Array.from([n >> 8, n & 0xff, l.length, ...l, ctx.length, ...ctx]);
    };
    const hs = p.hkdfExpand(fromHex(O.prk_s!), info('attach1 ep hs', th0, 32), 32);
    expect(toHex(p.hkdfExpand(hs, info('key', new Uint8Array(0), 32), 32))).toBe(O.ep_hs_key);
    expect(toHex(p.hkdfExpand(fromHex(O.prk!), info('attach attest nonce', fromHex(O.th2!), 16), 16))).toBe(O.attest_nonce);
  });
});

describe('1-RTT attachment state machines (in memory)', () => {
  it('attaches across providers: EP on @noble, RN on node:crypto; early, confirmed and RN channels all open', () => {
    const w = world();
    const ep = w.ep;
    const noble = new TrustStore({ provider: nobleProvider, rootPublicKey: w.d.root.publicKey, clock: w.d.clock });
    noble.setRnSet(w.d.rnSet([{ id: w.rn, addresses: ['127.0.0.1:7000'] }]));
    const ini = new Attach1Initiator({ trust: noble, signer: nobleProvider.signer(ep.id.seed), pcert: ep.pcert, pcertObjectId: decodeEnvelope(p, ep.pcert).objectId, rnPublicKey: w.rn.publicKey, nowMs: () => NOW });
    const hello = ini.hello();
    const early = ini.afterAuth()!;
    expect(toHex(early.rnCid)).toBe(toHex(w.rn.cid));
    const join = early.send.seal(Uint8Array.of(1, 2), CONTROL_AD);
    const r = acceptHello1(responderOpts(w), hello);
    expect(r.channel.recv.open(join, CONTROL_AD)).toEqual(Uint8Array.of(1, 2));
    expect(toHex(r.pcert.body.publicKey)).toBe(toHex(ep.id.publicKey));
    const { confirm, result } = ini.onHelloR(r.helloR);
    expect(ini.afterAuth()).toBeUndefined();
    expect(openConfirm(r.confirmRecv, confirm)).toBe(true);
    const a = result.channel.send.seal(Uint8Array.of(3), CONTROL_AD);
    expect(r.confirmRecv.open(a, CONTROL_AD)).toEqual(Uint8Array.of(3));
    const b = r.channel.send.seal(Uint8Array.of(4), CONTROL_AD);
    expect(result.channel.recv.open(b, CONTROL_AD)).toEqual(Uint8Array.of(4));
    expect(toHex(result.attestation.binding)).toBe(toHex(r.attestation.binding));
  });

  it('every attachment has its own keys and attestation values (fresh ephemerals and nonces)', () => {
    const w = world();
    const one = acceptHello1(responderOpts(w), initiator(w).hello());
    const two = acceptHello1(responderOpts(w), initiator(w).hello());
    expect(toHex(one.attestation.nonce)).not.toBe(toHex(two.attestation.nonce));
    expect(toHex(one.helloR)).not.toBe(toHex(two.helloR));
  });

  it('refusals, each with its code: another RN\'s key, an RN not in the RN Set, a PCert of role rn, a stolen PCert, a revoked one', () => {
    const w = world();
    const other = w.d.member('rn').id;
    // Sealed to rn, received by another RN: nothing opens.
    expect(codeOf(() => acceptHello1(responderOpts(w, other.seed), initiator(w).hello()))).toBe(ErrorCode.CRYPTO_AEAD_OPEN);
    // The EP will not seal to a key its RN Set does not list.
    expect(codeOf(() => initiator(w, w.ep, other.publicKey))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    expect(codeOf(() => acceptHello1(responderOpts(w), initiator(w, w.d.member('rn')).hello()))).toBe(ErrorCode.PCERT_ROLE);
    const thief = w.d.member('gateway').id;
    expect(codeOf(() => acceptHello1(responderOpts(w), initiator(w, w.ep, w.rn.publicKey, thief.signer).hello()))).toBe(ErrorCode.SIG_INVALID);
    w.rnTrust.setRevocation(w.d.revocation([w.ep.id.cid]));
    expect(codeOf(() => acceptHello1(responderOpts(w), initiator(w).hello()))).toBe(ErrorCode.REVOKED);
  });

  it('any byte changed in HELLO, HELLO_R or the confirmation is refused', () => {
    const w = world();
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom('hello', 'hello_r', 'confirm'), (i, which) => {
        const ini = initiator(w);
        let hello = ini.hello();
        if (which === 'hello') {
          hello = hello.slice();
          const at = 1 + (i % (hello.length - 1)); // the version byte picks the decoder: any other byte
          hello[at]! ^= 0x01;
          expect(() => acceptHello1(responderOpts(w), hello)).toThrow(CodedError);
          return;
        }
        const r = acceptHello1(responderOpts(w), hello);
        if (which === 'hello_r') {
          const bad = r.helloR.slice();
          bad[i % bad.length]! ^= 0x01;
          expect(() => ini.onHelloR(bad)).toThrow(CodedError);
          return;
        }
        const { confirm } = ini.onHelloR(r.helloR);
        const bad = confirm.slice();
        bad[i % bad.length]! ^= 0x01;
        expect(openConfirm(r.confirmRecv, bad)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it('out of order: hello() twice, HELLO_R before HELLO, twice', () => {
    const w = world();
    const ini = initiator(w);
    const r = acceptHello1(responderOpts(w), initiator(w).hello());
    expect(codeOf(() => ini.onHelloR(r.helloR))).toBe(ErrorCode.HANDSHAKE_UNEXPECTED);
    const ini2 = initiator(w);
    const hello = ini2.hello();
    expect(codeOf(() => ini2.hello())).toBe(ErrorCode.HANDSHAKE_UNEXPECTED);
    ini2.onHelloR(acceptHello1(responderOpts(w), hello).helloR);
    expect(codeOf(() => ini2.onHelloR(r.helloR))).toBe(ErrorCode.HANDSHAKE_UNEXPECTED);
  });
});

describe('1-RTT decoders under junk', () => {
  it('10,000 junk and mutated inputs throw only DecodeError', () => {
    const w = world();
    const hello = initiator(w).hello();
    const helloR = acceptHello1(responderOpts(w), hello).helloR;
    const decoders = [decodeHello1, decodeHelloR1, helloVersion];
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(hello, helloR).chain((b) => fc.tuple(fc.nat(b.length), fc.nat(b.length), fc.integer({ min: 0, max: 255 })).map(([cut, at, v]) => {
        const c = b.slice(0, Math.max(cut, 1));
        c[at % c.length] = v;
        return c;
      }))), (junk) => {
        for (const decode of decoders) {
          try {
            decode(junk);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
      { numRuns: 10_000 },
    );
    expect(codeOf(() => helloVersion(new Uint8Array(0)))).not.toBe('no error');
    expect(codeOf(() => decodeHello1(Uint8Array.of(1, ...hello.subarray(1))))).toBe('DECODE_VALUE');
  });
});

describe('the RN\'s strike register (attach-strikes.ts)', () => {
  function strikes(start: number, max?: number) {
    let now = start;
    const s = new AttachStrikes({ nowMs: () => now, pastMs: 30_000, futureMs: 5_000, ...(max !== undefined ? { max } : {}) });
    return { s, at: (t: number) => (now = t) };
  }
  const nonce = (n: number) => Uint8Array.of(n, ...new Uint8Array(31));

  it('takes a nonce once inside the window; a replay is refused until it leaves the window, then the window refuses it', () => {
    const { s, at } = strikes(NOW);
    at(NOW + 10_000);
    expect(s.take(nonce(1), NOW + 9_000)).toBeUndefined();
    expect(s.take(nonce(1), NOW + 9_000)).toBe('replay');
    at(NOW + 9_000 + 30_000);
    expect(s.take(nonce(1), NOW + 9_000)).toBe('replay');
    at(NOW + 9_000 + 30_001);
    expect(s.take(nonce(1), NOW + 9_000)).toBe('window');
    expect(s.take(nonce(2), NOW + 39_000)).toBeUndefined();
    expect(s.size).toBe(1); // nonce 1 forgotten once out of the window
  });

  it('the window: up to 30 s behind the RN\'s clock, up to 5 s ahead', () => {
    const { s, at } = strikes(NOW);
    at(NOW + 60_000);
    expect(s.check(NOW + 60_000 - 30_000)).toBeUndefined();
    expect(s.check(NOW + 60_000 - 30_001)).toBe('window');
    expect(s.check(NOW + 60_000 + 5_000)).toBeUndefined();
    expect(s.check(NOW + 60_000 + 5_001)).toBe('window');
  });

  it('after a start nothing made before start + 5 s is taken: an earlier run may have taken it', () => {
    const { s, at } = strikes(NOW);
    expect(s.check(NOW + 1_000)).toBe('restart');
    expect(s.check(NOW + 5_000)).toBe('restart');
    at(NOW + 6_000);
    expect(s.check(NOW + 5_001)).toBeUndefined();
    expect(s.check(NOW - 1)).toBe('restart');
  });

  it('full: refuses new nonces (never a second use), takes again once entries expire', () => {
    const { s, at } = strikes(NOW, 2);
    at(NOW + 10_000);
    expect(s.take(nonce(1), NOW + 6_000)).toBeUndefined();
    expect(s.take(nonce(2), NOW + 6_000)).toBeUndefined();
    expect(s.take(nonce(3), NOW + 10_000)).toBe('full');
    expect(s.take(nonce(1), NOW + 6_000)).toBe('replay');
    at(NOW + 36_001);
    expect(s.take(nonce(3), NOW + 10_000)).toBeUndefined();
  });
});

describe('a HELLO made ahead (rn-keys.ts)', () => {
  it('is taken once, only by its identity, only while young and its RN still eligible', () => {
    const w = world();
    const address = `made-ahead-test:${Math.random()}`;
    const made = initiator(w);
    putMadeAhead(address, 'me', made);
    expect(takeMadeAhead(address, 'someone else', NOW)).toBeUndefined();
    putMadeAhead(address, 'me', made);
    expect(takeMadeAhead(address, 'me', NOW + 1)).toBe(made);
    expect(takeMadeAhead(address, 'me', NOW + 1)).toBeUndefined();
    putMadeAhead(address, 'me', made);
    expect(takeMadeAhead(address, 'me', NOW + ATTACH1_MADE_AHEAD_MAX_AGE_MS + 1)).toBeUndefined();
    putMadeAhead(address, 'me', made);
    w.epTrust.setRevocation(w.d.revocation([w.rn.cid]));
    expect(takeMadeAhead(address, 'me', NOW + 1)).toBeUndefined();
  });
});
