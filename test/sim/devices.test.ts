// The memory serial pair, the echo device and the line sensor: in memory on a fake clock, and the
// sensor once more over a paced PTY line with the real serialport binding.

import { afterEach, describe, expect, it } from 'vitest';
import { memorySerialPair } from '../../src/sim/memory-serial.js';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { defaultReading, LineSensor } from '../../src/sim/line-sensor.js';
import { codeOf } from '../helpers/errors.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { Collector } from '../virtual-serial/collect.js';
import { cleanupVirtualSerial, openPort, virtualSensor } from '../virtual-serial/harness.js';
import { CommonCode } from '../../src/lib/errors.js';

afterEach(cleanupVirtualSerial);

describe('memory serial pair', () => {
  it('carries bytes both ways, in order, on a later tick', async () => {
    const [a, b] = memorySerialPair();
    const atB = new Collector(b);
    const atA = new Collector(a);
    a.write(Buffer.from('one'));
    a.write(Buffer.from('two'));
    b.write(Buffer.from('back'));
    expect(atB.length).toBe(0); // not synchronous, like a tty read
    await atB.textIncludes('onetwo');
    await atA.textIncludes('back');
    expect(a.path).toMatch(/^memory:.+\/a$/);
  });

  it('close() closes both ends: each emits close, later writes vanish', async () => {
    const [a, b] = memorySerialPair();
    const closed = Promise.all([new Promise((r) => a.once('close', r)), new Promise((r) => b.once('close', r))]);
    const atB = new Collector(b);
    a.close();
    await closed;
    expect(a.isOpen).toBe(false);
    expect(b.isOpen).toBe(false);
    expect(atB.length).toBe(0);
  });
});

describe('echo device', () => {
  it('sends every byte back', async () => {
    const [line, dev] = memorySerialPair();
    const echo = new EchoDevice(dev);
    const c = new Collector(line);
    line.write(Buffer.from([0, 1, 2, 255]));
    await c.bytesAtLeast(4);
    expect([...c.bytes]).toEqual([0, 1, 2, 255]);
    expect(echo.bytes).toBe(4);
    echo.close();
  });
});

describe('line sensor', () => {
  function sensor(intervalMs = 1000) {
    const clock = new FakeClock(0);
    const [line, dev] = memorySerialPair();
    const s = new LineSensor(dev, { id: 'sensor-7', intervalMs, clock, reading: (seq) => `T=${20 + seq};H=40` });
    return { clock, line, s, c: new Collector(line) };
  }

  it('streams delimiter-framed readings at its interval', async () => {
    const { clock, s, c } = sensor();
    clock.advance(999);
    clock.advance(1);
    clock.advance(1000);
    await c.textIncludes('T=21;H=40\r\n');
    expect(c.text).toBe('T=20;H=40\r\nT=21;H=40\r\n');
    expect(s.seq).toBe(2);
    s.close();
  });

  it('answers ID?, READ?, RATE=, STOP/START and refuses unknown commands', async () => {
    const { clock, line, s, c } = sensor(0);
    line.write(Buffer.from('ID?\nREAD?\r\nBOGUS\n'));
    await c.textIncludes('ERR unknown command\r\n');
    expect(c.text).toBe('ID=sensor-7\r\nT=20;H=40\r\nERR unknown command\r\n');
    c.clear();
    line.write(Buffer.from('RATE=50\n'));
    await c.textIncludes('OK\r\n');
    clock.advance(100);
    await c.textIncludes('T=22;H=40\r\n');
    line.write(Buffer.from('STOP\n'));
    await c.until(() => c.text.endsWith('OK\r\n'));
    const before = s.seq;
    clock.advance(500);
    expect(s.seq).toBe(before);
    s.close();
  });

  it('discards an over-long command line whole, then keeps working', async () => {
    const { line, s, c } = sensor(0);
    line.write(Buffer.from('X'.repeat(300) + 'ID?\nID?\n'));
    await c.textIncludes('ID=sensor-7');
    expect(c.text).toBe('ID=sensor-7\r\n');
    s.close();
  });

  it('the default reading is T with one decimal and integer H', () => {
    expect(defaultReading(0, 0)).toBe('T=21.4;H=40');
    expect(defaultReading(0, 15_000)).toBe('T=22.9;H=44');
    expect(codeOf(() => new LineSensor(memorySerialPair()[0], { id: 'x', intervalMs: -1 }))).toBe(CommonCode.USAGE);
  });

  it('over a paced PTY line with the real serialport binding', async () => {
    const { path, sensor: s } = await virtualSensor({ baud: 9600, id: 'sensor-7', intervalMs: 20 });
    const port = await openPort(path, 9600);
    const c = new Collector(port);
    await c.until(() => (c.text.match(/\r\n/g) ?? []).length >= 2);
    expect(c.text).toMatch(/T=\d+\.\d;H=\d+\r\n/);
    port.write(Buffer.from('ID?\n'));
    await c.textIncludes('ID=sensor-7\r\n');
    expect(s.seq).toBeGreaterThanOrEqual(2);
  });
});
