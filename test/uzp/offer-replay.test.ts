// A responder holds at most MAX_PENDING_HANDSHAKES handshakes waiting for the initiator's Finished.
// An RN sees every JOIN's Grant and CH1: replaying one OFFER under fresh stitch ids cost the
// gateway a verify, a key agreement and a signature each and held its state for the handshake
// timeout, without a bound (14,200 pending, +130 MB, in a review's test). Beyond the bound an OFFER
// is refused before any work (HANDSHAKES_PENDING), and a place comes back as a handshake ends.
import { describe, expect, it } from 'vitest';
import { Endpoint, MAX_PENDING_HANDSHAKES } from '../../src/uzp/endpoint.js';
import { TestDomain } from '../helpers/domain.js';
import { MemoryLink } from '../helpers/memory-link.js';

describe('OFFERs replayed by an RN', () => {
  it(`at most ${MAX_PENDING_HANDSHAKES} handshakes wait at once; the rest are refused before any work`, async () => {
    const d = new TestDomain();
    const [op, gw] = [d.member('operator'), d.member('gateway')];
    const opLink = new MemoryLink(op.id.cid);
    const gwLink = new MemoryLink(gw.id.cid);
    const gwEp = new Endpoint({ trust: d.trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link: gwLink });
    gwEp.accept();
    const refused: string[] = [];
    gwEp.on('refused', (e: { code: string }) => refused.push(e.code));
    // The JOIN an initiator made (its stitch never answered, as a capture by the RN).
    const opEp = new Endpoint({ trust: d.trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link: opLink, handshakeTimeoutMs: 50 });
    await opEp.connect(gw.id.cid, d.grant(op.id.cid, gw.id.cid)).catch(() => undefined);
    const join = opLink.joins[0]!;
    const stitches = Array.from({ length: MAX_PENDING_HANDSHAKES + 20 }, () => MemoryLink.replay(gwLink, op.id.cid, join));
    // Each replay within the bound got a flight and waits; the 20 beyond were refused (their stitch closed).
    expect(refused.filter((c) => c === 'HANDSHAKES_PENDING')).toHaveLength(20);
    // One ends (the RN drops its stitch): its place is free again, and only that one.
    stitches[0]!.close();
    await new Promise((r) => setTimeout(r, 10));
    MemoryLink.replay(gwLink, op.id.cid, join);
    MemoryLink.replay(gwLink, op.id.cid, join);
    expect(refused.filter((c) => c === 'HANDSHAKES_PENDING')).toHaveLength(21);
  });
});
