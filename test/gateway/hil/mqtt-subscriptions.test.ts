// The mqtt mode's bound on subscriptions per channel (MAX_SUBSCRIPTIONS), held also against a burst
// of `sub` messages handled in one turn (the session delivers every in-order block at once when a
// gap fills): the filters still waiting for the device's answer count towards it. Before, the
// bound counted only answered filters, so 3,000 `sub` in one turn got 3,000 subacks.
import { describe, expect, it } from 'vitest';
import { SlotAuthority } from '../../../src/gateway/hil/authority.js';
import { MAX_SUBSCRIPTIONS, serveMqtt, type ChannelContext } from '../../../src/gateway/hil/modes.js';
import type { MqttDevice } from '../../../src/hil/device.js';
import type { HilMessage } from '../../../src/hil/messages.js';
import type { Grant, Valid } from '../../../src/uzp/artefacts/types.js';

const grant = { objectId: new Uint8Array(32), body: { scopes: [{ slot: 's1', purposes: [{ purpose: 'mqtt.subscribe', topics: ['plant/#'] }] }] } } as unknown as Valid<Grant>;

function channel(subscribe: (f: string) => Promise<void>) {
  const sent: HilMessage[] = [];
  let deliver: (topic: string, payload: Uint8Array) => void = () => {};
  const device = { slot: 's1', id: 'd', kind: 'mqtt', driver: 'mqtt-bridge', onReading: () => () => {}, onMessage: (cb: typeof deliver) => ((deliver = cb), () => {}), subscribe, publish: async () => {} } as unknown as MqttDevice;
  const ctx: ChannelContext = { authority: new SlotAuthority(grant, { slot: 's1', device: 'd' }), audit: () => true, send: (m) => (sent.push(m), true), dropped: () => {}, maxPending: 64, epoch: 1 };
  return { ch: serveMqtt(ctx, device), sent, deliver: (t: string) => deliver(t, new Uint8Array(1)) };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('mqtt mode: at most MAX_SUBSCRIPTIONS filters per channel', () => {
  it('a burst of sub in one turn: MAX_SUBSCRIPTIONS subacks, the rest refused TOO_MANY_SUBSCRIPTIONS', async () => {
    const c = channel(async () => {});
    for (let i = 0; i < 3000; i++) c.ch.onMessage({ t: 'sub', filter: `plant/${i}` });
    await settle();
    expect(c.sent.filter((m) => m.t === 'suback')).toHaveLength(MAX_SUBSCRIPTIONS);
    expect(c.sent.filter((m) => m.t === 'refused' && m.code === 'TOO_MANY_SUBSCRIPTIONS')).toHaveLength(3000 - MAX_SUBSCRIPTIONS);
  });

  it('the same filter twice, even before the first answer, takes one place; a failed subscribe gives its place back', async () => {
    let fail = true;
    const c = channel(async (f) => {
      if (fail && f === 'plant/bad') throw Object.assign(new Error('not bridged'), { code: 'TOPIC_NOT_BRIDGED' });
    });
    c.ch.onMessage({ t: 'sub', filter: 'plant/a' });
    c.ch.onMessage({ t: 'sub', filter: 'plant/a' });
    c.ch.onMessage({ t: 'sub', filter: 'plant/bad' });
    await settle();
    for (let i = 0; i < MAX_SUBSCRIPTIONS - 1; i++) c.ch.onMessage({ t: 'sub', filter: `plant/x${i}` });
    await settle();
    // plant/a once and 63 more: full (plant/bad's place came back when it failed).
    expect(c.sent.filter((m) => m.t === 'refused' && m.code === 'TOO_MANY_SUBSCRIPTIONS')).toHaveLength(0);
    c.ch.onMessage({ t: 'sub', filter: 'plant/one-more' });
    await settle();
    expect(c.sent.at(-1)).toMatchObject({ t: 'refused', code: 'TOO_MANY_SUBSCRIPTIONS' });
    // Messages reach the channel for its filters, once each.
    c.deliver('plant/a');
    expect(c.sent.filter((m) => m.t === 'msg')).toHaveLength(1);
  });
});
