// Session layer over an in-memory stitch pair: handshake -> stitched sessions -> channels.

import { describe, expect, it } from 'vitest';
import { equal } from '../../../src/uzp/bytes.js';
import type { Session } from '../../../src/uzp/session/session.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Hook } from '../../helpers/memory-stitch.js';
import { sessionPair } from '../../helpers/session-pair.js';

function sessions(hook?: Hook, limits?: Record<string, number>) {
  const p = sessionPair({ ...(hook ? { hook } : {}), ...(limits ? { limits } : {}) });
  return { si: p.operator, sr: p.gateway };
}

function collect(ch: Channel, n: number): Promise<Uint8Array[]> {
  return new Promise((resolve) => {
    const got: Uint8Array[] = [];
    ch.on('message', (m: Uint8Array) => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
  });
}

/** Resolves with the first n messages of the next channel the peer opens. */
function nextMessages(s: Session, n: number): Promise<Uint8Array[]> {
  return new Promise((r) => s.once('channel', (c: Channel) => collect(c, n).then(r)));
}

describe('Session over a stitch', () => {
  it('carries messages both ways on several channels, in order, exactly once', async () => {
    const { si, sr } = sessions();
    // Listen from inside the 'channel' event: the first message is delivered right after it.
    const incoming = new Promise<[Channel, Uint8Array[]]>((r) => sr.once('channel', (c: Channel) => collect(c, 500).then((m) => r([c, m]))));
    const ch = si.openChannel();
    const msgs = Array.from({ length: 500 }, (_, i) => new Uint8Array([i & 0xff, i >> 8, 7, 7]));
    for (const m of msgs) await ch.send(m);
    const [rch, got] = await incoming;
    expect(got).toEqual(msgs);
    expect(rch.id).toBe(ch.id);
    const back = collect(ch, 3);
    for (const t of ['a', 'b', 'c']) await rch.send(new TextEncoder().encode(t));
    expect((await back).map((b) => new TextDecoder().decode(b))).toEqual(['a', 'b', 'c']);
    si.close();
    sr.close();
  });

  it('delivers a large message (fragmented across blocks) intact', async () => {
    const { si, sr } = sessions();
    const big = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
    const p = nextMessages(sr, 1);
    const ch = si.openChannel();
    await ch.send(big);
    const [m] = await p;
    expect(equal(m!, big)).toBe(true);
    si.close();
  });

  it('survives loss and duplication on the path (retransmission + replay window)', async () => {
    let n = 0;
    let dropped = 0;
    let duplicated = 0;
    const { si, sr } = sessions((p) => {
      n++;
      if (n % 7 === 0) {
        dropped++;
        return [];
      }
      if (n % 5 === 0) {
        duplicated++;
        return [p, p];
      }
      return [p];
    }, { initialRtoMs: 20, minRtoMs: 10 });
    const N = 300;
    const p = nextMessages(sr, N);
    const ch = si.openChannel();
    // 2 KB messages so that the 300 of them need many blocks (and acks) for the hook to hit.
    for (let i = 0; i < N; i++) await ch.send(new Uint8Array(2000).fill(0).map((_, j) => (j === 0 ? i & 0xff : j === 1 ? i >> 8 : 9)));
    const got = await p;
    expect(got.map((m) => m[0]! | (m[1]! << 8))).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(dropped).toBeGreaterThan(0);
    expect(duplicated).toBeGreaterThan(0);
    expect(si.stats.retransmits).toBeGreaterThan(0);
    si.close();
  });

  it('a flipped byte in a relayed block is rejected and never delivered; data still arrives intact', async () => {
    let flipped = 0;
    const { si, sr } = sessions((p, from) => {
      if (from === 'a' && (p[0]! & 0xfe) === 0x10 && flipped < 3 && p.length > 40) {
        flipped++;
        const c = p.slice();
        c[c.length - 20]! ^= 0x40;
        return [c];
      }
      return [p];
    }, { initialRtoMs: 20, minRtoMs: 10 });
    const p = nextMessages(sr, 5);
    const ch = si.openChannel();
    const msgs = Array.from({ length: 5 }, (_, i) => new Uint8Array(100).fill(i + 1));
    for (const m of msgs) {
      await ch.send(m);
      // One event-loop turn: the pump runs first, so each message leaves in a block of its own.
      await new Promise((r) => setImmediate(r));
    }
    const got = await p;
    expect(got.map((m) => m[0])).toEqual([1, 2, 3, 4, 5]);
    for (const [i, m] of got.entries()) expect(equal(m, msgs[i]!)).toBe(true);
    expect(flipped).toBe(3);
    expect(sr.stats.dropped).toBeGreaterThanOrEqual(3);
    si.close();
  });

  it('a graceful close delivers every queued message before the CLOSE', async () => {
    const { si, sr } = sessions();
    const N = 200;
    const got = nextMessages(sr, N);
    const ch = si.openChannel();
    for (let i = 0; i < N; i++) expect(ch.trySend(new Uint8Array(1000).fill(i & 0xff))).toBe(true);
    const closedR = new Promise<unknown>((r) => sr.once('close', (_e, code) => r(code)));
    const closedI = new Promise<unknown>((r) => si.once('close', (e) => r(e)));
    si.close(3);
    const msgs = await got;
    expect(msgs.map((m) => m[0])).toEqual(Array.from({ length: N }, (_, i) => i & 0xff));
    expect(await closedR).toBe(3);
    expect(await closedI).toBeUndefined(); // a clean end on our side too, not a link error
  });

  it('closing one side closes the other with the code', async () => {
    const { si, sr } = sessions();
    const closed = new Promise<[unknown, unknown]>((r) => sr.once('close', (e, code) => r([e, code])));
    const opened = new Promise((r) => sr.once('channel', r));
    si.openChannel().trySend(new Uint8Array([1]));
    await opened;
    si.close(7, 'bye');
    const [, code] = await closed;
    expect(code).toBe(7);
    expect(sr.state).toBe('closed');
    expect(() => si.openChannel()).toThrow(expect.objectContaining({ code: 'SESSION_CLOSED' }));
  });
});

describe('Session: acks leave while blocks are still arriving', () => {
  it('an ack due after ackEveryBlocks blocks is sent before the receiving turn ends', async () => {
    const held: Uint8Array[] = [];
    // The operator's blocks are held back and fed to the gateway by hand, all in one synchronous run,
    // as a link does with everything one read brought.
    const p = sessionPair({ hook: (b, from) => (from === 'a' ? (held.push(b), []) : [b]) });
    const ch = p.operator.openChannel();
    for (let i = 0; i < 16; i++) ch.trySend(new Uint8Array(40_000).fill(i)); // one message per 64 KiB block
    await new Promise((r) => setImmediate(r));
    expect(held).toHaveLength(16);
    const sent: Uint8Array[] = [];
    const stitch = p.stitches.gateway;
    const send = stitch.send.bind(stitch);
    stitch.send = (b: Uint8Array) => (sent.push(b), send(b));
    for (const b of held) p.gateway.receive(b);
    // Acks after blocks 8 and 16 (ackEveryBlocks), not one ack for all 16 on the next turn: a sender
    // waiting on its window gets it back while the data still flows.
    expect(sent.filter((b) => (b[0]! & 0xfe) === 0x12)).toHaveLength(2);
  });
});
