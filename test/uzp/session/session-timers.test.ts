// The session's timers (ack delay, retransmission timeout, close timeout) run on the injected
// Clock: driven here by a fake clock, so each fires exactly at its deadline and never after close.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { CLOSE_TIMEOUT_MS, type Session } from '../../../src/uzp/session/session.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import { FakeClock, turns } from '../../helpers/fake-clock.js';
import type { Hook } from '../../helpers/memory-stitch.js';
import { sessionPair } from '../../helpers/session-pair.js';

function pair(clock: FakeClock, hook?: Hook, limits?: Record<string, number>) {
  const p = sessionPair({ clock, ...(hook ? { hook } : {}), ...(limits ? { limits } : {}) });
  return { si: p.operator, sr: p.gateway };
}

/** Messages the peer receives on channels it did not open. */
function inbox(s: Session): Uint8Array[] {
  const got: Uint8Array[] = [];
  s.on('channel', (c: Channel) => c.on('message', (m: Uint8Array) => got.push(m)));
  return got;
}

/** Every 'close' the session emits, with its error. */
function closes(s: Session): (Error | undefined)[] {
  const seen: (Error | undefined)[] = [];
  s.on('close', (e?: Error) => seen.push(e));
  return seen;
}

describe('Session timers on an injected clock', () => {
  it('a lost block is retransmitted exactly when its RTO expires, not before', async () => {
    const clock = new FakeClock();
    let fromA = 0;
    // The initiator's first payload is its first data block (it has nothing to ack yet): lose it.
    const { si, sr } = pair(clock, (p, from) => (from === 'a' && fromA++ === 0 ? [] : [p]), { initialRtoMs: 200 });
    const got = inbox(sr);
    si.openChannel().trySend(new Uint8Array([1, 2, 3]));
    await turns();
    expect(fromA).toBe(1);
    clock.advance(199);
    await turns();
    expect(si.stats.retransmits).toBe(0);
    expect(got).toEqual([]);
    clock.advance(1);
    await turns();
    expect(si.stats.retransmits).toBe(1);
    expect(got).toEqual([new Uint8Array([1, 2, 3])]);
  });

  it('the receiver acks a lone block after ackDelayMs, and the ack stops the sender timer', async () => {
    const clock = new FakeClock();
    const { si, sr } = pair(clock, undefined, { ackDelayMs: 40 });
    const got = inbox(sr);
    si.openChannel().trySend(new Uint8Array([9]));
    await turns();
    expect(got).toHaveLength(1);
    expect(sr.stats.blocksSent).toBe(0);
    clock.advance(39);
    await turns();
    expect(sr.stats.blocksSent).toBe(0);
    clock.advance(1);
    await turns();
    expect(sr.stats.blocksSent).toBe(1);
    // Everything is acknowledged: neither side has a timer left, and none fires later.
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    await turns();
    expect(si.stats.retransmits).toBe(0);
    expect(si.state).toBe('stitched');
  });

  it('unacknowledged blocks back off per RFC 6298 §5.5 and the session fails with LINK_TIMEOUT after maxRetransmits', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const sent: number[] = [];
    // The peer never hears the initiator.
    const { si } = pair(clock, (p, from) => {
      if (from === 'a') {
        sent.push(clock.now() - t0);
        return [];
      }
      return [p];
    }, { initialRtoMs: 100, minRtoMs: 100, maxRtoMs: 400, maxRetransmits: 3 });
    const closed = closes(si);
    si.openChannel().trySend(new Uint8Array([7]));
    await turns();
    // RTO 100, then doubled per timeout and clamped at maxRtoMs: 200, 400, 400.
    clock.advance(1099);
    await turns();
    expect(sent).toEqual([0, 100, 300, 700]);
    expect(closed).toEqual([]);
    clock.advance(1);
    await turns();
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ code: ErrorCode.LINK_TIMEOUT });
    expect(si.state).toBe('closed');
  });

  it('a close the peer never acknowledges ends the session at CLOSE_TIMEOUT_MS, not before', async () => {
    const clock = new FakeClock();
    let sentAfterClose = 0;
    let dropping = false;
    const { si, sr } = pair(clock, (p, from) => {
      if (from === 'a' && dropping) {
        sentAfterClose++;
        return [];
      }
      return [p];
    });
    const closed = closes(si);
    dropping = true;
    si.close(5, 'bye');
    await turns();
    expect(sentAfterClose).toBe(1); // the CLOSE
    clock.advance(CLOSE_TIMEOUT_MS - 1);
    await turns();
    expect(closed).toEqual([]);
    expect(si.stats.retransmits).toBeGreaterThan(0); // the CLOSE is retransmitted meanwhile
    clock.advance(1);
    await turns();
    expect(closed).toEqual([undefined]); // a clean end on our side
    expect(sr.state).toBe('closed'); // its stitch went away
  });

  it('a closed session cancels its timers: nothing is sent and nothing fires afterwards', async () => {
    const clock = new FakeClock();
    let fromA = 0;
    const { si, sr } = pair(clock, (p, from) => {
      if (from === 'a') {
        fromA++;
        return [];
      }
      return [p];
    });
    const closedI = closes(si);
    const closedR = closes(sr);
    si.openChannel().trySend(new Uint8Array([1]));
    await turns();
    expect(clock.pending).toBeGreaterThan(0); // the RTO of the lost block (and the close timer below)
    si.close();
    await turns();
    clock.advance(CLOSE_TIMEOUT_MS);
    await turns();
    expect(closedI).toEqual([undefined]);
    expect(closedR).toHaveLength(1);
    expect(clock.pending).toBe(0);
    const sends = fromA;
    const retransmits = si.stats.retransmits;
    clock.advance(10 * 60_000);
    await turns();
    expect(fromA).toBe(sends);
    expect(si.stats.retransmits).toBe(retransmits);
    expect(closedI).toHaveLength(1);
    expect(closedR).toHaveLength(1);
  });
});
