// Evidence over a session, both carriages, over a real session pair and the real HIL broker: asked
// for on a channel (`attest`), and pushed by the gateway after a CH1 request; plus the refusals.

import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEvidence } from '../../src/attest/evidence.js';
import { NonceStore } from '../../src/attest/nonces.js';
import { AuditLog } from '../../src/gateway/hil/audit.js';
import { HilBroker } from '../../src/gateway/hil/broker.js';
import { MAX_EVIDENCE_PENDING } from '../../src/gateway/hil/evidence-service.js';
import { decodeHil, encodeHil } from '../../src/hil/messages.js';
import { appraiseOnSession, pushedEvidence, requestEvidence } from '../../src/operator/attest.js';
import { toHex } from '../../src/uzp/bytes.js';
import { errorOf } from '../helpers/errors.js';
import { sessionPair } from '../helpers/session-pair.js';
import { Fixture, p } from '../attest/fixtures.js';

const silent = (): AuditLog => AuditLog.create(new Writable({ write: (_c, _e, cb) => cb() }));

describe('evidence over a session', () => {
  let f: Fixture;
  let pair: ReturnType<typeof sessionPair>;
  beforeEach(() => {
    f = new Fixture();
    pair = sessionPair({ purposes: [{ purpose: 'serial.read' }], slot: 'tty-2' });
  });
  afterEach(() => {
    pair.operator.close();
    pair.gateway.close();
    f.close();
  });

  function serve(attest?: (nonce: Uint8Array, binding: Uint8Array) => Promise<Uint8Array>): HilBroker {
    const broker = new HilBroker({ devices: new Map(), audit: silent(), ...(attest ? { attest } : {}) });
    broker.serve(pair.gateway, pair.grant, pair.d.clock); // Grants are dated by the test domain's clock
    return broker;
  }

  it('on request: the evidence is bound to this session and appraises clean', async () => {
    const attester = f.attester();
    let asked: { nonce: string; binding: string } | undefined;
    serve(async (nonce, binding) => {
      asked = { nonce: toHex(nonce), binding: toHex(binding) };
      return attester.evidence(nonce, binding);
    });
    const nonces = new NonceStore(p);
    const nonce = nonces.issue();
    const ev = await requestEvidence(pair.operator, nonce);
    expect(asked!.nonce).toBe(toHex(nonce));
    expect(toHex(decodeEvidence(p, ev).claims.binding!)).toBe(asked!.binding);
    // The verifier's side: the gateway CID is not the fixture's, so pin nothing but the session peer.
    const r = appraiseOnSession(p, pair.operator, ev, nonce, nonces, { manifest: await f.reference() });
    // The fixture attester signs with its own identity, not the session's gateway: ueid must fail.
    expect(r.claims.filter((c) => c.status === 'fail').map((c) => c.claim)).toEqual(['ueid']);
    expect(r.claims.find((c) => c.claim === 'binding')!.status).toBe('pass');
  });

  it("evidence echoing another of the verifier's outstanding nonces fails, and does not use that nonce up", async () => {
    const attester = f.attester();
    const nonces = new NonceStore(p);
    const mine = nonces.issue();
    const theirs = nonces.issue(); // sent on another connection, still waiting there
    // A gateway that answers with the other connection's nonce (it saw it, or guessed it).
    serve((_nonce, binding) => attester.evidence(theirs, binding));
    const ev = await requestEvidence(pair.operator, mine);
    const r = appraiseOnSession(p, pair.operator, ev, mine, nonces, { manifest: await f.reference() });
    expect(r.claims.find((c) => c.claim === 'eat_nonce')).toMatchObject({ status: 'fail', reason: expect.stringMatching(/not the one sent on this session/) });
    // Before: consumed here, so the honest evidence on the other connection failed as replayed.
    expect(nonces.consume(theirs)).toBe('ok');
  });

  it('pushed after a CH1 request: arrives on a channel the gateway opens', async () => {
    const attester = f.attester();
    const broker = serve((nonce, binding) => attester.evidence(nonce, binding));
    const nonce = new Uint8Array(16).fill(4);
    const waiting = pushedEvidence(pair.operator, 5_000);
    broker.pushEvidence(pair.gateway, nonce);
    const ev = decodeEvidence(p, await waiting);
    expect(ev.claims.eat_nonce).toEqual(nonce);
  });

  it(`one evidence request per session at a time, and at most ${MAX_EVIDENCE_PENDING} over all sessions; the rest refused at once`, async () => {
    const waiting: (() => void)[] = [];
    const reasons: string[] = [];
    const audit = AuditLog.create(new Writable({ write: (c, _e, cb) => (reasons.push(String((JSON.parse(String(c)) as { reason?: string }).reason ?? '')), cb()) }));
    const broker = new HilBroker({ devices: new Map(), audit, attest: () => new Promise<Uint8Array>((r) => waiting.push(() => r(Uint8Array.of(0xa0)))) });
    const others = Array.from({ length: MAX_EVIDENCE_PENDING }, () => sessionPair({ purposes: [{ purpose: 'serial.read' }], slot: 'tty-2' }));
    for (const q of [pair, ...others]) broker.serve(q.gateway, q.grant, q.d.clock);
    // Audit lines are written after the turn's replies have left (audit.ts): wait for the one wanted.
    const said = async (re: RegExp): Promise<boolean> => {
      for (let i = 0; i < 200 && !reasons.some((r) => re.test(r)); i++) await new Promise((r) => setTimeout(r, 5));
      return reasons.some((r) => re.test(r));
    };
    const settle = async (n: number): Promise<void> => {
      for (let i = 0; i < 200 && waiting.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    };
    const first = requestEvidence(pair.operator, new Uint8Array(8).fill(1), 5_000);
    await settle(1);
    // Before: queued behind the first, and so on without end (each a bundle walk, a signature, a TPM quote).
    expect((await errorOf(requestEvidence(pair.operator, new Uint8Array(8).fill(2), 5_000))).message).toMatch(/ATTEST_UNAVAILABLE/);
    expect(await said(/still being answered/)).toBe(true);
    const more = others.slice(0, MAX_EVIDENCE_PENDING - 1).map((q) => requestEvidence(q.operator, new Uint8Array(8).fill(3), 5_000));
    await settle(MAX_EVIDENCE_PENDING);
    expect((await errorOf(requestEvidence(others.at(-1)!.operator, new Uint8Array(8).fill(4), 5_000))).message).toMatch(/ATTEST_UNAVAILABLE/);
    expect(await said(/evidence requests are being answered/)).toBe(true);
    expect(waiting).toHaveLength(MAX_EVIDENCE_PENDING);
    for (const w of waiting.splice(0)) w();
    expect(await first).toEqual(Uint8Array.of(0xa0));
    expect(await Promise.all(more)).toHaveLength(MAX_EVIDENCE_PENDING - 1);
    // Answered: the session may ask again.
    const again = requestEvidence(pair.operator, new Uint8Array(8).fill(5), 5_000);
    await settle(1);
    waiting.splice(0).forEach((w) => w());
    expect(await again).toEqual(Uint8Array.of(0xa0));
    for (const q of others) {
      q.operator.close();
      q.gateway.close();
    }
  });

  it('a gateway without an attester refuses with ATTEST_UNAVAILABLE; junk nonces are refused as bad messages', async () => {
    serve();
    const e = await errorOf(requestEvidence(pair.operator, new Uint8Array(8), 5_000));
    expect(e.code).toBe('ATTEST_UNAVAILABLE');
    expect(e.message).toContain('ATTEST_UNAVAILABLE');
    const ch = pair.operator.openChannel();
    const reply = new Promise<unknown>((resolve) => ch.once('message', (b: Uint8Array) => resolve(decodeHil(b))));
    // A 4-byte nonce is below the 64-bit minimum: the message does not decode.
    await ch.send(encodeHil({ t: 'attest', nonce: new Uint8Array(4) }));
    expect(await reply).toEqual({ t: 'refused', code: 'BAD_MESSAGE' });
  });
});

describe('HIL attest/evidence messages', () => {
  it('encode to the documented bytes and decode back', () => {
    const m = { t: 'attest' as const, nonce: new Uint8Array(8).fill(1) };
    expect(toHex(encodeHil(m))).toBe('a2617466617474657374656e6f6e6365480101010101010101');
    expect(decodeHil(encodeHil(m))).toEqual(m);
    const e = { t: 'evidence' as const, e: Uint8Array.of(0xa1) };
    expect(decodeHil(encodeHil(e))).toEqual(e);
    expect(() => decodeHil(encodeHil({ t: 'evidence', e: new Uint8Array(64 * 1024 + 1) }))).toThrow(/evidence\.e/);
  });
});
