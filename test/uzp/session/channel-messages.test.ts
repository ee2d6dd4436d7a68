// Channel.messages() holds a bounded backlog for a loop that has not caught up: the peer's sending
// is paced by delivery, not by that loop, so without a bound a slow consumer would let the peer grow
// our memory. Beyond the bound the iteration yields what it holds, then fails with BUFFER_FULL.
import { describe, expect, it } from 'vitest';
import type { Channel } from '../../../src/uzp/session/channel.js';
import { MESSAGES_HELD_MAX, MESSAGES_HELD_MAX_BYTES } from '../../../src/uzp/session/channel.js';
import { sessionPair } from '../../helpers/session-pair.js';

/** The gateway side's channel, with an iterator already waiting and a plain listener counting. */
function gatewayChannel(p: ReturnType<typeof sessionPair>) {
  const state = { heard: 0, it: undefined as AsyncIterator<Uint8Array> | undefined, first: undefined as Promise<IteratorResult<Uint8Array>> | undefined };
  p.gateway.on('channel', (ch: Channel) => {
    ch.on('message', () => state.heard++);
    state.it = ch.messages()[Symbol.asyncIterator]();
    state.first = state.it.next(); // runs the generator to its first wait: it listens from here
  });
  return state;
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Channel.messages(): a bounded backlog', () => {
  it('a loop that falls more than MESSAGES_HELD_MAX_BYTES behind gets what was held, in order, then BUFFER_FULL', async () => {
    const p = sessionPair();
    const gw = gatewayChannel(p);
    const ch = p.operator.openChannel();
    const size = 64 * 1024;
    const total = MESSAGES_HELD_MAX_BYTES / size + 6;
    for (let i = 0; i < total; i++) await ch.send(new Uint8Array(size).fill(i & 0xff));
    await until(() => gw.heard === total);
    // The first message went to the waiting next(); 64 more fit the bound; the rest were not kept.
    const seen: number[] = [(await gw.first!).value![0]!];
    let failure: unknown;
    try {
      for (;;) {
        const r = await gw.it!.next();
        if (r.done) break;
        seen.push(r.value[0]!);
      }
    } catch (e) {
      failure = e;
    }
    expect(failure).toMatchObject({ code: 'BUFFER_FULL' });
    expect(seen).toEqual(Array.from({ length: 1 + MESSAGES_HELD_MAX_BYTES / size }, (_, i) => i & 0xff));
    expect(gw.heard).toBe(total); // a 'message' listener missed nothing
    p.operator.close();
  });

  it('empty messages are bounded in number (MESSAGES_HELD_MAX)', async () => {
    const p = sessionPair();
    const gw = gatewayChannel(p);
    const ch = p.operator.openChannel();
    const total = MESSAGES_HELD_MAX + 3;
    for (let i = 0; i < total; i++) await ch.send(new Uint8Array(0));
    await until(() => gw.heard === total);
    await gw.first;
    let n = 1;
    await expect(
      (async () => {
        for (;;) {
          const r = await gw.it!.next();
          if (r.done) return;
          n++;
        }
      })(),
    ).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(n).toBe(1 + MESSAGES_HELD_MAX);
    p.operator.close();
  });

  it('a loop that keeps up reads everything, and ends with the peer', async () => {
    const p = sessionPair();
    const got: number[] = [];
    const done = new Promise<void>((resolve) =>
      p.gateway.on('channel', (c: Channel) => {
        void (async () => {
          for await (const m of c.messages()) got.push(m[0]!);
          resolve();
        })();
      }),
    );
    const ch = p.operator.openChannel();
    for (let i = 0; i < 200; i++) await ch.send(new Uint8Array(40 * 1024).fill(i & 0xff));
    await ch.close();
    await done;
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i & 0xff));
    p.operator.close();
  });
});
