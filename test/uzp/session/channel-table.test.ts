// ChannelTable (src/uzp/session/channel-table.ts): our ids by parity, the peer's admitted by parity
// and count, a channel forgotten only when both halves are closed.
import { describe, expect, it } from 'vitest';
import { ChannelTable, CONTROL_CHANNEL, MAX_CHANNELS } from '../../../src/uzp/session/channel-table.js';
import type { ChannelHost } from '../../../src/uzp/session/channel.js';

const host: ChannelHost = { sendOnChannel: () => true, waitWritable: () => Promise.resolve(), channelClosedLocally: () => {} };

describe('ChannelTable', () => {
  it('opens odd ids for an initiator and even ids for a responder, and admits only the peer parity', () => {
    const i = new ChannelTable(host, 'initiator');
    expect([i.open().id, i.open().id]).toEqual([1, 3]);
    expect(i.refusal(2)).toBeUndefined();
    expect(i.refusal(5)).toBe('id not of its parity');
    expect(i.refusal(CONTROL_CHANNEL)).toBe('id not of its parity');
    const r = new ChannelTable(host, 'responder');
    expect(r.open().id).toBe(2);
    expect(r.refusal(7)).toBeUndefined();
    expect(r.refusal(4)).toBe('id not of its parity');
  });

  it(`refuses the peer's channel ${MAX_CHANNELS + 1}`, () => {
    const t = new ChannelTable(host, 'responder');
    for (let k = 0; k < MAX_CHANNELS; k++) t.get(2 * k + 1);
    expect(t.size).toBe(MAX_CHANNELS);
    expect(t.refusal(2 * MAX_CHANNELS + 1)).toBe(`more than ${MAX_CHANNELS} channels`);
  });

  it('forgets a channel once both halves are closed, in either order, and not before', async () => {
    const t = new ChannelTable(host, 'initiator');
    const a = t.open();
    a.deliver(new Uint8Array(0), true); // the peer closed its half
    t.release(a.id);
    expect(t.has(a.id)).toBe(true);
    await a.close(); // then ours
    t.release(a.id);
    expect(t.has(a.id)).toBe(false);
    const b = t.open();
    await b.close(); // ours first
    t.release(b.id);
    expect(t.has(b.id)).toBe(true);
    b.deliver(new Uint8Array(0), true);
    t.release(b.id);
    expect(t.has(b.id)).toBe(false);
  });
});
