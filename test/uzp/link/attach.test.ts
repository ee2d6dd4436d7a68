import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../../src/uzp/crypto/node.js';
import type { Signer } from '../../../src/uzp/crypto/provider.js';
import { CryptoError, ErrorCode, ValidationError } from '../../../src/uzp/errors.js';
import type { Identity } from '../../../src/uzp/identity/identity.js';
import { AttachInitiator, AttachResponder, CONTROL_AD, KEEPALIVE_MAX_MS } from '../../../src/uzp/link/attach.js';
import { attachAttestationContext, attachPrk, controlKeys, handshakeKeys, transcript0, transcript1, transcript2 } from '../../../src/uzp/link/attach-keys.js';
import { FrameType } from '../../../src/uzp/link/constants.js';
import { encodeFrame } from '../../../src/uzp/link/frame.js';
import { encodeControl } from '../../../src/uzp/link/control.js';
import { ControlKind } from '../../../src/uzp/link/constants.js';
import { decodeHelloR } from '../../../src/uzp/link/messages.js';
import { TestDomain, type Member } from '../../helpers/domain.js';
import { LINK_VECTORS, attachInputs } from './attach-vector.js';
import { CodedError, CommonCode, StateError } from '../../../src/lib/errors.js';

const V = LINK_VECTORS.attach;

function objectId(pcert: Uint8Array): Uint8Array {
  return decodeEnvelope(p, pcert).objectId;
}

interface World {
  d: TestDomain;
  rn: Identity;
  ep: Member;
  epTrust: TrustStore;
  rnTrust: TrustStore;
}

function world(): World {
  const d = new TestDomain();
  const rn = d.member('rn').id;
  const ep = d.member('gateway');
  const epTrust = d.trust();
  epTrust.setRnSet(d.rnSet([{ id: rn, addresses: ['127.0.0.1:7000'] }]));
  return { d, rn, ep, epTrust, rnTrust: d.trust() };
}

// Fixed ephemerals keep the many-run tests fast; freshness is the drivers' business, not these tests'.
const EPH_EP = p.x25519Generate();
const EPH_RN = p.x25519Generate();

function parties(w: World, ep: Member = w.ep, rnSeed: Uint8Array = w.rn.seed, epSeed: Uint8Array = ep.id.seed, fixed = false) {
  const e1 = fixed ? { ephemeral: EPH_EP } : {};
  const e2 = fixed ? { ephemeral: EPH_RN } : {};
  const ini = new AttachInitiator({ trust: w.epTrust, signer: signerOf(epSeed), pcert: ep.pcert, pcertObjectId: objectId(ep.pcert), ...e1 });
  const res = new AttachResponder({ trust: w.rnTrust, signer: signerOf(rnSeed), maxFrame: 256 * 1024, keepaliveMs: 10_000, ...e2 });
  return { ini, res };
}

const signers = new Map<string, Signer>();
function signerOf(seed: Uint8Array): Signer {
  const k = toHex(seed);
  let s = signers.get(k);
  if (s === undefined) signers.set(k, (s = p.signer(seed)));
  return s;
}

/** Runs the exchange; `tamper` may change any message in flight. */
function run(w: World, opts: { ep?: Member; epSeed?: Uint8Array; rnSeed?: Uint8Array; tamper?: (msg: string, b: Uint8Array) => Uint8Array } = {}) {
  const { ini, res } = parties(w, opts.ep, opts.rnSeed, opts.epSeed);
  const t = opts.tamper ?? ((_m: string, b: Uint8Array) => b);
  const helloR = res.onHello(t('hello', ini.hello()));
  const auth = ini.onHelloR(t('hello_r', helloR));
  const { ok, result } = res.onAuth(t('auth', auth));
  const r = ini.onOk(t('ok', ok));
  return { ep: r, rn: result };
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CodedError);
    return (e as CodedError).code;
  }
  return 'no error';
}

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = b.slice();
  c[i % c.length]! ^= 0x01;
  return c;
}

describe('attachment vector (test/vectors/link.json)', () => {
  it('reproduces every intermediate value and message', () => {
    const I = V.inputs;
    const { h, trust, ephEp, ephRn } = attachInputs();
    expect(toHex(objectId(h('pcert')))).toBe(I.pcert_object_id);
    const ini = new AttachInitiator({ trust, signer: p.signer(h('ep_seed')), pcert: h('pcert'), pcertObjectId: h('pcert_object_id'), ephemeral: ephEp, nonce: h('nonce_ep'), rnRole: 'relay' });
    const res = new AttachResponder({ trust, signer: p.signer(h('rn_seed')), maxFrame: I.max_frame as number, keepaliveMs: I.keepalive_ms as number, ephemeral: ephRn, nonce: h('nonce_rn') });
    const O = V.outputs;
    const hello = ini.hello();
    expect(toHex(hello)).toBe(O.hello);
    const helloR = res.onHello(hello);
    expect(toHex(helloR)).toBe(O.hello_r);
    const auth = ini.onHelloR(helloR);
    expect(toHex(auth)).toBe(O.auth);
    const { ok, result } = res.onAuth(auth);
    expect(toHex(ok)).toBe(O.ok);
    const r = ini.onOk(ok);
    expect(r.maxFrame).toBe(I.max_frame);
    expect(r.keepaliveMs).toBe(I.keepalive_ms);
    // Intermediate values, recomputed from the pure key-schedule functions.
    const th0 = transcript0(p, hello, ephRn.publicKey, h('nonce_rn'));
    expect(toHex(th0)).toBe(O.th0);
    const ss = p.x25519(ephEp.privateKey, ephRn.publicKey);
    expect(toHex(ss)).toBe(O.shared_secret);
    const prk = attachPrk(p, th0, ss);
    expect(toHex(prk)).toBe(O.prk);
    const hs = handshakeKeys(p, prk, th0);
    expect([hs.rn.key, hs.rn.iv, hs.ep.key, hs.ep.iv].map(toHex)).toEqual([O.rn_hs_key, O.rn_hs_iv, O.ep_hs_key, O.ep_hs_iv]);
    const th1 = transcript1(p, th0, decodeHelloR(helloR).sealed);
    expect(toHex(th1)).toBe(O.th1);
    const th2 = transcript2(p, th1, auth);
    expect(toHex(th2)).toBe(O.th2);
    const ctl = controlKeys(p, prk, th2);
    expect([ctl.rn.key, ctl.rn.iv, ctl.ep.key, ctl.ep.iv].map(toHex)).toEqual([O.rn_ctl_key, O.rn_ctl_iv, O.ep_ctl_key, O.ep_ctl_iv]);
    expect(toHex(encodeFrame(FrameType.CONTROL, r.channel.send.seal(encodeControl({ kind: ControlKind.ACCEPT }), CONTROL_AD)))).toBe(O.ep_first_control_frame_accept);
    expect(toHex(encodeFrame(FrameType.CONTROL, result.channel.send.seal(encodeControl({ kind: ControlKind.PING, nonce: 7 }), CONTROL_AD)))).toBe(
      O.rn_first_control_frame_ping_7,
    );
    // Attachment-bound attestation values: the same on both ends, pinned by the vector.
    const att = attachAttestationContext(p, prk, th2);
    expect([toHex(att.nonce), toHex(att.binding)]).toEqual([O.attest_nonce, O.attest_binding]);
    expect([toHex(r.attestation.nonce), toHex(r.attestation.binding)]).toEqual([O.attest_nonce, O.attest_binding]);
    expect([toHex(result.attestation.nonce), toHex(result.attestation.binding)]).toEqual([O.attest_nonce, O.attest_binding]);
  });

  it('attest nonce and binding re-derive from the profile text with plain HKDF (RFC 5869)', () => {
    const O = V.outputs;
    const prk = fromHex(O.prk!);
    const th2 = fromHex(O.th2!);
    // HKDF-Expand-Label spelled out: u16 length || u8 len(label) || "uzp-gw/1 " + label || u8 len(th2) || th2.
    const info = (label: string, n: number) => {
      const l = new TextEncoder().encode('uzp-gw/1 ' + label);
      return Uint8Array.from([n >> 8, n & 0xff, l.length, ...l, th2.length, ...th2]);
    };
    expect(toHex(p.hkdfExpand(prk, info('attach attest nonce', 16), 16))).toBe(O.attest_nonce);
    expect(toHex(p.hkdfExpand(prk, info('attach attest binding', 32), 32))).toBe(O.attest_binding);
  });
});

describe('attachment state machines (in memory)', () => {
  it('both sides derive the same attestation nonce and binding, different on every attachment', () => {
    const w = world();
    const a = run(w);
    expect(toHex(a.ep.attestation.nonce)).toBe(toHex(a.rn.attestation.nonce));
    expect(toHex(a.ep.attestation.binding)).toBe(toHex(a.rn.attestation.binding));
    expect(a.ep.attestation.nonce).toHaveLength(16);
    expect(a.ep.attestation.binding).toHaveLength(32);
    const b = run(w);
    expect(toHex(b.ep.attestation.nonce)).not.toBe(toHex(a.ep.attestation.nonce));
    expect(toHex(b.ep.attestation.binding)).not.toBe(toHex(a.ep.attestation.binding));
  });

  it('attaches: both sides agree on identities and on the control channel in both directions', () => {
    const w = world();
    const { ep, rn } = run(w);
    expect(toHex(ep.rn.cid)).toBe(toHex(w.rn.cid));
    expect(toHex(ep.rnPublicKey)).toBe(toHex(w.rn.publicKey));
    expect(toHex(rn.pcert.body.publicKey)).toBe(toHex(w.ep.id.publicKey));
    expect(rn.pcert.body.role).toBe('gateway');
    for (let i = 0; i < 3; i++) {
      const a = ep.channel.send.seal(Uint8Array.of(i), CONTROL_AD);
      expect(rn.channel.recv.open(a, CONTROL_AD)).toEqual(Uint8Array.of(i));
      const b = rn.channel.send.seal(Uint8Array.of(10 + i), CONTROL_AD);
      expect(ep.channel.recv.open(b, CONTROL_AD)).toEqual(Uint8Array.of(10 + i));
    }
    // Counters are implicit: a replayed record no longer opens.
    const c = ep.channel.send.seal(Uint8Array.of(99), CONTROL_AD);
    expect(rn.channel.recv.open(c, CONTROL_AD)).not.toBeNull();
    expect(rn.channel.recv.open(c, CONTROL_AD)).toBeNull();
  });

  it('the EP refuses an RN that is not in the RN Set Statement (mutual authentication)', () => {
    const w = world();
    const stranger = w.d.member('rn').id;
    expect(codeOf(() => run(w, { rnSeed: stranger.seed }))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
  });

  it('the EP refuses an RN when no RN Set Statement is installed, or it has expired', () => {
    const w = world();
    w.epTrust = w.d.trust();
    expect(codeOf(() => run(w))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
    const w2 = world();
    w2.d.advance(2 * 86_400);
    expect(codeOf(() => run(w2))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
  });

  it('the EP refuses an RN whose CID is revoked', () => {
    const w = world();
    w.epTrust.setRevocation(w.d.revocation([w.rn.cid]));
    expect(codeOf(() => run(w))).toBe(ErrorCode.RNSET_NOT_ELIGIBLE);
  });

  it('the RN refuses a revoked PCert (by CID and by object id)', () => {
    const w = world();
    w.rnTrust.setRevocation(w.d.revocation([w.ep.id.cid]));
    expect(codeOf(() => run(w))).toBe(ErrorCode.REVOKED);
    const w2 = world();
    w2.rnTrust.setRevocation(w2.d.revocation([], [objectId(w2.ep.pcert)]));
    expect(codeOf(() => run(w2))).toBe(ErrorCode.REVOKED);
  });

  it('the RN refuses an expired PCert', () => {
    const w = world();
    const ep = { id: w.ep.id, pcert: w.d.pcert(w.ep.id, 'gateway', { validSeconds: 10 }) };
    w.d.advance(10 + 400); // past exp + the 300 s skew
    w.epTrust.setRnSet(w.d.rnSet([{ id: w.rn, addresses: ['127.0.0.1:7000'] }]));
    expect(codeOf(() => run(w, { ep }))).toBe(ErrorCode.ARTEFACT_EXPIRED);
  });

  it('the RN refuses a PCert issued by another root', () => {
    const w = world();
    const other = new TestDomain(p);
    const ep = { id: w.ep.id, pcert: other.pcert(w.ep.id, 'gateway') };
    const code = codeOf(() => run(w, { ep }));
    expect([ErrorCode.ARTEFACT_ISSUER, ErrorCode.SIG_UNKNOWN_SIGNER]).toContain(code);
  });

  it('the RN refuses a PCert of role rn', () => {
    const w = world();
    const rnAsEp = w.d.member('rn');
    expect(codeOf(() => run(w, { ep: rnAsEp }))).toBe(ErrorCode.PCERT_ROLE);
  });

  it('the RN refuses an EP that presents someone else’s PCert (cannot sign for its key)', () => {
    const w = world();
    const thief = w.d.member('gateway').id;
    const e = (() => {
      try {
        run(w, { epSeed: thief.seed });
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).code).toBe(ErrorCode.SIG_INVALID);
  });

  it('tampering with any byte of any message in flight is refused', () => {
    const w = world();
    for (const msg of ['hello', 'hello_r', 'auth', 'ok']) {
      fc.assert(
        fc.property(fc.nat(300), (i) => {
          const code = codeOf(() => run(w, { tamper: (m, b) => (m === msg ? flip(b, i) : b) }));
          expect(code, `${msg}[${i}]`).not.toBe('no error');
        }),
        { numRuns: 25 },
      );
    }
  });

  it('a tampered sealed part fails with CRYPTO_AEAD_OPEN on the receiving side', () => {
    const w = world();
    expect(codeOf(() => run(w, { tamper: (m, b) => (m === 'hello_r' ? flip(b, b.length - 1) : b) }))).toBe(ErrorCode.CRYPTO_AEAD_OPEN);
    expect(codeOf(() => run(w, { tamper: (m, b) => (m === 'auth' ? flip(b, 0) : b) }))).toBe(ErrorCode.CRYPTO_AEAD_OPEN);
    expect(codeOf(() => run(w, { tamper: (m, b) => (m === 'ok' ? flip(b, 3) : b) }))).toBe(ErrorCode.CRYPTO_AEAD_OPEN);
  });

  it('each machine consumes each message once, in order', () => {
    const w = world();
    const { ini, res } = parties(w);
    const hello = ini.hello();
    expect(() => ini.hello()).toThrow(StateError);
    expect(() => res.onAuth(new Uint8Array(100))).toThrow(StateError);
    const hr = res.onHello(hello);
    expect(() => res.onHello(hello)).toThrow(StateError);
    expect(() => ini.onOk(new Uint8Array(24))).toThrow(StateError);
    ini.onHelloR(hr);
    expect(() => ini.onHelloR(hr)).toThrow(StateError);
  });

  // The message decoders themselves get 10,000 junk inputs each in messages.test.ts; here junk goes
  // through the whole machine (AEAD, X25519, signatures), which costs ~1 ms per run with the node
  // provider, so fewer runs.
  it('1,000 junk HELLO / HELLO_R / AUTH inputs through the machines end only in typed errors', { timeout: 120_000 }, () => {
    const w = world();
    const valid = parties(w, w.ep, w.rn.seed, w.ep.id.seed, true);
    const hello = valid.ini.hello();
    const helloR = valid.res.onHello(hello);
    const mutate = (base: Uint8Array) =>
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, x]) => {
          const c = base.slice();
          c[i % c.length] = x;
          return c;
        }),
      );
    const typed = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CodedError);
        if (!(e instanceof StateError)) expect(['peer', 'policy']).toContain((e as CodedError).fault);
      }
    };
    fc.assert(
      fc.property(mutate(hello), mutate(helloR), fc.uint8Array({ minLength: 80, maxLength: 400 }), (h, hr, a) => {
        const { ini, res } = parties(w, w.ep, w.rn.seed, w.ep.id.seed, true);
        typed(() => res.onHello(h));
        ini.hello();
        typed(() => ini.onHelloR(hr));
        const r2 = parties(w, w.ep, w.rn.seed, w.ep.id.seed, true).res;
        r2.onHello(hello);
        typed(() => r2.onAuth(a));
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses an RN announcing absurd limits in OK', () => {
    const w = world();
    const ini = new AttachInitiator({ trust: w.epTrust, signer: signerOf(w.ep.id.seed), pcert: w.ep.pcert, pcertObjectId: objectId(w.ep.pcert) });
    const res = new AttachResponder({ trust: w.rnTrust, signer: signerOf(w.rn.seed), maxFrame: 100, keepaliveMs: 10_000 });
    const auth = ini.onHelloR(res.onHello(ini.hello()));
    expect(codeOf(() => ini.onOk(res.onAuth(auth).ok))).toBe(CommonCode.DECODE_VALUE);
    // keepalive_ms past an hour (2^32 - 1: past node's 2^31 - 1 a timer fires every millisecond, a PING flood).
    for (const keepaliveMs of [KEEPALIVE_MAX_MS + 1, 0xffff_ffff]) {
      const ini2 = new AttachInitiator({ trust: w.epTrust, signer: signerOf(w.ep.id.seed), pcert: w.ep.pcert, pcertObjectId: objectId(w.ep.pcert) });
      const res2 = new AttachResponder({ trust: w.rnTrust, signer: signerOf(w.rn.seed), maxFrame: 256 * 1024, keepaliveMs });
      const auth2 = ini2.onHelloR(res2.onHello(ini2.hello()));
      expect(codeOf(() => ini2.onOk(res2.onAuth(auth2).ok))).toBe(CommonCode.DECODE_VALUE);
    }
  });

  it('uses CryptoError for a low-order ephemeral share', () => {
    const w = world();
    const { res } = parties(w);
    const hello = new Uint8Array(65);
    hello[0] = 1; // version 1, eph_ep = all zero (a low-order point), nonce zero
    expect(() => res.onHello(hello)).toThrow(CryptoError);
  });
});
