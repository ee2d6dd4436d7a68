// How a session ends on the wire (docs/PROFILE.md §Closing): the receiver of CLOSE acknowledges it
// and keeps acknowledging retransmissions until the closer ends the stitch; session-fatal errors
// reach the peer as CLOSE PROTOCOL_VIOLATION before the stitch ends. A fake clock drives timers;
// the in-memory stitch shows which side ended it.

import { describe, expect, it } from 'vitest';
import { joinBlock, sealBlock, AdTemplate, deriveKeyMaterial } from '../../../src/uzp/blocks/protect.js';
import { encodeAck } from '../../../src/uzp/blocks/ack.js';
import { blockType, CloseCode, SPACE_ACK } from '../../../src/uzp/blocks/constants.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { CLOSE_TIMEOUT_MS } from '../../../src/uzp/session/session.js';
import { FakeClock, turns } from '../../helpers/fake-clock.js';
import type { Hook } from '../../helpers/memory-stitch.js';
import { sessionPair } from '../../helpers/session-pair.js';

const isAckBlock = (p: Uint8Array): boolean => (p[0]! & 0xfe) === 0x12;

/** Every 'close' a session emits: its error code (or undefined) and the peer's CLOSE code. */
function closes(s: Session): { error: string | undefined; remoteCode: number | undefined }[] {
  const seen: { error: string | undefined; remoteCode: number | undefined }[] = [];
  s.on('close', (e?: { code: string }, remoteCode?: number) => seen.push({ error: e?.code, remoteCode }));
  return seen;
}

describe('closing a session', () => {
  it('the receiver of CLOSE acknowledges it at once; the closer, acknowledged, ends the stitch', async () => {
    const clock = new FakeClock();
    const fromGateway: Uint8Array[] = [];
    const p = sessionPair({ clock, hook: (b, from) => (from === 'b' && fromGateway.push(b), [b]) });
    const [op, gw] = [closes(p.operator), closes(p.gateway)];
    p.operator.close(0x0105, 'done');
    await turns();
    // No time passed: the ack did not wait for ack_delay, and the stitch did not wait for the drain.
    expect(fromGateway.filter(isAckBlock)).toHaveLength(1);
    expect(gw).toEqual([{ error: undefined, remoteCode: 0x0105 }]);
    expect(op).toEqual([{ error: undefined, remoteCode: undefined }]);
    expect(p.stitches.operator.closed && p.stitches.gateway.closed).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('a lost ack is repaired: the closer retransmits CLOSE after its RTO and the draining receiver acknowledges again', async () => {
    const clock = new FakeClock();
    let acksDropped = 0;
    const hook: Hook = (b, from) => (from === 'b' && isAckBlock(b) && acksDropped++ === 0 ? [] : [b]);
    const p = sessionPair({ clock, hook, limits: { initialRtoMs: 200 } });
    const op = closes(p.operator);
    p.operator.close();
    await turns();
    expect(acksDropped).toBe(1);
    expect(op).toEqual([]); // still waiting for the ack
    expect(p.stitches.gateway.closed).toBe(false); // the receiver drains instead of leaving
    clock.advance(200); // the CLOSE's RTO: retransmitted
    await turns();
    expect(p.operator.stats.retransmits).toBe(1);
    clock.advance(5); // the receiver's ack delay for a duplicate
    await turns();
    expect(acksDropped).toBe(2);
    expect(op).toEqual([{ error: undefined, remoteCode: undefined }]);
    expect(p.operator.stats.retransmits).toBe(1);
    expect(p.stitches.gateway.closed).toBe(true);
  });

  it('a receiver whose closer never ends the stitch leaves after the draining period (3 RTO), not before', async () => {
    const clock = new FakeClock();
    // Everything from the operator after its CLOSE is lost except the CLOSE itself; the gateway's acks never arrive.
    const p = sessionPair({ clock, hook: (b, from) => (from === 'b' ? [] : [b]), limits: { initialRtoMs: 300 } });
    const gw = closes(p.gateway);
    p.operator.close();
    await turns();
    expect(gw).toEqual([{ error: undefined, remoteCode: 0 }]);
    expect(p.stitches.gateway.closed).toBe(false);
    clock.advance(3 * 300 - 1);
    await turns();
    expect(p.stitches.gateway.closed).toBe(false);
    clock.advance(1);
    await turns();
    expect(p.stitches.gateway.closed).toBe(true);
    clock.advance(CLOSE_TIMEOUT_MS);
    await turns();
    expect(clock.pending).toBe(0);
  });

  it('a channel id of the wrong parity: the receiver closes with CHANNEL_UNKNOWN and the peer hears CLOSE PROTOCOL_VIOLATION', async () => {
    const p = sessionPair();
    const [op, gw] = [closes(p.operator), closes(p.gateway)];
    // The gateway (responder: even ids) writes on an odd channel the operator never opened.
    p.gateway.channel(3).trySend(Uint8Array.of(1));
    await turns();
    expect(op).toEqual([{ error: ErrorCode.CHANNEL_UNKNOWN, remoteCode: undefined }]);
    expect(gw).toEqual([{ error: undefined, remoteCode: CloseCode.PROTOCOL_VIOLATION }]);
  });

  it('an authenticated ACK of a block never sent: the receiver closes with BLOCK_PROTOCOL and the peer hears CLOSE PROTOCOL_VIOLATION', async () => {
    const p = sessionPair();
    const [op, gw] = [closes(p.operator), closes(p.gateway)];
    // A genuine ack block from the operator's keys (the session's own, public ones), acking block 99.
    const k = p.operator.keys;
    const km = deriveKeyMaterial(p.d.provider, k.suite.aead, k.sendSecret, 0);
    const ack = encodeAck({ largest: 99, ackDelayUs: 0, ranges: [{ first: 0, last: 99 }] });
    const type = blockType(SPACE_ACK, 0);
    p.gateway.receive(joinBlock(sealBlock(km, new AdTemplate(k.adContext, k.direction), new Uint8Array(12), type, 1000, ack)));
    await turns();
    expect(gw).toEqual([{ error: ErrorCode.BLOCK_PROTOCOL, remoteCode: undefined }]);
    expect(op).toEqual([{ error: undefined, remoteCode: CloseCode.PROTOCOL_VIOLATION }]);
  });
});
