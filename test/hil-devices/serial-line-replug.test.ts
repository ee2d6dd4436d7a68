// The serial-line splice (issue #10): a line cut by an unplug must never be glued onto a line after
// the replug. Real serialport binding, a real socat PTY whose gateway side is unplugged and
// plugged back (VirtualLine), the real SerialLink reconnecting, and the real drivers. Bytes are
// written from the device end of the line at chosen points, so the cut always falls mid-line; a
// streaming line sensor then cuts wherever the unplug happens to fall.

import { afterEach, describe, expect, it } from 'vitest';
import type { SerialLineDevice, SerialRawDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { DeviceErrorCode } from '../../src/hil-devices/errors.js';
import { SerialLine } from '../../src/hil-devices/serial-line.js';
import { SerialRaw } from '../../src/hil-devices/serial-raw.js';
import { SerialLink } from '../../src/ports/serial.js';
import type { VirtualLine } from '../../src/sim/virtual-line.js';
import { errorOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupVirtualSerial, virtualLine, virtualSensor, waitFor } from '../virtual-serial/harness.js';

const BAUD = 115_200;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await cleanupVirtualSerial();
});

function lineCfg(): SerialLineDevice {
  return { id: 'sensor-7', driver: 'serial-line', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 }, delimiter: '\n', maxLineBytes: 256, encoding: 'utf8' };
}

/** A link (short backoff, so replugs are quick) and a driver listening before the port first opens. */
function lineOn(path: string, baud = BAUD): { link: SerialLink; dev: SerialLine; lines: () => string[] } {
  const link = new SerialLink({ path, baudRate: baud, backoff: { baseMs: 10, capMs: 50 } });
  const dev = new SerialLine('tty-1', { ...lineCfg(), serial: { ...lineCfg().serial, baudRate: baud } }, link);
  const readings: Reading[] = [];
  dev.onReading((r) => readings.push(r));
  dev.start();
  link.start();
  closers.push(async () => (await dev.stop(), await link.close()));
  return { link, dev, lines: () => readings.map((r) => (r.value as { line: string }).line) };
}

/** Writes from the device end of the line. */
function say(line: VirtualLine, text: string): void {
  line.device!.write(Buffer.from(text, 'latin1'));
}

async function pullAndReplug(line: VirtualLine, link: SerialLink): Promise<void> {
  await line.unplug();
  await waitFor(() => link.state !== 'open', 10_000, 'the link to notice the unplug');
  await line.replug();
  await link.whenOpen();
}

describe('serial-line across unplug/replug (real PTY, real driver)', () => {
  it('drops the line cut by the unplug and the tail the device was sending when it came back', async () => {
    const line = await virtualLine({ baud: BAUD });
    const { link, dev, lines } = lineOn(line.path);
    await link.whenOpen();
    // The port opened while the device was talking: what comes before the first delimiter is a tail.
    say(line, '21.0;H=40\r\nN=1;T=21.0;H=40\r\n');
    await waitFor(() => lines().length === 1, 10_000, 'the first line');
    say(line, 'N=43;T=21.9;H=');
    await waitFor(() => dev.status().heldBytes === 14, 10_000, 'the partial line to be held');

    await line.unplug();
    await waitFor(() => link.state !== 'open', 10_000, 'the link to notice the unplug');
    expect(dev.status().heldBytes).toBe(0); // the head of the cut line is gone with the port
    await line.replug();
    await link.whenOpen();
    // The device was mid-line when the cable came back: a tail, then whole lines.
    say(line, '0;H=40\r\nN=54;T=22.0;H=40\r\n');
    await waitFor(() => lines().length === 2, 10_000, 'the first whole line after the replug');

    expect(lines()).toEqual(['N=1;T=21.0;H=40', 'N=54;T=22.0;H=40']);
    expect(dev.status().resyncs).toBeGreaterThanOrEqual(2); // lost, reopened
  });

  it('an operator write after the replug ends the wait for a delimiter: the answer is a reading', async () => {
    const line = await virtualLine({ baud: BAUD });
    const { link, dev, lines } = lineOn(line.path);
    await link.whenOpen();
    await pullAndReplug(line, link);
    await dev.write(Buffer.from('READ?\n'));
    say(line, 'N=7;T=20.5;H=39\r\n');
    await waitFor(() => lines().length === 1, 10_000, 'the answer');
    expect(lines()).toEqual(['N=7;T=20.5;H=39']);
  });

  it('a write while the port is down is refused with DEVICE_UNAVAILABLE, not queued for later', async () => {
    const line = await virtualLine({ baud: BAUD });
    const { link, dev } = lineOn(line.path);
    await link.whenOpen();
    expect(dev.available).toBe(true);
    await line.unplug();
    await waitFor(() => link.state !== 'open', 10_000, 'the link to notice the unplug');
    expect(dev.available).toBe(false);
    expect((await errorOf(dev.write(Buffer.from('SET=1\n')))).code).toBe(DeviceErrorCode.DEVICE_UNAVAILABLE);
    expect(link.pendingBytes).toBe(0);
    expect(dev.port).toMatchObject({ kind: 'serial', path: line.path });
    expect(dev.port.state).not.toBe('open');
  });

  it('a streaming sensor unplugged ten times mid-line: every reading is a whole line, in order', async () => {
    // 9600 baud: a 20-byte line is on the wire ~21 ms of every 25, so the unplugs fall mid-line.
    const v = await virtualSensor({ baud: 9600, id: 'S', intervalMs: 25, reading: (seq) => `N=${seq};T=${(20 + (seq % 50) / 10).toFixed(1)};H=${40 + (seq % 9)}` });
    const { link, lines } = lineOn(v.path, 9600);
    await link.whenOpen();
    for (let i = 0; i < 10; i++) {
      const before = lines().length;
      await waitFor(() => lines().length >= before + 2, 10_000, 'readings between unplugs');
      await pullAndReplug(v.line, link);
    }
    const before = lines().length;
    await waitFor(() => lines().length >= before + 3, 10_000, 'readings after the last replug');

    for (const l of lines()) expect(l).toMatch(/^N=\d+;T=\d+\.\d;H=\d+$/);
    const seqs = lines().map((l) => Number(/^N=(\d+)/.exec(l)![1]));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  }, 60_000);
});

describe('serial-raw across unplug/replug', () => {
  it('hands on the bytes from before the unplug at once: they never share a chunk with bytes from after', async () => {
    const line = await virtualLine({ baud: BAUD });
    const clock = new FakeClock(); // the idle flush never fires: only the state change can flush
    const link = new SerialLink({ path: line.path, baudRate: BAUD, backoff: { baseMs: 10, capMs: 50 } }).start();
    const cfg: SerialRawDevice = { id: 'console', driver: 'serial-raw', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 }, maxBufferBytes: 1024, idleFlushMs: 50 };
    const dev = new SerialRaw('tty-2', cfg, link, { clock });
    const chunks: string[] = [];
    dev.onData((d) => chunks.push(Buffer.from(d).toString('latin1')));
    dev.start();
    closers.push(async () => (await dev.stop(), await link.close()));
    await link.whenOpen();
    say(line, 'before');
    await waitFor(() => dev.status().heldBytes === 6, 10_000, 'the bytes to be held');
    await pullAndReplug(line, link);
    say(line, 'after');
    await waitFor(() => dev.status().heldBytes === 5, 10_000, 'the new bytes to be held');
    await dev.stop();
    expect(chunks).toEqual(['before', 'after']);
  });
});
