// Channel.deliver() calls a sole 'message' listener directly instead of through emit(), from a list
// it keeps until any listener is added or removed. These tests hold it to what emit() does, through
// every way of adding and removing a listener, so a stale list can never call a removed listener
// or miss a new one.
import { on, once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Channel, EARLY, type ChannelHost } from '../../../src/uzp/session/channel.js';

const host: ChannelHost = {
  sendOnChannel: () => true,
  waitWritable: async () => {},
  channelClosedLocally: () => {},
};

const msg = (n: number): Uint8Array => new Uint8Array([n]);

/** A channel and a log of (listener name, first byte) per call. */
function channel() {
  const ch = new Channel(2, host);
  const calls: string[] = [];
  const listener = (name: string) =>
    function (this: unknown, m: Uint8Array, early?: unknown) {
      calls.push(`${name}:${m[0]}${early === EARLY ? ':early' : ''}${this === ch ? '' : ':wrong-this'}`);
    };
  return { ch, calls, listener };
}

describe('Channel message listeners (deliver() without emit())', () => {
  it('a sole listener gets every message with the channel as this; a removed one gets nothing more', () => {
    const { ch, calls, listener } = channel();
    const a = listener('a');
    ch.on('message', a);
    ch.deliver(msg(1), false);
    ch.deliver(msg(2), false);
    ch.off('message', a);
    ch.deliver(msg(3), false);
    ch.addListener('message', a);
    ch.deliver(msg(4), false);
    ch.removeListener('message', a);
    ch.deliver(msg(5), false);
    expect(calls).toEqual(['a:1', 'a:2', 'a:4']);
  });

  it('a listener added after the first delivery is heard, in registration order, prepend first', () => {
    const { ch, calls, listener } = channel();
    ch.on('message', listener('a'));
    ch.deliver(msg(1), false);
    ch.on('message', listener('b'));
    ch.deliver(msg(2), false);
    ch.prependListener('message', listener('p'));
    ch.deliver(msg(3), false);
    expect(calls).toEqual(['a:1', 'a:2', 'b:2', 'p:3', 'a:3', 'b:3']);
  });

  it('once() and prependOnceListener() hear one message each, alone or beside others', () => {
    const { ch, calls, listener } = channel();
    ch.once('message', listener('o'));
    ch.deliver(msg(1), false);
    ch.deliver(msg(2), false);
    ch.on('message', listener('a'));
    ch.prependOnceListener('message', listener('q'));
    ch.deliver(msg(3), false);
    ch.deliver(msg(4), false);
    expect(calls).toEqual(['o:1', 'q:3', 'a:3', 'a:4']);
  });

  it('removeAllListeners, for the event or for all, silences them; a later listener is heard', () => {
    const { ch, calls, listener } = channel();
    ch.on('message', listener('a'));
    ch.deliver(msg(1), false);
    ch.removeAllListeners('message');
    ch.deliver(msg(2), false);
    ch.on('message', listener('b'));
    ch.deliver(msg(3), false);
    ch.removeAllListeners();
    ch.deliver(msg(4), false);
    ch.on('message', listener('c'));
    ch.deliver(msg(5), false);
    expect(calls).toEqual(['a:1', 'b:3', 'c:5']);
  });

  it('a listener added during a delivery hears the next message, not the current one (as emit)', () => {
    const { ch, calls, listener } = channel();
    ch.on('message', (m: Uint8Array) => {
      calls.push(`first:${m[0]}`);
      if (m[0] === 1) ch.on('message', listener('late'));
    });
    ch.deliver(msg(1), false);
    ch.deliver(msg(2), false);
    expect(calls).toEqual(['first:1', 'first:2', 'late:2']);
  });

  it('early data reaches the listener with EARLY as its second argument', () => {
    const { ch, calls, listener } = channel();
    ch.on('message', listener('a'));
    ch.deliver(msg(1), false, true);
    ch.deliver(msg(2), false);
    expect(calls).toEqual(['a:1:early', 'a:2']);
  });

  it('events.once() and events.on() see the messages; an empty closing message is not one', async () => {
    const { ch } = channel();
    const first = once(ch, 'message');
    ch.deliver(msg(7), false);
    expect((await first)[0]).toEqual(msg(7));
    const seen: number[] = [];
    const iterate = (async () => {
      for await (const [m] of on(ch, 'message', { close: ['end'] })) seen.push((m as Uint8Array)[0]!);
    })();
    ch.deliver(msg(8), false);
    ch.deliver(msg(9), false);
    ch.deliver(new Uint8Array(0), true);
    await iterate;
    expect(seen).toEqual([8, 9]);
    expect(ch.listenerCount('message')).toBe(0);
  });

  it('a throwing sole listener throws out of deliver(), as emit() would, and stays registered', () => {
    const { ch } = channel();
    let n = 0;
    ch.on('message', () => {
      n++;
      throw new Error('listener failed');
    });
    expect(() => ch.deliver(msg(1), false)).toThrow('listener failed');
    expect(() => ch.deliver(msg(2), false)).toThrow('listener failed');
    expect(n).toBe(2);
  });
});
