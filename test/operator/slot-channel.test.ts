// SlotChannel over a real session pair and broker: calls made after the session ended reject at
// once (no request left to time out later as an unhandled rejection).

import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { AuditLog } from '../../src/gateway/hil/audit.js';
import { HilBroker } from '../../src/gateway/hil/broker.js';
import type { ModbusDevice, MqttDevice, Reading, SerialDevice } from '../../src/hil/device.js';
import { DeviceError, DeviceErrorCode } from '../../src/hil-devices/errors.js';
import { encodeHil, type HilMessage } from '../../src/hil/messages.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { sessionPair } from '../helpers/session-pair.js';

const device: ModbusDevice = { slot: 's1', id: 'd1', driver: 'modbus-poller', kind: 'modbus', onReading: () => () => {}, request: async (_u, pdu) => pdu.slice() };

describe('SlotChannel', () => {
  it('rejects calls after the session ended, and leaves nothing to reject later', async () => {
    const p = sessionPair({ purposes: [{ purpose: 'modbus.read' }], slot: 's1' });
    new HilBroker({ devices: new Map([['s1', device]]), audit: AuditLog.create(new Writable({ write: (_c, _e, cb) => cb() })) }).serve(p.gateway, p.grant, p.d.clock);
    const slot = await SlotChannel.open(p.operator, 's1', 'modbus');
    expect((await slot.modbus(1, Uint8Array.of(3, 0, 0, 0, 1))).pdu).toEqual(Uint8Array.of(3, 0, 0, 0, 1));
    const ended = new Promise((r) => slot.once('end', r));
    p.operator.close();
    await ended;
    await expect(slot.modbus(1, Uint8Array.of(3, 0, 0, 0, 1))).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
    await expect(slot.subscribe('a/#')).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
    await expect(SlotChannel.open(p.operator, 's1', 'modbus')).rejects.toMatchObject({ code: 'SESSION_CLOSED' });
  });

  it('a gateway that never answers the open: the open fails LINK_TIMEOUT after the request timeout, not never', async () => {
    const p = sessionPair({ purposes: [{ purpose: 'modbus.read' }], slot: 's1' });
    // No broker serves the gateway side: the open is received and never answered.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const opening = SlotChannel.open(p.operator, 's1', 'modbus');
      const failed = expect(opening).rejects.toMatchObject({ code: 'LINK_TIMEOUT' });
      await vi.advanceTimersByTimeAsync(10_000);
      await failed;
    } finally {
      vi.useRealTimers();
      p.operator.close();
    }
  });

  it('messages() on a channel of an ended session finishes instead of waiting forever', async () => {
    const p = sessionPair({ purposes: [{ purpose: 'modbus.read' }], slot: 's1' });
    const ch = p.operator.openChannel();
    p.operator.close();
    await new Promise((r) => p.operator.once('close', r));
    const seen: Uint8Array[] = [];
    for await (const m of ch.messages()) seen.push(m);
    expect(seen).toEqual([]);
  });

  it('a reading in the same block as `opened` is held until the caller listens, never dropped', async () => {
    // The device answers the tail subscription at once, so `opened` and three readings leave the
    // gateway back to back (one block); open() resolves only after they were all decoded.
    const reading = (seq: number): Reading => ({ slot: 's1', device: 'd1', kind: 'serial', seq, ts: 1_700_000_000_000 + seq, value: `line ${seq}` });
    const serial: SerialDevice = { slot: 's1', id: 'd1', driver: 'serial-line', kind: 'serial', onReading: (cb) => ([1, 2, 3].forEach((n) => cb(reading(n))), () => {}), onData: () => () => {}, write: async () => {} };
    const p = sessionPair({ purposes: [{ purpose: 'serial.read' }], slot: 's1' });
    new HilBroker({ devices: new Map([['s1', serial]]), audit: AuditLog.create(new Writable({ write: (_c, _e, cb) => cb() })) }).serve(p.gateway, p.grant, p.d.clock);
    const slot = await SlotChannel.open(p.operator, 's1', 'tail');
    // Let every message of that block be decoded before anyone listens.
    await new Promise((r) => setTimeout(r, 50));
    const seen: number[] = [];
    await new Promise<void>((resolve) =>
      slot.on('reading', (r: { seq: number }) => {
        seen.push(r.seq);
        if (seen.length === 3) resolve();
      }),
    );
    expect(seen).toEqual([1, 2, 3]);
    expect(slot.heldDropped).toBe(0);
  });

  it('a subscription the bridge does not carry is refused with the filters it does carry', async () => {
    const bridged = { subscribe: ['plant/press-2/telemetry/#'], publish: ['plant/press-2/cmd/#'] };
    const device: MqttDevice = {
      slot: 's1', id: 'press-2', driver: 'mqtt-bridge', kind: 'mqtt', bridged,
      onReading: () => () => {},
      onMessage: () => () => {},
      subscribe: async (f) => { throw new DeviceError(DeviceErrorCode.TOPIC_NOT_BRIDGED, `${f} is not bridged`); },
      publish: async (t) => { throw new DeviceError(DeviceErrorCode.TOPIC_NOT_BRIDGED, `${t} is not bridged`); },
    };
    const p = sessionPair({ purposes: [{ purpose: 'mqtt.subscribe' }, { purpose: 'mqtt.publish' }], slot: 's1' });
    new HilBroker({ devices: new Map([['s1', device]]), audit: AuditLog.create(new Writable({ write: (_c, _e, cb) => cb() })) }).serve(p.gateway, p.grant, p.d.clock);
    const slot = await SlotChannel.open(p.operator, 's1', 'mqtt');
    await expect(slot.subscribe('plant/#')).rejects.toMatchObject({ refusal: 'TOPIC_NOT_BRIDGED', bridged: ['plant/press-2/telemetry/#'] });
    await expect(slot.publish('plant/press-2/telemetry/x', Uint8Array.of(1))).rejects.toMatchObject({ refusal: 'TOPIC_NOT_BRIDGED', bridged: ['plant/press-2/cmd/#'] });
  });

  it('concurrent modbus calls stop at 256 in flight: a call counts from before its send, not after', async () => {
    const { ch, slot } = await fakeOpen('modbus');
    // Sends that wait for room (a full session buffer) and are never answered.
    ch.send = () => new Promise((r) => setTimeout(r, 5));
    const settled = Promise.allSettled(Array.from({ length: 300 }, () => slot.modbus(1, Uint8Array.of(3, 0, 0, 0, 1))));
    await new Promise((r) => setTimeout(r, 50));
    ch.emit('end'); // the session ended: the 256 in flight reject SESSION_CLOSED
    const codes = (await settled).map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'ok'));
    // Before the fix all 300 passed the check (nothing was pending while the sends waited).
    expect(codes.filter((c) => c === 'BUFFER_FULL').length).toBe(44);
    expect(codes.filter((c) => c === 'SESSION_CLOSED').length).toBe(256);
  });

  it('holds only the stream kind its mode carries: data and msg on a modbus channel are dropped and counted, not kept for nobody', async () => {
    const { ch, slot } = await fakeOpen('modbus');
    const big = new Uint8Array(1024 * 1024 - 64);
    for (let i = 0; i < 8; i++) {
      ch.emit('message', encodeHil({ t: 'data', d: big }));
      ch.emit('message', encodeHil({ t: 'msg', topic: 'a', payload: big }));
    }
    const seen: unknown[] = [];
    slot.on('data', (d) => seen.push(d));
    slot.on('msg', (t) => seen.push(t));
    await new Promise((r) => setTimeout(r, 5));
    // Before the fix: all 16 (16 MiB) held and delivered to these late listeners.
    expect(seen).toHaveLength(0);
    expect(slot.heldDropped).toBe(16);
  });

  it('what its mode carries is held up to 4 MiB: the newest, in order, the rest counted', async () => {
    const { ch, slot } = await fakeOpen('serial');
    for (let i = 0; i < 16; i++) ch.emit('message', encodeHil({ t: 'data', d: new Uint8Array(1024 * 1024 - 64).fill(i) }));
    const seen: number[] = [];
    slot.on('data', (d: Uint8Array) => seen.push(d[0]!));
    await new Promise((r) => setTimeout(r, 5));
    // Four messages of just under 1 MiB fit; before the fix all 16 were held (only 1024 messages counted).
    expect(seen).toEqual([12, 13, 14, 15]);
    expect(slot.heldDropped).toBe(12);
  });

  it('an `opened` for another slot or mode than asked is refused HIL_OPENED_MISMATCH, the channel closed', async () => {
    for (const wrong of [{ slot: 's2' }, { mode: 'tail' as const }]) {
      const { ch, opening } = await fakeOpening('modbus', wrong);
      // Before the fix the open resolved, with a channel of another slot or mode.
      await expect(opening).rejects.toMatchObject({ code: 'HIL_OPENED_MISMATCH', fault: 'peer' });
      expect(ch.closed).toBe(true);
    }
  });
});

/** A SlotChannel opening over a bare channel the test drives: `ch.emit('message', …)` is the gateway speaking. */
async function fakeOpening(mode: 'modbus' | 'serial' | 'tail' | 'mqtt', opened: Partial<Extract<HilMessage, { t: 'opened' }>> = {}) {
  const ch = Object.assign(new EventEmitter(), { closed: false, send: async (_b: Uint8Array): Promise<void> => {}, close: async () => void (ch.closed = true) });
  const opening = SlotChannel.open({ openChannel: () => ch } as never, 's1', mode);
  await new Promise((r) => setTimeout(r, 5));
  ch.emit('message', encodeHil({ t: 'opened', slot: 's1', device: 'd1', driver: 'x', mode, purposes: [], ...opened }));
  return { ch, opening };
}

async function fakeOpen(mode: 'modbus' | 'serial' | 'tail' | 'mqtt') {
  const { ch, opening } = await fakeOpening(mode);
  return { ch, slot: await opening };
}
