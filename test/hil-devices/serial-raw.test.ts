// serial-raw: coalescing on line silence and the buffer bound, on a fake clock (the SerialLink is
// real but not started; the test plays the bytes it would emit), then byte passthrough with the
// real serialport binding over a paced PTY line to the echo device.

import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SerialRawDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { SerialRaw } from '../../src/hil-devices/serial-raw.js';
import { SerialLink } from '../../src/ports/serial.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { cleanupVirtualSerial, virtualEcho, waitFor } from '../virtual-serial/harness.js';

const BAUD = 115_200;

function cfg(o: Partial<SerialRawDevice> = {}): SerialRawDevice {
  return { id: 'console-1', driver: 'serial-raw', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 }, maxBufferBytes: 256, idleFlushMs: 10, ...o };
}

function offline(c: SerialRawDevice): { dev: SerialRaw; link: SerialLink; clock: FakeClock; chunks: Buffer[]; readings: Reading[] } {
  const clock = new FakeClock();
  const link = new SerialLink({ path: '/nonexistent/ttyRAW', baudRate: BAUD });
  const dev = new SerialRaw('uart-2', c, link, { clock, now: () => 1_700_000_000_000 });
  const chunks: Buffer[] = [];
  const readings: Reading[] = [];
  dev.onData((d) => chunks.push(Buffer.from(d)));
  dev.onReading((r) => readings.push(r));
  dev.start();
  return { dev, link, clock, chunks, readings };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('serial-raw coalescing (fake clock)', () => {
  it('hands a chunk on after idleFlushMs of silence; every new byte restarts the wait', () => {
    const { link, clock, chunks, readings, dev } = offline(cfg());
    link.emit('data', b('he'));
    clock.advance(9);
    link.emit('data', b('llo'));
    clock.advance(9);
    expect(chunks).toEqual([]);
    clock.advance(1);
    expect(chunks.map(String)).toEqual(['hello']);
    expect(readings).toEqual([{ slot: 'uart-2', device: 'console-1', kind: 'serial', seq: 0, ts: 1_700_000_000_000, value: { bytes: new Uint8Array(b('hello')) } }]);
    link.emit('data', b('!'));
    clock.advance(10);
    expect(chunks.map(String)).toEqual(['hello', '!']);
    expect(dev.status()).toMatchObject({ idleFlushes: 2, fullFlushes: 0, bytesIn: 6, heldBytes: 0, readings: 2 });
  });

  it('a full buffer goes out at once: a device that never pauses loses nothing', () => {
    const { link, clock, chunks, dev } = offline(cfg({ maxBufferBytes: 256 }));
    const stream = Buffer.alloc(1000, 0).map((_, i) => i % 251);
    for (let at = 0; at < stream.length; at += 7) link.emit('data', stream.subarray(at, at + 7)); // no silence at all
    expect(chunks.map((c) => c.length)).toEqual([256, 256, 256]);
    clock.advance(10);
    expect(chunks.map((c) => c.length)).toEqual([256, 256, 256, 232]);
    expect(Buffer.concat(chunks)).toEqual(stream);
    expect(dev.status()).toMatchObject({ fullFlushes: 3, idleFlushes: 1 });
  });

  it('idleFlushMs 0: every read is handed on as it comes; stop() flushes and detaches', async () => {
    const z = offline(cfg({ idleFlushMs: 0 }));
    z.link.emit('data', b('a'));
    z.link.emit('data', b('bc'));
    expect(z.chunks.map(String)).toEqual(['a', 'bc']);
    const s = offline(cfg());
    s.link.emit('data', b('tail'));
    await s.dev.stop();
    expect(s.chunks.map(String)).toEqual(['tail']);
    s.link.emit('data', b('late'));
    s.clock.advance(100);
    expect(s.chunks.map(String)).toEqual(['tail']);
    expect(s.clock.pending).toBe(0);
  });

  it('property: whatever the chunking and silences, the bytes come out whole, in order, in chunks <= maxBufferBytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 20 })), { maxLength: 30 }), fc.integer({ min: 1, max: 512 }), (reads, max) => {
        const { link, clock, chunks, readings } = offline(cfg({ maxBufferBytes: max }));
        for (const [bytes, gap] of reads) {
          link.emit('data', bytes);
          clock.advance(gap);
        }
        clock.advance(10);
        expect(Buffer.concat(chunks)).toEqual(Buffer.concat(reads.map(([x]) => x)));
        for (const c of chunks) expect(c.length).toBeLessThanOrEqual(max);
        expect(readings.map((r) => r.seq)).toEqual(chunks.map((_, i) => i));
      }),
      { numRuns: 500 },
    );
  });
});

afterEach(cleanupVirtualSerial);

describe('serial-raw against the echo device (real serialport over a paced PTY)', () => {
  it('bytes written come back through onData and readings, whole, bounded and in order', async () => {
    const v = await virtualEcho({ baud: BAUD });
    const link = new SerialLink({ path: v.path, baudRate: BAUD }).start();
    await link.whenOpen();
    const dev = new SerialRaw('uart-2', cfg({ maxBufferBytes: 256, idleFlushMs: 20 }), link);
    const chunks: Buffer[] = [];
    const readings: Reading[] = [];
    dev.onData((d) => chunks.push(Buffer.from(d)));
    dev.onReading((r) => readings.push(r));
    dev.start();
    try {
      // 1,000 bytes at 115200 baud: the pacer delivers them in ~1 ms batches.
      const sent = Buffer.alloc(1000).map((_, i) => (i * 7) % 256);
      await dev.write(sent);
      await waitFor(() => Buffer.concat(chunks).length >= sent.length, 10_000, 'the echo');
      expect(Buffer.concat(chunks)).toEqual(sent);
      expect(readings.map((r) => Buffer.from((r.value as { bytes: Uint8Array }).bytes))).toEqual(chunks);
      for (const c of chunks) expect(c.length).toBeLessThanOrEqual(256);
      expect(dev.status()).toMatchObject({ bytesIn: 1000, bytesOut: 1000 });
      expect(chunks.length).toBeGreaterThanOrEqual(4); // 1,000 bytes cannot fit in three 256-byte chunks
      expect(dev.status().fullFlushes + dev.status().idleFlushes).toBe(chunks.length);
      expect(v.echo.bytes).toBe(1000);
    } finally {
      await dev.stop();
      await link.close();
    }
  });
});
