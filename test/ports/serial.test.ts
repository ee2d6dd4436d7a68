// SerialLink on serialport's mock binding with a fake clock: states, writes and their bound while
// the device is away, reconnect with capped exponential backoff, RS-485 direction control order,
// listener faults contained, and listPorts() without udevadm. (The real binding over PTYs, with
// unplug/replug, the write bound while the device is away and close() then, is in serial-pty.test.ts.)

import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialPortMock } from 'serialport';
import { SerialLink } from '../../src/ports/serial.js';
import type { SerialState } from '../../src/ports/serial-status.js';
import { listPorts } from '../../src/ports/serial-list.js';
import type { PortOpenOptions, SerialPortLike } from '../../src/ports/serial-port-like.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { errorOf } from '../helpers/errors.js';
import { CommonCode } from '../../src/lib/errors.js';
import { PortErrorCode } from '../../src/ports/errors.js';

const PATH = '/dev/ttyMOCK0';
const mockFactory = (o: PortOpenOptions): SerialPortLike => new SerialPortMock({ ...o, autoOpen: false });

afterEach(() => SerialPortMock.binding.reset());

/** The port each link's factory made last: the tests reach the mock binding through it, not through the link. */
const lastPort = new WeakMap<SerialLink, SerialPortLike>();

function link(opts: { clock?: FakeClock; maxQueuedBytes?: number; random?: () => number; factory?: (o: PortOpenOptions) => SerialPortLike; rs485?: ConstructorParameters<typeof SerialLink>[0]['rs485'] } = {}) {
  const states: SerialState[] = [];
  const factory = opts.factory ?? mockFactory;
  const l: SerialLink = new SerialLink({
    path: PATH,
    baudRate: 9600,
    portFactory: (o) => {
      const port = factory(o);
      lastPort.set(l, port);
      return port;
    },
    clock: opts.clock ?? new FakeClock(),
    ...(opts.maxQueuedBytes !== undefined ? { maxQueuedBytes: opts.maxQueuedBytes } : {}),
    backoff: { random: opts.random ?? (() => 0.5) },
    ...(opts.rs485 ? { rs485: opts.rs485 } : {}),
  });
  l.on('state', (s) => states.push(s));
  return { l, states };
}

/** The mock binding's port behind the link's current stream. */
function bindingOf(l: SerialLink): { recording: Buffer; emitData(d: Buffer | string): void } {
  return (lastPort.get(l) as SerialPortMock).port!;
}

/** Simulates an unplug: the stream reports a disconnect, as serialport does on EIO. */
function unplug(l: SerialLink): void {
  const port = lastPort.get(l) as unknown as { close(cb: undefined, e: Error): void };
  port.close(undefined, Object.assign(new Error('device disconnected'), { disconnected: true }));
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SerialLink (mock binding)', () => {
  it('opens, reads, writes', async () => {
    SerialPortMock.binding.createPort(PATH, { record: true });
    const { l, states } = link();
    const got: number[] = [];
    l.on('data', (c) => got.push(...c));
    l.start();
    await l.whenOpen();
    expect(states).toEqual(['opening', 'open']);
    await l.write(Uint8Array.of(1, 2, 3));
    expect([...bindingOf(l).recording]).toEqual([1, 2, 3]);
    bindingOf(l).emitData(Buffer.from([9, 8]));
    await tick();
    expect(got).toEqual([9, 8]);
    expect(l.stats.bytesOut).toBe(3);
    expect(l.stats.bytesIn).toBe(2);
    await l.close();
  });

  it('retries a missing device with capped exponential backoff and opens when it appears', async () => {
    const clock = new FakeClock();
    const { l } = link({ clock, random: () => 0.999 });
    l.start();
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      await tick();
      await tick();
      expect(l.state).toBe('waiting');
      delays.push(l.stats.lastRetryMs!);
      clock.advance(l.stats.lastRetryMs!);
    }
    // random 0.999 of min(10 s, 250 ms * 2^attempt): 249, 499, 999, 1998, 3996, 7992, 9990, 9990, ...
    expect(delays).toEqual([249, 499, 999, 1998, 3996, 7992, 9990, 9990, 9990]);
    expect(l.stats.openFailures).toBe(9);
    SerialPortMock.binding.createPort(PATH);
    await tick();
    await tick();
    clock.advance(10_000);
    await l.whenOpen();
    expect(l.stats.opens).toBe(1);
    await l.close();
  });

  it('survives unplug: queues writes (bounded), counts drops, flushes after replug', async () => {
    SerialPortMock.binding.createPort(PATH, { record: true });
    const clock = new FakeClock();
    const { l, states } = link({ clock, maxQueuedBytes: 10 });
    const drops: string[] = [];
    l.on('drop', (d) => drops.push(`${d.reason}:${d.bytes}`));
    l.start();
    await l.whenOpen();
    unplug(l);
    await tick();
    await tick();
    expect(l.state).toBe('waiting');
    expect(l.stats.disconnects).toBe(1);
    const queued = l.write(Uint8Array.of(1, 2, 3, 4, 5, 6));
    const refused = await errorOf(l.write(Uint8Array.of(7, 8, 9, 10, 11)));
    expect(refused.code).toBe(CommonCode.BUFFER_FULL);
    expect(l.stats.droppedWrites).toBe(1);
    expect(l.stats.droppedBytes).toBe(5);
    expect(drops).toEqual(['queue-full:5']);
    expect(l.pendingBytes).toBe(6);
    clock.advance(l.stats.lastRetryMs!);
    await l.whenOpen();
    await queued;
    expect([...bindingOf(l).recording]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(states).toEqual(['opening', 'open', 'waiting', 'opening', 'open']);
    await l.close();
  });

  it('close() rejects pending writes and stops reconnecting', async () => {
    const clock = new FakeClock();
    const { l } = link({ clock });
    l.start();
    await tick();
    const w = errorOf(l.write(Uint8Array.of(1)));
    await l.close();
    expect((await w).code).toBe(PortErrorCode.PORT_CLOSED);
    expect(l.state).toBe('closed');
    expect(clock.pending).toBe(0);
    expect((await errorOf(l.write(Uint8Array.of(1)))).code).toBe(PortErrorCode.PORT_CLOSED);
    expect((await errorOf(l.whenOpen())).code).toBe(PortErrorCode.PORT_CLOSED);
  });

  it('a throwing listener does not break the link', async () => {
    SerialPortMock.binding.createPort(PATH);
    const { l } = link();
    l.on('data', () => {
      throw new Error('consumer bug');
    });
    const got: number[] = [];
    l.on('data', (c) => got.push(...c));
    l.start();
    await l.whenOpen();
    bindingOf(l).emitData(Buffer.from([1]));
    await tick();
    bindingOf(l).emitData(Buffer.from([2]));
    await tick();
    expect(l.state).toBe('open');
    expect(got).toEqual([1, 2]);
    await l.close();
  });

  it('RS-485 software direction: RTS raised, frame written and drained, RTS lowered', async () => {
    SerialPortMock.binding.createPort(PATH);
    const calls: string[] = [];
    const factory = (o: PortOpenOptions): SerialPortLike => {
      const p = new SerialPortMock({ ...o, autoOpen: false });
      const set = p.set.bind(p);
      const write = p.write.bind(p);
      const drain = p.drain.bind(p);
      return Object.assign(p, {
        set: (opts: { rts?: boolean }, cb: (e: Error | null) => void) => (calls.push(`rts=${opts.rts}`), set(opts, cb)),
        write: (d: Buffer, cb: (e: Error | null | undefined) => void) => (calls.push(`write ${d.length}`), write(d, cb)),
        drain: (cb: (e: Error | null) => void) => (calls.push('drain'), drain(cb)),
      }) as unknown as SerialPortLike;
    };
    const { l } = link({ factory, rs485: { direction: 'rts' } });
    l.start();
    await l.whenOpen();
    expect(calls).toEqual(['rts=false']); // transmitter released right after open
    calls.length = 0;
    await l.write(Uint8Array.of(1, 2, 3));
    expect(calls).toEqual(['rts=true', 'write 3', 'drain', 'rts=false']);
    await l.close();

    calls.length = 0;
    const inverted = link({ factory, rs485: { direction: 'rts', rtsActiveLow: true } }).l;
    inverted.start();
    await inverted.whenOpen();
    await inverted.write(Uint8Array.of(1));
    expect(calls).toEqual(['rts=true', 'rts=false', 'write 1', 'drain', 'rts=true']);
    await inverted.close();
  });
});

describe('listPorts', () => {
  it('returns an empty list and the reason when listing fails (no udevadm)', async () => {
    const r = await listPorts(() => Promise.reject(new Error('spawn udevadm ENOENT')));
    expect(r.ports).toEqual([]);
    expect(r.reason).toMatch(/udevadm/);
  });

  it('passes a working list through', async () => {
    const info = { path: '/dev/ttyUSB0', manufacturer: 'FTDI', serialNumber: undefined, pnpId: undefined, locationId: undefined, productId: '6001', vendorId: '0403' };
    expect(await listPorts(() => Promise.resolve([info]))).toEqual({ ports: [info] });
  });

  it('with the real binding: a list when udevadm is here, else the udevadm reason', async () => {
    const r = await listPorts();
    expect(Array.isArray(r.ports)).toBe(true);
    const udevadm = spawnSync('udevadm', ['--version']).status === 0;
    if (udevadm) expect(r.reason).toBeUndefined();
    else expect(r).toMatchObject({ ports: [], reason: expect.stringMatching(/udevadm/) });
  });
});
