// The paced virtual line over real socat PTYs with the real serialport binding: line rate, exact
// fault positions, unplug / replug at the same path.

import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Collector } from '../virtual-serial/collect.js';
import { cleanupVirtualSerial, lineTimeMs, openPort, virtualEcho, virtualLine, waitFor } from '../virtual-serial/harness.js';

afterEach(cleanupVirtualSerial);

const BURST = 2048;

/** Measured first-to-last arrival time of a burst over the theory for the same n-1 characters. */
function rateRatio(c: Collector, baud: number): number {
  const first = c.arrivals[0]!;
  const last = c.arrivals[c.arrivals.length - 1]!;
  // The first chunk's last byte arrived at first.at; everything after it took line time.
  return (last.at - first.at) / lineTimeMs(BURST - first.bytes.length, baud);
}

describe('virtual line pacing (real serialport over socat PTYs)', () => {
  // The issue demands "bytes delivered at the configured line rate", so this is one of the few
  // timing assertions allowed: a ratio against theory (bytes x 10 bits / baud) with a ±15% band,
  // measured over a 2 KB burst so one timer tick of jitter is a small fraction of it. The suite
  // runs files in parallel on two cores, and a burst that overlaps another file's busiest second
  // came out 1.19-1.36x (twice this stop, once in the previous): a measurement out of the band is
  // taken again, up to twice (retry); the test passes only on one inside it.
  for (const baud of [9600, 115200]) {
    it(`delivers a 2 KB burst gateway -> device at ${baud} baud within ±15% of the line rate`, { retry: 2 }, async () => {
      const line = await virtualLine({ baud });
      const port = await openPort(line.path, baud);
      const sink = new Collector(line.device!);
      const data = randomBytes(BURST);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      port.write(data);
      await sink.bytesAtLeast(BURST, 20_000);
      // No busy spinning: the pacer sleeps on timers, so this process is mostly idle while the
      // burst crawls over the line (a spinning pacer would burn ~100% of a core).
      const cpu = process.cpuUsage(cpu0);
      expect((cpu.user + cpu.system) / 1000 / (performance.now() - t0)).toBeLessThan(0.5);
      expect(Buffer.from(sink.bytes)).toEqual(data);
      const ratio = rateRatio(sink, baud);
      expect(ratio).toBeGreaterThan(0.85);
      expect(ratio).toBeLessThan(1.15);
      expect(line.relay.stats('aToB').delivered).toBe(BURST);
    });

    it(`delivers a 2 KB burst device -> gateway at ${baud} baud within ±15% of the line rate`, { retry: 2 }, async () => {
      const line = await virtualLine({ baud });
      const port = await openPort(line.path, baud);
      const sink = new Collector(port);
      const data = randomBytes(BURST);
      line.device!.write(data);
      await sink.bytesAtLeast(BURST, 20_000);
      expect(Buffer.from(sink.bytes)).toEqual(data);
      const ratio = rateRatio(sink, baud);
      expect(ratio).toBeGreaterThan(0.85);
      expect(ratio).toBeLessThan(1.15);
    });
  }
});

describe('virtual line faults (exact positions)', () => {
  it('drops and flips exactly the injected bytes, gateway -> device', async () => {
    const line = await virtualLine({ baud: 115200 });
    const port = await openPort(line.path, 115200);
    const sink = new Collector(line.device!);
    line.relay.inject('aToB', { dropAt: [3, 10], flipAt: [{ at: 5, mask: 0x01 }, { at: 19, mask: 0x80 }] });
    const sent = Array.from({ length: 20 }, (_, i) => i + 0x40);
    port.write(Buffer.from(sent));
    await sink.bytesAtLeast(18);
    const want = sent.map((b, i) => (i === 5 ? b ^ 0x01 : i === 19 ? b ^ 0x80 : b)).filter((_, i) => i !== 3 && i !== 10);
    expect([...sink.bytes]).toEqual(want);
    expect(line.relay.stats('aToB')).toMatchObject({ received: 20, delivered: 18, dropped: 2, flipped: 2 });
    // Positions are relative to the injection: the faults are used up, the next bytes pass clean.
    sink.clear();
    port.write(Buffer.from(sent));
    await sink.bytesAtLeast(20);
    expect([...sink.bytes]).toEqual(sent);
  });

  it('counts positions from the moment of injection, device -> gateway', async () => {
    const line = await virtualLine({ baud: 115200 });
    const port = await openPort(line.path, 115200);
    const sink = new Collector(port);
    line.device!.write(Buffer.from('abcdef'));
    await sink.bytesAtLeast(6);
    line.relay.inject('bToA', { dropAt: [0], flipAt: [{ at: 2, mask: 0x20 }] });
    line.device!.write(Buffer.from('ghijkl'));
    await sink.bytesAtLeast(11);
    expect(sink.text).toBe('abcdef' + 'hIjkl');
  });

  it('drops with a seeded probability: every byte is either delivered or counted as dropped', async () => {
    const line = await virtualLine({ baud: 115200 });
    const port = await openPort(line.path, 115200);
    const sink = new Collector(line.device!);
    line.relay.inject('aToB', { dropProbability: 0.25, seed: 42 });
    port.write(randomBytes(1000));
    await waitFor(() => line.relay.position('aToB') === 1000);
    await line.relay.idle('aToB');
    await sink.until(() => sink.length === line.relay.stats('aToB').delivered);
    const st = line.relay.stats('aToB');
    expect(st.received).toBe(1000);
    expect(st.delivered + st.dropped).toBe(1000);
    // 25% of 1000 with a fixed seed: far from 0 and from 1000 (binomial sd ~14).
    expect(st.dropped).toBeGreaterThan(150);
    expect(st.dropped).toBeLessThan(350);
  });
});

describe('virtual line unplug / replug', () => {
  it('unplug removes the path and hangs up the open port; replug brings it back at the same path', async () => {
    const { path, line, echo } = await virtualEcho({ baud: 115200 });
    const first = await openPort(path, 115200);
    const c1 = new Collector(first);
    first.write(Buffer.from('ping'));
    await c1.textIncludes('ping');
    const closed = new Promise<void>((r) => first.once('close', () => r()));
    const pids = line.pids;
    expect(pids.length).toBe(1);
    await line.unplug();
    await closed;
    expect(existsSync(path)).toBe(false);
    expect(line.plugged).toBe(false);
    expect(() => process.kill(pids[0]!, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' })); // socat is gone, stopped by its pid
    await line.replug();
    expect(existsSync(path)).toBe(true);
    expect(line.relay.isAttached('a')).toBe(true);
    const second = await openPort(path, 115200);
    const c2 = new Collector(second);
    second.write(Buffer.from('pong'));
    await c2.textIncludes('pong');
    expect(echo.bytes).toBe(8);
    expect(line.pids[0]).not.toBe(pids[0]);
  });

  it('a gateway that opens the path the moment it reappears and writes at once is heard (the relay end is open first)', async () => {
    // CI once lost the first bytes after a replug: socat made both links at once, the link under
    // test opened the gateway path and wrote before the relay opened its end, and that open set the
    // line up and discarded what was pending. The path now appears only once the relay holds its end.
    const { path, line, echo } = await virtualEcho({ baud: 115200 });
    for (let round = 0; round < 5; round++) {
      await line.unplug();
      const replugged = line.replug();
      // Open as soon as the path exists, as a link retrying every few ms would.
      while (!existsSync(path)) await new Promise((r) => setImmediate(r));
      const port = await openPort(path, 115200);
      const c = new Collector(port);
      port.write(Buffer.from(`hello ${round}`));
      await c.textIncludes(`hello ${round}`);
      await replugged;
      await new Promise<void>((r) => port.close(() => r()));
    }
    expect(echo.bytes).toBe(5 * 'hello 0'.length);
  });

  it('bytes sent toward an unplugged gateway are lost and counted, not queued for later', async () => {
    const line = await virtualLine({ baud: 9600 });
    await line.unplug();
    line.device!.write(Buffer.from('lost while unplugged'));
    await waitFor(() => line.relay.position('bToA') === 20);
    await line.relay.idle('bToA');
    expect(line.relay.stats('bToA').lost).toBe(20);
    await line.replug();
    const port = await openPort(line.path, 9600);
    const sink = new Collector(port);
    line.device!.write(Buffer.from('back'));
    await sink.textIncludes('back');
    expect(sink.text).toBe('back');
  });

  it('close() stops socat by pid and removes the temporary directory', async () => {
    const line = await virtualLine({ baud: 9600 });
    const pids = line.pids;
    expect(pids.length).toBeGreaterThan(0);
    const dir = line.path.slice(0, line.path.lastIndexOf('/'));
    await line.close();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(dir)).toBe(false);
  });

  it('device side as a second PTY: relay between two PTY ends (A\' <-> B\')', async () => {
    const line = await virtualLine({ baud: 115200, deviceSide: 'pty' });
    expect(line.device).toBeNull();
    expect(line.pids.length).toBe(2);
    const gw = await openPort(line.path, 115200);
    const dev = await openPort(line.devicePath!, 115200);
    const atDev = new Collector(dev);
    const atGw = new Collector(gw);
    gw.write(Buffer.from('to device'));
    dev.write(Buffer.from('to gateway'));
    await atDev.textIncludes('to device');
    await atGw.textIncludes('to gateway');
  });
});
