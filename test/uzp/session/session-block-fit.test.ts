// Blocks sized to the path: an RN may announce any max_frame from 16 KiB (docs/PROFILE.md §Attachment),
// less than a 64 KiB block. The session packs its blocks to what its stitch carries (Session.attach ->
// BlockEngine.fitBlocksTo); a sender may always build blocks smaller than the receiver accepts.
// A stitch that refuses a block without having said so still costs the path, not the process.

import { describe, expect, it } from 'vitest';
import { equal } from '../../../src/uzp/bytes.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { sessionPair } from '../../helpers/session-pair.js';

function firstMessage(s: Session): Promise<Uint8Array> {
  return new Promise((r) => s.once('channel', (c: Channel) => c.once('message', r)));
}

/** `p`, or a rejection as soon as either session closes (a path that cannot carry a block ends it). */
function unlessClosed<T>(p: Promise<T>, ...sessions: Session[]): Promise<T> {
  const closed = sessions.map((s) => new Promise<never>((_, reject) => s.once('close', (e?: Error) => reject(e ?? new Error('session closed')))));
  return Promise.race([p, ...closed]);
}

function pattern(n: number, k: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * k + (i >> 8)) & 0xff);
}

describe('data blocks fit the stitch', () => {
  it('an announced limit under a block: every payload fits it, large messages arrive intact both ways', async () => {
    const sizes: number[] = [];
    const limit = 16 * 1024 - 12; // an RN's smallest max_frame less a RELAY header
    const p = sessionPair({
      pathLimit: { bytes: limit, announce: true },
      hook: (payload) => {
        sizes.push(payload.length);
        return [payload];
      },
    });
    const up = pattern(300_000, 31);
    const down = pattern(100_000, 7);
    const atGateway = firstMessage(p.gateway);
    const ch = p.operator.openChannel();
    await ch.send(up);
    expect(equal(await unlessClosed(atGateway, p.operator, p.gateway), up)).toBe(true);
    const atOperator = firstMessage(p.operator);
    await p.gateway.openChannel().send(down);
    expect(equal(await unlessClosed(atOperator, p.operator, p.gateway), down)).toBe(true);
    expect(p.operator.state).toBe('stitched');
    expect(p.gateway.state).toBe('stitched');
    expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
    // The blocks are as large as the path allows, not needlessly small.
    expect(Math.max(...sizes)).toBe(limit);
    p.operator.close();
    p.gateway.close();
  });

  it('without a limit the blocks keep their negotiated size', async () => {
    const sizes: number[] = [];
    const p = sessionPair({
      hook: (payload) => {
        sizes.push(payload.length);
        return [payload];
      },
    });
    const atGateway = firstMessage(p.gateway);
    await p.operator.openChannel().send(pattern(200_000, 3));
    await atGateway;
    // the default maxBlockPlaintext (sessionPair builds the sessions without an Endpoint's clamp):
    // header 9 + 65,536 + tag 16
    expect(Math.max(...sizes)).toBe(9 + 64 * 1024 + 16);
    p.operator.close();
    p.gateway.close();
  });

  it('a stitch that refuses a block it did not announce ends the session with LINK_FRAME_TOO_LARGE, nothing thrown from a timer', async () => {
    const p = sessionPair({ pathLimit: { bytes: 16 * 1024, announce: false } });
    const closed = new Promise<Error | undefined>((r) => p.operator.once('close', r));
    p.operator.openChannel().trySend(new Uint8Array(20_000).fill(1));
    expect(await closed).toMatchObject({ code: 'LINK_FRAME_TOO_LARGE' });
  });
});
