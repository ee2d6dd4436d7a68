// A responder holds at most MAX_PENDING_HANDSHAKES handshakes waiting for the initiator's Finished.
// An RN sees every JOIN's Grant and CH1: replaying one OFFER under fresh stitch ids cost the
// gateway a verify, a key agreement and a signature each and held its state for the handshake
// timeout, without a bound (14,200 pending, +130 MB, in a review's test). Beyond the bound an OFFER
// is refused before any work (HANDSHAKES_PENDING), and a place comes back as a handshake ends.
// And one CH1 is taken at most CH1_PRESENTATIONS_MAX times: an RN replaying it under fresh stitch
// ids, each dropped right after the flight, made the responder do a full handshake per replay
// (HANDSHAKE_REPLAYED before any cryptography now).
import { describe, expect, it } from 'vitest';
import { Endpoint, MAX_PENDING_HANDSHAKES } from '../../src/uzp/endpoint.js';
import { CH1_PRESENTATIONS_MAX } from '../../src/uzp/handshake/ch1-replays.js';
import { TestDomain } from '../helpers/domain.js';
import { MemoryLink } from '../helpers/memory-link.js';

describe('OFFERs replayed by an RN', () => {
  function rig() {
    const d = new TestDomain();
    const [op, gw] = [d.member('operator'), d.member('gateway')];
    const opLink = new MemoryLink(op.id.cid);
    const gwLink = new MemoryLink(gw.id.cid);
    const gwEp = new Endpoint({ trust: d.trust(), identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link: gwLink });
    gwEp.accept();
    const refused: string[] = [];
    gwEp.on('refused', (e: { code: string }) => refused.push(e.code));
    // JOINs an initiator made (their stitches never answered, as captures by the RN).
    const opEp = new Endpoint({ trust: d.trust(), identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link: opLink, handshakeTimeoutMs: 50 });
    const captured = async (n: number) => {
      await Promise.all(Array.from({ length: n }, () => opEp.connect(gw.id.cid, d.grant(op.id.cid, gw.id.cid)).catch(() => undefined)));
      return opLink.joins.slice(-n);
    };
    return { op, gwLink, refused, captured };
  }

  it(`at most ${MAX_PENDING_HANDSHAKES} handshakes wait at once; the rest are refused before any work`, async () => {
    const r = rig();
    const joins = await r.captured(MAX_PENDING_HANDSHAKES + 22);
    const stitches = joins.slice(0, MAX_PENDING_HANDSHAKES + 20).map((join) => MemoryLink.replay(r.gwLink, r.op.id.cid, join));
    // Each replay within the bound got a flight and waits; the 20 beyond were refused (their stitch closed).
    expect(r.refused.filter((c) => c === 'HANDSHAKES_PENDING')).toHaveLength(20);
    // One ends (the RN drops its stitch): its place is free again, and only that one.
    stitches[0]!.close();
    await new Promise((res) => setTimeout(res, 10));
    MemoryLink.replay(r.gwLink, r.op.id.cid, joins.at(-2)!);
    MemoryLink.replay(r.gwLink, r.op.id.cid, joins.at(-1)!);
    expect(r.refused.filter((c) => c === 'HANDSHAKES_PENDING')).toHaveLength(21);
  });

  it(`one CH1 is taken at most ${CH1_PRESENTATIONS_MAX} times, each replay dropped right after its flight; the rest are refused before any work`, async () => {
    const r = rig();
    const [join] = await r.captured(1);
    let flights = 0;
    const stitches = [];
    for (let i = 0; i < 50; i++) {
      const stitch = MemoryLink.replay(r.gwLink, r.op.id.cid, join!);
      stitch.onPayload(() => flights++);
      stitches.push(stitch);
    }
    await new Promise((res) => setTimeout(res, 10));
    for (const st of stitches) st.close();
    // Before: 50 full handshakes, a flight each (a review measured 1,600 a second from one capture).
    expect(flights).toBe(CH1_PRESENTATIONS_MAX);
    expect(r.refused.filter((c) => c === 'HANDSHAKE_REPLAYED')).toHaveLength(50 - CH1_PRESENTATIONS_MAX);
    expect(r.refused.filter((c) => c === 'HANDSHAKES_PENDING')).toEqual([]);
  });
});
