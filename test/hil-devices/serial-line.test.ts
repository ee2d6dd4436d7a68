// serial-line: the line splitter as a pure function (chunking never changes the lines, memory
// stays bounded), then the driver with the real serialport binding over a paced PTY line to the
// line-sensor simulator: readings, writes (commands and answers), truncation of overlong lines.

import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SerialLineDevice } from '../../src/config/types.js';
import type { Reading } from '../../src/hil/device.js';
import { LineSplitter, SerialLine } from '../../src/hil-devices/serial-line.js';
import { SerialLink } from '../../src/ports/serial.js';
import { codeOf } from '../helpers/errors.js';
import { cleanupVirtualSerial, virtualSensor, waitFor } from '../virtual-serial/harness.js';
import { CommonCode } from '../../src/lib/errors.js';

const BAUD = 115_200;

/** The lines a stream ending in a delimiter holds, by the rule in docs/DEVICES.md, written plainly. */
function model(data: Buffer, delim: Buffer, max: number): [string, boolean][] {
  const out: [string, boolean][] = [];
  let start = 0;
  for (let i = data.indexOf(delim); i !== -1; i = data.indexOf(delim, start)) {
    let line = data.subarray(start, i);
    if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    out.push(line.length > max ? [line.subarray(0, max).toString('latin1'), true] : [line.toString('latin1'), false]);
    start = i + delim.length;
  }
  return out;
}

function split(chunks: Uint8Array[], delim: Buffer, max: number): { lines: [string, boolean][]; maxHeld: number } {
  const lines: [string, boolean][] = [];
  const s = new LineSplitter(delim, max, (l, t) => lines.push([Buffer.from(l).toString('latin1'), t]));
  let maxHeld = 0;
  for (const c of chunks) {
    s.push(c);
    maxHeld = Math.max(maxHeld, s.held);
  }
  return { lines, maxHeld };
}

describe('LineSplitter', () => {
  it('examples: CR LF, a bare delimiter, an overlong line cut once and the rest skipped', () => {
    const nl = Buffer.from('\n');
    expect(split([Buffer.from('T=21.4\r\nH=40\n\nx')], nl, 16).lines).toEqual([
      ['T=21.4', false],
      ['H=40', false],
      ['', false],
    ]);
    expect(split([Buffer.from('0123456789ABCDEF'), Buffer.from('GHIJ\nok\n')], nl, 8).lines).toEqual([
      ['01234567', true],
      ['ok', false],
    ]);
    expect(split([Buffer.from('a|b||c|')], Buffer.from('||'), 8).lines).toEqual([['a|b', false]]);
    expect(codeOf(() => new LineSplitter(Buffer.alloc(0), 8, () => {}))).toBe(CommonCode.USAGE);
  });

  it('property: any chunking gives the model’s lines, and at most max + delimiter bytes are held', () => {
    const alphabet = fc.constantFrom(...Buffer.from('ab\r\n|x'));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 300 }),
        fc.constantFrom('\n', '\r\n', '|', '||', 'ab'),
        fc.integer({ min: 1, max: 24 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (bytes, d, max, cuts) => {
          const delim = Buffer.from(d);
          const data = Buffer.concat([Buffer.from(bytes), delim]);
          const chunks: Uint8Array[] = [];
          for (let at = 0, k = 0; at < data.length; k++) {
            const n = cuts[k % cuts.length]!;
            chunks.push(data.subarray(at, at + n));
            at += n;
          }
          const r = split(chunks, delim, max);
          expect(r.lines).toEqual(model(data, delim, max));
          expect(r.maxHeld).toBeLessThanOrEqual(max + delim.length);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('junk: 10,000 random byte streams never throw and never hold more than the bound', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (chunks, max) => {
        const r = split(chunks, Buffer.from('\r\n'), max);
        expect(r.maxHeld).toBeLessThanOrEqual(max + 2);
        for (const [line] of r.lines) expect(line.length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 10_000 },
    );
  });
});

afterEach(cleanupVirtualSerial);

function cfg(o: Partial<SerialLineDevice> = {}): SerialLineDevice {
  return { id: 'sensor-7', driver: 'serial-line', serial: { baudRate: BAUD, dataBits: 8, parity: 'none', stopBits: 1 }, delimiter: '\n', maxLineBytes: 1024, encoding: 'utf8', ...o };
}

async function lineDevice(path: string, c: SerialLineDevice): Promise<{ dev: SerialLine; link: SerialLink; readings: Reading[]; raw: Buffer[]; close: () => Promise<void> }> {
  const link = new SerialLink({ path, baudRate: BAUD }).start();
  await link.whenOpen();
  const dev = new SerialLine('tty-1', c, link);
  const readings: Reading[] = [];
  const raw: Buffer[] = [];
  dev.onReading((r) => readings.push(r));
  dev.onData((d) => raw.push(Buffer.from(d)));
  dev.start();
  return { dev, link, readings, raw, close: async () => (await dev.stop(), await link.close()) };
}

const lineOf = (r: Reading): string => (r.value as { line: string }).line;

describe('serial-line against the line sensor (real serialport over a paced PTY)', () => {
  it('streams readings line by line, with slot, device, kind and seq; raw bytes go to onData', async () => {
    const v = await virtualSensor({ baud: BAUD, id: 'TH-100', intervalMs: 20 });
    const d = await lineDevice(v.path, cfg());
    try {
      await waitFor(() => d.readings.length >= 6, 10_000, 'six readings');
      const first = d.readings[0]!;
      expect(first).toMatchObject({ slot: 'tty-1', device: 'sensor-7', kind: 'serial' });
      expect(first.source).toBeUndefined();
      // The sensor ends lines with CR LF; the default "\n" delimiter strips the CR. (The first line
      // may have started before the port was open, so only whole lines after it are checked.)
      for (const r of d.readings.slice(1)) expect(lineOf(r)).toMatch(/^T=-?\d+\.\d;H=\d+$/);
      expect(d.readings.map((r) => r.seq)).toEqual(d.readings.map((_, i) => i));
      // onData saw the same bytes, delimiters included.
      const rawText = Buffer.concat(d.raw).toString('latin1');
      for (const r of d.readings) expect(rawText).toContain(`${lineOf(r)}\r\n`);
      expect(d.dev.status()).toMatchObject({ truncated: 0, running: true });
    } finally {
      await d.close();
    }
  });

  it('operator writes reach the instrument and its answers come back as readings', async () => {
    const v = await virtualSensor({ baud: BAUD, id: 'TH-100', intervalMs: 0 });
    const d = await lineDevice(v.path, cfg({ delimiter: '\r\n' }));
    try {
      await d.dev.write(Buffer.from('ID?\n'));
      await waitFor(() => d.readings.length >= 1, 10_000, 'the ID answer');
      await d.dev.write(Buffer.from('READ?\r\n'));
      await d.dev.write(Buffer.from('BOGUS\n'));
      await waitFor(() => d.readings.length >= 3, 10_000, 'three answers');
      expect(d.readings.map(lineOf)).toEqual(['ID=TH-100', expect.stringMatching(/^T=/), 'ERR unknown command']);
      expect(d.dev.status().bytesOut).toBe(4 + 7 + 6);
    } finally {
      await d.close();
    }
  });

  it('an overlong line is emitted cut to maxLineBytes with truncated: true, counted; the next line is whole', async () => {
    // Every other line is 300 characters; the limit is 64.
    const v = await virtualSensor({ baud: BAUD, id: 'X', intervalMs: 15, reading: (seq) => (seq % 2 === 0 ? `L${seq}:${'#'.repeat(300)}` : `S=${seq}`) });
    const d = await lineDevice(v.path, cfg({ maxLineBytes: 64 }));
    try {
      await waitFor(() => d.readings.length >= 8, 10_000, 'eight lines');
      await d.dev.stop();
      const whole = d.readings.slice(1); // the first may have begun before the port was open
      const long = whole.filter((r) => (r.value as { truncated?: boolean }).truncated === true);
      const short = whole.filter((r) => (r.value as { truncated?: boolean }).truncated === undefined);
      expect(long.length).toBeGreaterThanOrEqual(3);
      for (const r of long) expect(lineOf(r)).toMatch(/^L\d+:#+$/);
      for (const r of long) expect(lineOf(r).length).toBe(64);
      for (const r of short) expect(lineOf(r)).toMatch(/^S=\d+$/);
      expect(d.dev.status().truncated - long.length).toBeGreaterThanOrEqual(0);
      expect(d.dev.status().truncated - long.length).toBeLessThanOrEqual(1);
      // Nothing of a cut line leaks into the next one.
      expect(Math.abs(long.length - short.length)).toBeLessThanOrEqual(1);
      expect(d.dev.status().heldBytes).toBeLessThanOrEqual(64 + 1);
    } finally {
      await d.close();
    }
  });
});
