// Peers that accept and drop at once (reconnect-pacer.ts): a tty that opens and fails on its first
// read (serialport's mock binding), a broker that sends CONNACK and closes the connection (a
// loopback broker of our own, mqtt-packet on the wire: two clients sharing a client id), a Modbus
// TCP device that accepts and closes (a PLC at its connection limit). The links
// used to start their backoff over at every open, so they reconnected ~7 times a second for good
// with a warn line each time. Now the backoff grows across such connections and starts over only
// after one that stayed up the backoff cap; the lines are folded. Fake clocks drive every retry.

import { createServer, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttLink } from '../../src/ports/mqtt.js';
import { BusStats } from '../../src/ports/modbus/stats.js';
import { TcpTransport } from '../../src/ports/modbus/tcp-transport.js';
import { SerialLink } from '../../src/ports/serial.js';
import type { PortOpenOptions, SerialPortLike } from '../../src/ports/serial-port-like.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { waitFor } from '../virtual-serial/harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  SerialPortMock.binding.reset();
});

const tick = async (n = 6): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Log lines by level; `fields` of each. */
function recordingLog() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, msg, fields });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

const CAP = 10_000;

describe('SerialLink: a tty that opens and fails at once', () => {
  it('is backed off up to the cap, logs folded lines, and starts over after a stable open', async () => {
    const PATH = '/dev/ttyFLAP0';
    SerialPortMock.binding.createPort(PATH);
    const clock = new FakeClock();
    const { lines, log } = recordingLog();
    let last: SerialPortMock | undefined;
    const l = new SerialLink({
      path: PATH, baudRate: 9600, clock, log, backoff: { random: () => 0.999 },
      portFactory: (o: PortOpenOptions): SerialPortLike => (last = new SerialPortMock({ ...o, autoOpen: false })) as unknown as SerialPortLike,
    });
    cleanups.push(() => l.close());
    const fail = (): void => (last as unknown as { close(cb: undefined, e: Error): void }).close(undefined, Object.assign(new Error('EIO'), { disconnected: true }));
    let flapping = true;
    l.on('state', (s) => {
      if (s === 'open' && flapping) setImmediate(fail);
    });
    l.start();
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      await tick();
      expect(l.state).toBe('waiting');
      delays.push(l.stats.lastRetryMs!);
      clock.advance(l.stats.lastRetryMs!);
    }
    await tick();
    expect(l.stats.opens).toBe(13);
    // random 0.999 draws just under the ceiling: 250 ms doubling to the 10 s cap.
    expect(delays.slice(0, 4)).toEqual([249, 499, 999, 1998]);
    expect(delays.slice(6)).toEqual(Array(6).fill(9990));
    const loud = lines.filter((x) => x.level !== 'debug');
    // 13 opens and 12 losses in ~80 s: the first open, the first loss, one line once 60 s had passed.
    expect(loud.length).toBeLessThanOrEqual(4);
    expect(loud.some((x) => (x.fields.folded as number) > 0)).toBe(true);

    // A connection that stays up the cap starts the backoff over.
    flapping = false;
    clock.advance(l.stats.lastRetryMs!);
    await tick();
    expect(l.state).toBe('open');
    clock.advance(CAP);
    fail();
    await tick();
    expect(l.stats.lastRetryMs).toBe(249);
    // And the line of that loss is written, not folded: the port was up, this is news.
    expect(lines.filter((x) => x.msg === 'serial: device lost, will reopen').at(-1)).toMatchObject({ level: 'warn', fields: { retryMs: 249 } });
  });

  it('a burst of folded lines is flushed with the state the port is in', async () => {
    const PATH = '/dev/ttyFLAP1';
    SerialPortMock.binding.createPort(PATH);
    const clock = new FakeClock();
    const { lines, log } = recordingLog();
    let last: SerialPortMock | undefined;
    const l = new SerialLink({
      path: PATH, baudRate: 9600, clock, log, backoff: { baseMs: 10, capMs: 1000, random: () => 0.999 },
      portFactory: (o: PortOpenOptions): SerialPortLike => (last = new SerialPortMock({ ...o, autoOpen: false })) as unknown as SerialPortLike,
    });
    cleanups.push(() => l.close());
    let flaps = 3;
    l.on('state', (s) => {
      if (s === 'open' && flaps-- > 0) setImmediate(() => (last as unknown as { close(cb: undefined, e: Error): void }).close(undefined, Object.assign(new Error('EIO'), { disconnected: true })));
    });
    l.start();
    for (let i = 0; i < 3; i++) (await tick(), clock.advance(l.stats.lastRetryMs!));
    await tick();
    expect(l.state).toBe('open');
    const before = lines.filter((x) => x.level !== 'debug').length;
    clock.advance(60_000);
    const flushed = lines.filter((x) => x.level !== 'debug').slice(before);
    expect(flushed).toHaveLength(1);
    expect(flushed[0]!.fields).toMatchObject({ state: 'open' });
    expect(flushed[0]!.fields.folded).toBeGreaterThan(0);
  });
});

describe('MqttLink: a broker that accepts and drops at once', () => {
  it('is backed off up to the cap, with folded lines', async () => {
    let connects = 0;
    const socks = new Set<Socket>();
    const server = createServer((s) => {
      socks.add(s);
      const p = mqttPacket.parser({ protocolVersion: 4 });
      p.on('packet', (pk) => {
        if (pk.cmd !== 'connect') return;
        connects++;
        s.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        setTimeout(() => s.destroy(), 5);
      });
      s.on('data', (d) => p.parse(d));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(r)));
    cleanups.push(() => socks.forEach((s) => s.destroy()));
    const clock = new FakeClock();
    const { lines, log } = recordingLog();
    const l = new MqttLink({ url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, clock, log, backoff: { random: () => 0.999 } }).start();
    cleanups.push(() => l.close());
    const delays: number[] = [];
    for (let i = 1; i <= 8; i++) {
      await waitFor(() => connects === i && l.state === 'waiting', 10_000, `connection ${i} to end`);
      const lost = lines.filter((x) => x.msg === 'mqtt: connection lost, will reconnect').at(-1)!;
      delays.push(lost.fields.retryMs as number);
      clock.advance(lost.fields.retryMs as number);
    }
    expect(delays).toEqual([249, 499, 999, 1998, 3996, 7992, 9990, 9990]);
    expect(l.stats.connects).toBe(8);
    // 8 lost lines in ~35 s of (fake) time: the first is written, the rest folded.
    expect(lines.filter((x) => x.level === 'warn')).toHaveLength(1);
  });
});

describe('Modbus TCP: a device that accepts and closes at once', () => {
  it('is backed off up to the cap, with folded lines', async () => {
    let accepts = 0;
    const server = createServer((s) => {
      accepts++;
      s.on('error', () => {});
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const clock = new FakeClock();
    const { lines, log } = recordingLog();
    const t = new TcpTransport({ host: '127.0.0.1', port: (server.address() as { port: number }).port, clock, log, backoff: { random: () => 0.999 } }, new BusStats()).start();
    cleanups.push(() => t.close());
    const lost = () => lines.filter((x) => x.msg === 'modbus tcp: connection lost, will redial');
    const delays: number[] = [];
    for (let i = 1; i <= 8; i++) {
      await waitFor(() => accepts === i && lost().length === i && t.state === 'waiting', 10_000, `connection ${i} to end`);
      delays.push(lost().at(-1)!.fields.retryMs as number);
      clock.advance(delays.at(-1)!);
    }
    expect(delays).toEqual([249, 499, 999, 1998, 3996, 7992, 9990, 9990]);
    expect(lines.filter((x) => x.level === 'warn')).toHaveLength(1);
  });
});
