// Operator writes still queued in the SerialLink when the device is unplugged: they were for the
// device that went away, so they are refused (DEVICE_UNAVAILABLE at the driver, PORT_LOST at the
// link) and never sent after the replug, to a device that may be another one on the same path.
// serialport's mock binding with a fake clock; its writes are held (a slow line: the OS has not
// taken the first write yet) so that the unplug finds one write in flight and one queued.

import { afterEach, describe, expect, it } from 'vitest';
import { SerialPortMock } from 'serialport';
import type { SerialLineDevice } from '../../src/config/types.js';
import { DeviceErrorCode } from '../../src/hil-devices/errors.js';
import { SerialLine } from '../../src/hil-devices/serial-line.js';
import { PortErrorCode } from '../../src/ports/errors.js';
import { SerialLink } from '../../src/ports/serial.js';
import type { PortOpenOptions, SerialPortLike } from '../../src/ports/serial-port-like.js';
import { errorOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';

const PATH = '/dev/ttyLOST0';
const tick = async (n = 6): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

afterEach(() => SerialPortMock.binding.reset());

const cfg: SerialLineDevice = { id: 'valve-1', driver: 'serial-line', serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }, delimiter: '\n', maxLineBytes: 1024, encoding: 'utf8' };

/** A link on the mock binding whose port writes wait (their callbacks held) while `hold.on`. */
function slowLink(clock: FakeClock) {
  const hold = { on: true, callbacks: [] as ((e: Error | null) => void)[] };
  let last: SerialPortMock | undefined;
  const link = new SerialLink({
    path: PATH, baudRate: 9600, clock, backoff: { random: () => 0.5 },
    portFactory: (o: PortOpenOptions): SerialPortLike => {
      const p = new SerialPortMock({ ...o, autoOpen: false });
      const write = p.write.bind(p);
      (p as unknown as { write: SerialPortLike['write'] }).write = (d, cb) => (hold.on ? (hold.callbacks.push(cb), true) : write(d, cb));
      last = p;
      return p as unknown as SerialPortLike;
    },
  });
  /** The device vanishes: EIO on the stream, and the binding cancels the write it held. */
  const unplug = (): void => {
    (last as unknown as { close(cb: undefined, e: Error): void }).close(undefined, Object.assign(new Error('EIO'), { disconnected: true }));
    for (const cb of hold.callbacks.splice(0)) cb(Object.assign(new Error('Canceled'), { canceled: true }));
  };
  const recording = (): string => (last as unknown as { port: { recording: Buffer } }).port.recording.toString();
  return { link, hold, unplug, recording };
}

describe('writes queued at an unplug', () => {
  it('are refused DEVICE_UNAVAILABLE and never reach the device after the replug', async () => {
    SerialPortMock.binding.createPort(PATH, { record: true });
    const clock = new FakeClock();
    const { link, hold, unplug, recording } = slowLink(clock);
    const drops: string[] = [];
    link.on('drop', (d) => drops.push(`${d.reason}:${d.bytes}`));
    const dev = new SerialLine('tty-1', cfg, link);
    dev.start();
    link.start();
    await link.whenOpen();

    const inFlight = errorOf(dev.write(Buffer.from('PART-1\n')));
    const queued = dev.write(Buffer.from('VALVE OPEN\n')).then(() => 'sent', (e: unknown) => e);
    await tick();
    unplug();
    // The in-flight write was cut by the unplug (part of it may be on the wire): PORT_IO as before.
    expect((await inFlight).code).toBe(PortErrorCode.PORT_IO);
    // Settled at the unplug, not left to wait for a replug.
    expect(await Promise.race([queued, tick().then(() => 'still queued')])).toMatchObject({ code: DeviceErrorCode.DEVICE_UNAVAILABLE, cause: { code: PortErrorCode.PORT_LOST } });
    expect(link.pendingBytes).toBe(0);
    expect(drops).toEqual(['lost:11', 'io-error:7']);

    // The device comes back a minute later (maybe another device on the same path).
    hold.on = false;
    clock.advance(60_000);
    await link.whenOpen();
    await tick();
    expect(recording()).toBe('');
    await dev.write(Buffer.from('AFTER\n'));
    expect(recording()).toBe('AFTER\n');
    await dev.stop();
    await link.close();
  });

  it('a write made while the device is away is still the caller\'s to wait for (the link, not the driver)', async () => {
    SerialPortMock.binding.createPort(PATH, { record: true });
    const clock = new FakeClock();
    const { link, hold, unplug, recording } = slowLink(clock);
    hold.on = false;
    link.start();
    await link.whenOpen();
    unplug();
    await tick();
    expect(link.state).toBe('waiting');
    const later = link.write(Buffer.from('later'));
    clock.advance(60_000);
    await link.whenOpen();
    await later;
    expect(recording()).toBe('later');
    await link.close();
  });
});
