// `requireAttestation` (uzpgw rn --require-attestation) with the RN in-process and real EPs on
// 127.0.0.1: a gateway link is offered stitches only after a CONTROL ATTEST whose evidence is
// signed by the attached identity and bound to this attachment (nonce + binding from the attach
// key schedule). The RN never appraises the claims and never sees session plaintext.

import { afterEach, describe, expect, it } from 'vitest';
import type { RnLog } from '../../src/rn/log.js';
import { RendezvousNode, type RendezvousNodeOptions } from '../../src/rn/server.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { toHex } from '../../src/uzp/bytes.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { ControlKind, JoinRefusedCode } from '../../src/uzp/link/constants.js';
import { LinkManager } from '../../src/uzp/link/link-manager.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import type { Session } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { errorOf } from '../helpers/errors.js';
import { testEvidence } from '../helpers/evidence.js';
import { once, until } from '../uzp/link/wait.js';
import { RawClient } from './raw-client.js';

interface Line {
  level: string;
  obj: Record<string, unknown>;
}

interface Env {
  d: TestDomain;
  rn: RendezvousNode;
  rnId: Identity;
  address: string;
  lines: Line[];
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function recordingLog(lines: Line[]): RnLog {
  const rec = (level: string) => (obj: object) => void lines.push({ level, obj: obj as Record<string, unknown> });
  return { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

async function startRn(opts: Partial<RendezvousNodeOptions> = {}): Promise<Env> {
  const d = new TestDomain();
  const rnId = d.member('rn').id;
  const lines: Line[] = [];
  const rn = new RendezvousNode({ trust: d.trust(), seed: rnId.seed, log: recordingLog(lines), ...opts });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  return { d, rn, rnId, address, lines };
}

function epTrust(env: Env): TrustStore {
  const t = env.d.trust();
  t.setRnSet(env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]));
  return t;
}

async function attach(env: Env, m: Member): Promise<RnLink> {
  const link = await RnLink.attach({ address: env.address, trust: epTrust(env), identity: { seed: m.id.seed, pcert: m.pcert } });
  cleanups.push(() => link.close());
  return link;
}

/** Evidence by `signer` for `link`'s attachment (or any nonce / binding given). */
function evidence(env: Env, signer: Member, ctx: { nonce: Uint8Array; binding: Uint8Array }, iat = env.d.now): Uint8Array {
  return testEvidence(env.d.provider, signer.id.signer, { nonce: ctx.nonce, binding: ctx.binding, iat });
}

function event(env: Env, name: string): Line[] {
  return env.lines.filter((l) => l.obj.event === name);
}

async function waitFor(env: Env, name: string, n = 1): Promise<Line> {
  await until(() => event(env, name).length >= n, name);
  return event(env, name)[n - 1]!;
}

async function joinCode(env: Env, op: RnLink, opM: Member, gw: Member): Promise<string> {
  return (await errorOf(op.join(gw.id.cid, env.d.grant(opM.id.cid, gw.id.cid), new Uint8Array(0)))).code;
}

/** A real E2E session operator -> gateway through the RN (the gateway's link already set up). */
async function session(env: Env, gwLink: RnLink, gw: Member, opLink: RnLink, op: Member): Promise<{ initiator: Session; responder: Session }> {
  const gwTrust = epTrust(env);
  const gwEp = new Endpoint({ trust: gwTrust, identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link: gwLink });
  const accepted = once<Session>((cb) => gwEp.once('session', cb));
  gwEp.accept();
  const opEp = new Endpoint({ trust: epTrust(env), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link: opLink });
  // ACCEPT (gateway link) and JOIN (operator link) race to the RN on two connections: try again
  // while the RN has not seen the ACCEPT yet.
  let initiator: Session;
  for (;;) {
    try {
      initiator = await opEp.connect(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid));
      break;
    } catch (e) {
      if ((e as { code?: string }).code !== 'PEER_NOT_ATTACHED') throw e;
    }
  }
  const responder = await accepted;
  cleanups.push(() => initiator.close());
  return { initiator, responder };
}

async function roundTrip(s: { initiator: Session; responder: Session }): Promise<void> {
  const got = new Promise<Uint8Array>((resolve) => s.responder.once('channel', (ch) => ch.once('message', resolve)));
  await s.initiator.openChannel().send(Uint8Array.of(1, 2, 3));
  expect(await got).toEqual(Uint8Array.of(1, 2, 3));
}

describe('RN requireAttestation: a gateway is reachable only after attesting its attachment', () => {
  it('without ATTEST the gateway is not reachable: JOIN refused with NOT_ATTESTED (code 4), no OFFER', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    let offers = 0;
    gwLink.on('offer', () => offers++);
    gwLink.accept();
    await waitFor(env, 'accept_pending');
    expect(await joinCode(env, opLink, op, gw)).toBe(ErrorCode.PEER_NOT_ATTESTED);
    const refused = event(env, 'join_refused');
    expect(refused.at(-1)!.obj).toMatchObject({ code: JoinRefusedCode.NOT_ATTESTED, reason: 'not attested' });
    expect(offers).toBe(0);
    expect(env.rn.stats.stitches).toBe(0);
    // The RN-side connection carries the attachment's context, equal to what the EP derived.
    const conn = [...env.rn.connections].find((c) => c.state === 'attached' && toHex(c.cid) === toHex(gw.id.cid))!;
    expect(toHex(conn.attestationContext!.nonce)).toBe(toHex(gwLink.attestationContext.nonce));
    expect(toHex(conn.attestationContext!.binding)).toBe(toHex(gwLink.attestationContext.binding));
    expect(conn.attested).toBe(false);
  });

  it('with valid evidence sent after ACCEPT the held ACCEPT activates and a session comes up', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op); // operators never attest
    gwLink.accept();
    await waitFor(env, 'accept_pending');
    expect(await joinCode(env, opLink, op, gw)).toBe(ErrorCode.PEER_NOT_ATTESTED);
    gwLink.attest(evidence(env, gw, gwLink.attestationContext));
    const ok = await waitFor(env, 'attested');
    expect(ok.level).toBe('info');
    expect(ok.obj).toMatchObject({ cid: toHex(gw.id.cid), key_origin: 'software' });
    const s = await session(env, gwLink, gw, opLink, op);
    await roundTrip(s);
    expect(env.rn.stats.attested).toBe(1);
  });

  it('valid evidence sent before ACCEPT: the ACCEPT takes effect at once', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.attest(evidence(env, gw, gwLink.attestationContext));
    await waitFor(env, 'attested');
    // Once attested, further ATTESTs (even junk) are ignored: the link stays reachable.
    gwLink.attest(Uint8Array.of(0));
    expect((await waitFor(env, 'attest_ignored')).obj.why).toBe('already attested on this attachment');
    const s = await session(env, gwLink, gw, opLink, op);
    await roundTrip(s);
    expect(event(env, 'accept_pending')).toHaveLength(0);
    expect(env.rn.stats.attestRefused).toBe(0);
  });

  it('evidence from another attachment (replayed) is refused; the link stays up, unreachable, and may still attest', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const first = await attach(env, gw);
    const old = evidence(env, gw, first.attestationContext);
    first.close();
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    expect(toHex(gwLink.attestationContext.nonce)).not.toBe(toHex(first.attestationContext.nonce));
    gwLink.accept();
    gwLink.attest(old);
    const bad = await waitFor(env, 'attest_refused');
    expect(bad.level).toBe('warn');
    expect(bad.obj).toMatchObject({ reason: 'nonce', cid: toHex(gw.id.cid) });
    // Right nonce, binding of the old attachment: refused too.
    gwLink.attest(testEvidence(env.d.provider, gw.id.signer, { nonce: gwLink.attestationContext.nonce, binding: first.attestationContext.binding, iat: env.d.now }));
    expect((await waitFor(env, 'attest_refused', 2)).obj.reason).toBe('binding');
    expect(await joinCode(env, opLink, op, gw)).toBe(ErrorCode.PEER_NOT_ATTESTED);
    expect(gwLink.attached).toBe(true);
    expect(env.rn.stats.links).toBe(2);
    expect(env.rn.stats.closed.protocol).toBe(0);
    // The link was not closed: evidence for this attachment still makes it reachable.
    gwLink.attest(evidence(env, gw, gwLink.attestationContext));
    await waitFor(env, 'attested');
    await roundTrip(await session(env, gwLink, gw, opLink, op));
  });

  it('evidence signed by another identity (even with the nonce and binding of this attachment) is refused', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const other = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.accept();
    gwLink.attest(evidence(env, other, gwLink.attestationContext));
    expect((await waitFor(env, 'attest_refused')).obj.reason).toBe('issuer');
    // Claiming the gateway's ueid while signing with another key does not even decode.
    const ctx = gwLink.attestationContext;
    gwLink.attest(testEvidence(env.d.provider, other.id.signer, { nonce: ctx.nonce, binding: ctx.binding, iat: env.d.now, ueidCid: gw.id.cid }));
    expect((await waitFor(env, 'attest_refused', 2)).obj.reason).toBe('decode');
    expect(await joinCode(env, opLink, op, gw)).toBe(ErrorCode.PEER_NOT_ATTESTED);
    expect(env.rn.stats.attestRefused).toBe(2);
    expect(env.rn.stats.attested).toBe(0);
  });

  it('expired evidence and junk evidence are refused and logged; the RN does not crash', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.accept();
    gwLink.attest(evidence(env, gw, gwLink.attestationContext, env.d.now - 601)); // exp = iat + 300, skew 300
    expect((await waitFor(env, 'attest_refused')).obj.reason).toBe('expired');
    gwLink.attest(Uint8Array.of(1, 2, 3));
    expect((await waitFor(env, 'attest_refused', 2)).obj.reason).toBe('decode');
    gwLink.attest(new Uint8Array(0));
    expect((await waitFor(env, 'attest_refused', 3)).obj.reason).toBe('decode');
    expect(await joinCode(env, opLink, op, gw)).toBe(ErrorCode.PEER_NOT_ATTESTED);
    expect(gwLink.attached).toBe(true);
  });

  it('an ATTEST whose CONTROL body does not decode closes the link, as any malformed CONTROL does', async () => {
    const env = await startRn({ requireAttestation: true });
    const c = await RawClient.attach(env.address, epTrust(env), env.d.member('gateway'));
    cleanups.push(() => c.close());
    // kind ATTEST with a vec32 length far beyond the 64 KiB bound: refused from the header.
    c.sendControlBytes(Uint8Array.of(ControlKind.ATTEST, 0x7f, 0xff, 0xff, 0xff));
    await c.whenClosed();
    expect(env.rn.stats.closed.protocol).toBe(1);
  });

  it('operators are never required to attest: an operator without ATTEST joins an attested gateway; its own ACCEPT is refused by role, never held', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    const offered = once<Offer>((cb) => gwLink.once('offer', cb));
    gwLink.accept();
    gwLink.attest(evidence(env, gw, gwLink.attestationContext));
    await waitFor(env, 'attested');
    await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    expect((await offered).initiator).toEqual(op.id.cid);
    // Only gateways take the responder role (docs/PROFILE.md §CONTROL): an operator's ACCEPT closes its link.
    const closed = once<unknown>((cb) => opLink.once('close', cb));
    opLink.accept();
    await closed;
    expect((await waitFor(env, 'link_error')).obj).toMatchObject({ code: ErrorCode.PCERT_ROLE });
    expect(event(env, 'accept_pending')).toHaveLength(1); // the gateway's, until it attested; never the operator's
  });
});

describe('RN without requireAttestation: nothing changes', () => {
  it('an unattested gateway is reachable; an ATTEST (even junk) is ignored and logged at debug', async () => {
    const env = await startRn();
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.attest(Uint8Array.of(0xde, 0xad));
    gwLink.attest(evidence(env, gw, gwLink.attestationContext));
    await until(() => event(env, 'attest_ignored').length === 2);
    expect(event(env, 'attest_ignored').every((l) => l.level === 'debug')).toBe(true);
    expect(env.rn.stats.attested + env.rn.stats.attestRefused).toBe(0);
    await roundTrip(await session(env, gwLink, gw, opLink, op));
  });
});

describe('LinkManager attest option', () => {
  it('sends evidence for every new attachment; with requireAttestation the gateway becomes reachable after each reattachment', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const asked: { nonce: string; binding: string }[] = [];
    const m = new LinkManager({
      trust: epTrust(env),
      identity: { seed: gw.id.seed, pcert: gw.pcert },
      accept: true,
      backoffBaseMs: 5,
      backoffCapMs: 20,
      attest: async (nonce, binding) => {
        asked.push({ nonce: toHex(nonce), binding: toHex(binding) });
        return evidence(env, gw, { nonce, binding });
      },
    });
    cleanups.push(() => m.stop());
    let offers = 0;
    m.on('offer', (o) => {
      offers++;
      o.reject();
    });
    m.start();
    await waitFor(env, 'attested');
    const opLink = await attach(env, op);
    const s1 = await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    await until(() => offers === 1);
    s1.close();
    expect(asked[0]!.nonce).toBe(toHex(m.link!.attestationContext.nonce));
    // The RN drops the gateway's link: the manager reattaches and attests the new attachment.
    const first = m.link!;
    [...env.rn.connections].find((c) => c.state === 'attached' && toHex(c.cid) === toHex(gw.id.cid))!.close('normal');
    await until(() => m.link !== null && m.link !== first && event(env, 'attested').length === 2);
    expect(asked).toHaveLength(2);
    expect(asked[1]!.nonce).not.toBe(asked[0]!.nonce);
    expect(asked[1]!.binding).not.toBe(asked[0]!.binding);
    await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), new Uint8Array(0));
    await until(() => offers === 2);
  });

  it('evidence that cannot be made is reported to onAttestError; the link stays up, unattested', async () => {
    const env = await startRn({ requireAttestation: true });
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const errors: unknown[] = [];
    const m = new LinkManager({
      trust: epTrust(env),
      identity: { seed: gw.id.seed, pcert: gw.pcert },
      accept: true,
      attest: () => Promise.reject(new Error('no attester')),
      onAttestError: (e) => errors.push(e),
    });
    cleanups.push(() => m.stop());
    m.start();
    await until(() => errors.length === 1);
    expect((errors[0] as Error).message).toBe('no attester');
    await waitFor(env, 'accept_pending');
    const opLink = await attach(env, op);
    expect(await joinCode(env, opLink, op, gw)).toBe(ErrorCode.PEER_NOT_ATTESTED);
    expect(m.link?.attached).toBe(true);
  });
});
