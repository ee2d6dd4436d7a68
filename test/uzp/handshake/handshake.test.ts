// In-memory handshake tests (no sockets): both roles driven directly, the "RN" is this test.

import { describe, expect, it } from 'vitest';
import { decodeEnvelope } from '../../../src/uzp/artefacts/envelope.js';
import { concat, equal } from '../../../src/uzp/bytes.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { CTX_EID_BINDING } from '../../../src/uzp/handshake/common.js';
import { encodeClientHelloBody } from '../../../src/uzp/handshake/messages.js';
import { signatureInput } from '../../../src/uzp/signing.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { exportKeyingMaterial } from '../../../src/uzp/exporter.js';
import { startInitiator } from '../../../src/uzp/handshake/initiator.js';
import { EXT_ATTESTATION } from '../../../src/uzp/handshake/messages.js';
import { respond } from '../../../src/uzp/handshake/responder.js';
import { SUITE_AESGCM, SUITE_CHACHA, SUITE_HYBRID } from '../../../src/uzp/handshake/suites.js';
import { TestDomain, type Member } from '../../helpers/domain.js';
import { CodedError } from '../../../src/lib/errors.js';

const PARAMS = { maxBlockPlaintext: 32 * 1024, windowBlocks: 256 };

function setup(provider = nodeProvider) {
  const d = new TestDomain(provider);
  const op = d.member('operator');
  const gw = d.member('gateway');
  return { d, op, gw, opTrust: d.trust(), gwTrust: d.trust() };
}

function ident(m: Member) {
  return { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert };
}

function run(
  s: ReturnType<typeof setup>,
  o: { grant?: Uint8Array; suitesI?: number[]; suitesR?: number[]; tamper?: (stage: 'ch1' | 'sh' | 'fin', b: Uint8Array) => Uint8Array } = {},
) {
  const grant = o.grant ?? s.d.grant(s.op.id.cid, s.gw.id.cid);
  const t = o.tamper ?? ((_s, b) => b);
  const init = startInitiator({ trust: s.opTrust, identity: ident(s.op), target: s.gw.id.cid, grant, suites: o.suitesI, extensions: [{ type: EXT_ATTESTATION, data: new Uint8Array([1, 2, 3]) }] });
  const reply = respond({ trust: s.gwTrust, identity: ident(s.gw), params: PARAMS, suites: o.suitesR }, { initiator: s.op.id.cid, grant, ch1: t('ch1', init.ch1) });
  const fin = init.next.receive(t('sh', reply.flight));
  const rkeys = reply.next.receive(t('fin', fin.finished));
  return { ikeys: fin.keys, rkeys, reply };
}

function flipOne(b: Uint8Array, i: number): Uint8Array {
  const c = b.slice();
  c[i % c.length]! ^= 0x01;
  return c;
}

describe('E2E handshake (draft §5.2)', () => {
  for (const [name, suite] of [
    ['chacha20-poly1305', SUITE_CHACHA],
    ['aes-256-gcm', SUITE_AESGCM],
    ['hybrid x25519+ml-kem-768', SUITE_HYBRID],
  ] as const) {
    it(`completes with ${name} and both sides derive mirrored keys`, () => {
      const s = setup();
      const { ikeys, rkeys, reply } = run(s, { suitesI: [suite] });
      expect(ikeys.suite.id).toBe(suite);
      expect(rkeys.suite.id).toBe(suite);
      expect(equal(ikeys.sendSecret, rkeys.recvSecret)).toBe(true);
      expect(equal(ikeys.recvSecret, rkeys.sendSecret)).toBe(true);
      expect(equal(ikeys.sendSecret, ikeys.recvSecret)).toBe(false);
      expect(equal(ikeys.adContext, rkeys.adContext)).toBe(true);
      expect(equal(ikeys.peerCid, s.gw.id.cid)).toBe(true);
      expect(equal(rkeys.peerCid, s.op.id.cid)).toBe(true);
      expect(reply.initiatorExtensions).toEqual([{ type: EXT_ATTESTATION, data: new Uint8Array([1, 2, 3]) }]);
      expect(rkeys.grant.body.nonce).toBe(ikeys.grant.body.nonce);
    });
  }

  it('runs on the pure-JS provider too, and the two providers interoperate', () => {
    const d = new TestDomain(nobleProvider);
    const op = d.member('operator');
    const gw = d.member('gateway');
    // Initiator on the pure-JS provider, responder on node:crypto: identical bytes make them interoperate.
    const gwTrust = new TrustStore({ provider: nodeProvider, rootPublicKey: d.root.publicKey, clock: d.clock });
    const s = { d, op, gw, opTrust: d.trust(), gwTrust };
    const { ikeys, rkeys } = run(s, { suitesI: [SUITE_HYBRID] });
    expect(equal(ikeys.sendSecret, rkeys.recvSecret)).toBe(true);
  });

  it('the responder picks its own preference among offered suites', () => {
    const s = setup();
    const { ikeys } = run(s, { suitesI: [SUITE_CHACHA, SUITE_AESGCM], suitesR: [SUITE_AESGCM, SUITE_CHACHA] });
    expect(ikeys.suite.id).toBe(SUITE_AESGCM);
  });

  it('defaults: classical ChaCha20 unless the initiator offers the hybrid, which the responder then prefers', () => {
    const s = setup();
    expect(run(s).ikeys.suite.id).toBe(SUITE_CHACHA);
    expect(run(s, { suitesI: [SUITE_CHACHA, SUITE_HYBRID] }).ikeys.suite.id).toBe(SUITE_HYBRID);
  });

  it('no common suite is refused as incompatible', () => {
    const s = setup();
    expect(() => run(s, { suitesI: [SUITE_CHACHA], suitesR: [SUITE_HYBRID] })).toThrow(expect.objectContaining({ code: 'HANDSHAKE_NO_SUITE' }));
  });

  it('exporters agree across both sides and separate sessions, labels and contexts (draft §8)', () => {
    const s = setup();
    const a = run(s);
    const b = run(s);
    const p = s.d.provider;
    const ctx = new Uint8Array([7]);
    const ai = exportKeyingMaterial(p, a.ikeys, 'uzpif-zpit-key', ctx, 32);
    expect(equal(ai, exportKeyingMaterial(p, a.rkeys, 'uzpif-zpit-key', ctx, 32))).toBe(true);
    expect(equal(ai, exportKeyingMaterial(p, b.ikeys, 'uzpif-zpit-key', ctx, 32))).toBe(false);
    expect(equal(ai, exportKeyingMaterial(p, a.ikeys, 'other-label', ctx, 32))).toBe(false);
    expect(equal(ai, exportKeyingMaterial(p, a.ikeys, 'uzpif-zpit-key', new Uint8Array([8]), 32))).toBe(false);
  });

  it('refuses a Grant for another audience, expired or revoked at the responder; an older nonce is no refusal (1-RTT)', () => {
    const s = setup();
    const other = s.d.member('gateway');
    const codes: string[] = [];
    const attempt = (grant: Uint8Array, responderTrust = s.gwTrust) => {
      try {
        const init = startInitiatorUnchecked(s, grant);
        respond({ trust: responderTrust, identity: ident(s.gw), params: PARAMS }, { initiator: s.op.id.cid, grant, ch1: init });
        codes.push('accepted');
      } catch (e) {
        codes.push((e as CodedError).code);
      }
    };
    attempt(s.d.grant(s.op.id.cid, other.id.cid));
    const shortLived = s.d.grant(s.op.id.cid, s.gw.id.cid, { validSeconds: 10 });
    s.d.advance(10 + 301);
    attempt(shortLived);
    const fresh = s.d.grant(s.op.id.cid, s.gw.id.cid, { nonce: 100 });
    attempt(fresh);
    attempt(s.d.grant(s.op.id.cid, s.gw.id.cid, { nonce: 99 }));
    const revoked = s.d.grant(s.op.id.cid, s.gw.id.cid, { nonce: 101 });
    const rt = s.d.trust();
    rt.setRevocation(s.d.revocation([], [rt.validateGrant(revoked, { audience: s.gw.id.cid, nonce: 'ignore' }).objectId]));
    attempt(revoked, rt);
    // A Grant issued before the newest is still usable: nonces are ordered for early data only (draft §9).
    expect(codes).toEqual(['GRANT_AUDIENCE', 'ARTEFACT_EXPIRED', 'accepted', 'accepted', 'REVOKED']);
  });

  it('refuses a Grant the RN forwarded that differs from the one bound in CH1', () => {
    const s = setup();
    const g1 = s.d.grant(s.op.id.cid, s.gw.id.cid);
    const g2 = s.d.grant(s.op.id.cid, s.gw.id.cid);
    const init = startInitiator({ trust: s.opTrust, identity: ident(s.op), target: s.gw.id.cid, grant: g1 });
    expect(() => respond({ trust: s.gwTrust, identity: ident(s.gw), params: PARAMS }, { initiator: s.op.id.cid, grant: g2, ch1: init.ch1 })).toThrow(
      expect.objectContaining({ code: 'GRANT_SCOPE' }),
    );
  });

  it('refuses when the RN claims a different initiator CID than the CH1 PCert', () => {
    const s = setup();
    const mallory = s.d.member('operator');
    const grant = s.d.grant(mallory.id.cid, s.gw.id.cid);
    const init = startInitiator({ trust: s.opTrust, identity: ident(s.op), target: s.gw.id.cid, grant: s.d.grant(s.op.id.cid, s.gw.id.cid) });
    expect(() => respond({ trust: s.gwTrust, identity: ident(s.gw), params: PARAMS }, { initiator: mallory.id.cid, grant, ch1: init.ch1 })).toThrow(CodedError);
  });

  it('a substitute responder is refused: CERT_R must be the target CID (an RN cannot redirect)', () => {
    const s = setup();
    const impostor = s.d.member('gateway');
    const grant = s.d.grant(s.op.id.cid, s.gw.id.cid);
    const init = startInitiator({ trust: s.opTrust, identity: ident(s.op), target: s.gw.id.cid, grant });
    // A malicious responder that claims the target CID but can only sign with its own key and PCert.
    const claimed = { cid: s.gw.id.cid, signer: impostor.id.signer, pcert: impostor.pcert };
    const reply = respond({ trust: s.d.trust(), identity: claimed, params: PARAMS }, { initiator: s.op.id.cid, grant, ch1: init.ch1 });
    expect(() => init.next.receive(reply.flight)).toThrow(expect.objectContaining({ code: 'PCERT_KEY_MISMATCH' }));
  });

  it('a byte flipped anywhere in any flight makes the handshake fail with a typed error', () => {
    const s = setup();
    const base = run(s);
    expect(base.ikeys).toBeDefined();
    let failures = 0;
    for (const stage of ['ch1', 'sh', 'fin'] as const) {
      for (let i = 0; i < 40; i++) {
        const pos = i * 37 + 3;
        try {
          run(s, { tamper: (st, b) => (st === stage ? flipOne(b, pos) : b) });
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
          failures++;
        }
      }
    }
    expect(failures).toBe(120);
  });

  it('each state consumes exactly one message', () => {
    const s = setup();
    const grant = s.d.grant(s.op.id.cid, s.gw.id.cid);
    const init = startInitiator({ trust: s.opTrust, identity: ident(s.op), target: s.gw.id.cid, grant });
    const reply = respond({ trust: s.gwTrust, identity: ident(s.gw), params: PARAMS }, { initiator: s.op.id.cid, grant, ch1: init.ch1 });
    const fin = init.next.receive(reply.flight);
    expect(() => init.next.receive(reply.flight)).toThrow(CodedError);
    reply.next.receive(fin.finished);
    expect(() => reply.next.receive(fin.finished)).toThrow(CodedError);
  });
});

/** A CH1 built without the initiator's own Grant sanity check: models a misbehaving initiator. */
function startInitiatorUnchecked(s: ReturnType<typeof setup>, grant: Uint8Array): Uint8Array {
  const p = s.d.provider;
  const body = encodeClientHelloBody({
    random: p.randomBytes(32),
    suites: [SUITE_CHACHA],
    x25519: p.x25519Generate().publicKey,
    mlkem: new Uint8Array(0),
    target: s.gw.id.cid,
    grantId: decodeEnvelope(p, grant).objectId,
    pcert: s.op.pcert,
    extensions: [],
  });
  return concat(body, s.op.id.signer.sign(signatureInput(CTX_EID_BINDING, body)));
}
