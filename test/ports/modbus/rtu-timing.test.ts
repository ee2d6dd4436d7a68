// Serial-line timing of the RTU master over a baud-paced PTY bus (Modbus over Serial Line V1.02
// §2.4.1, §2.5.1.1): the per-slot inter-request delay keeps transactions apart by at least that
// much, and the broadcast turnaround holds the next request back. Lower bounds only: a loaded
// machine can make a transaction slower, never a configured wait shorter. And a reply that reached
// the tty while the event loop was held is read before the response timeout is judged, and a reply
// arriving a character at a time arms the silence timer once per burst.

import { closeSync, constants, openSync, stat, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { SerialLink } from '../../../src/ports/serial.js';
import { systemClock, type Clock } from '../../../src/lib/clock.js';
import { t35Ms } from '../../../src/ports/line-timing.js';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import type { RtuTransportOptions } from '../../../src/ports/modbus/rtu-transport.js';
import { encodeRtuAdu } from '../../../src/ports/modbus/rtu-frame.js';
import { PtyPair } from '../../../src/sim/pty.js';
import { cleanupVirtualSerial, openPort, virtualBus, waitFor } from '../../virtual-serial/harness.js';

afterEach(cleanupVirtualSerial);

const BAUD = 115_200;
const regs = Array.from({ length: 10 }, (_, i) => 100 + i);

async function master(path: string, opts: RtuTransportOptions & { timeoutMs?: number; clock?: Clock }): Promise<{ bus: ModbusBus; close: () => Promise<void> }> {
  const link = new SerialLink({ path, baudRate: BAUD, backoff: { baseMs: 20, capMs: 200 } }).start();
  await link.whenOpen();
  const bus = ModbusBus.rtu(link, { timeoutMs: 2_000, ...opts });
  return { bus, close: async () => (await bus.close(), await link.close()) };
}

interface SlaveEnd {
  /** The master, over the first tty of a socat PTY pair. */
  readonly m: { bus: ModbusBus; close: () => Promise<void> };
  /** The request bytes the slave end has read so far. */
  request: () => Buffer;
  /** The slave tty opened for writing (closed after the body). */
  readonly fd: number;
}

/** The test is the slave: a master on one end of a fresh PTY pair, the body on the other; cleans up after. */
async function withSlaveEnd(opts: RtuTransportOptions & { timeoutMs?: number; clock?: Clock }, body: (e: SlaveEnd) => Promise<void>): Promise<void> {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'uzp-rtu-slave-'));
  const pair = await PtyPair.open({ linkA: join(dir, 'master'), linkB: join(dir, 'slave') });
  const m = await master(join(dir, 'master'), opts);
  let fd: number | null = null;
  try {
    const slave = await openPort(join(dir, 'slave'), BAUD);
    let request = Buffer.alloc(0);
    slave.on('data', (c: Buffer) => (request = Buffer.concat([request, c])));
    fd = openSync(join(dir, 'slave'), constants.O_WRONLY | constants.O_NOCTTY);
    await body({ m, request: () => request, fd });
  } finally {
    if (fd !== null) closeSync(fd);
    await m.close();
    await cleanupVirtualSerial();
    await pair.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('RTU master timing', () => {
  it('inter_request_delay_ms: n transactions take at least (n - 1) delays', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs }] });
    const m = await master(vb.path, { interRequestDelayMs: 80 });
    try {
      await m.bus.read(1, 'holding', 0, 10); // the first one waits for nothing
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) expect(await m.bus.read(1, 'holding', 0, 10)).toEqual(regs);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(5 * 80);
    } finally {
      await m.close();
    }
  });

  it('turnaround_ms: the request after a broadcast waits at least the turnaround', async () => {
    const vb = await virtualBus({ baud: BAUD, slaves: [{ unit: 1, holdingRegisters: regs }] });
    const m = await master(vb.path, { broadcastTurnaroundMs: 150 });
    try {
      const t0 = performance.now();
      expect((await m.bus.request(0, Uint8Array.of(0x06, 0, 1, 0, 7))).length).toBe(0);
      expect(await m.bus.read(1, 'holding', 1, 1)).toEqual([7]); // the slave acted on the broadcast
      expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    } finally {
      await m.close();
    }
  });
});

describe('RTU master: the response timeout after a held event loop', () => {
  it('a reply already in the tty when the late timer fires is read, not counted a timeout', async () => {
    // The gateway's bundle measurement once held the loop ~450 ms (docs/BENCH.md, 2026-12-06). When
    // the loop comes back, libuv runs due timers before it polls the tty, so a healthy slave's reply
    // that arrived meanwhile lost to its own timeout. Here the test is the slave, on the other end of
    // a socat PTY pair: it answers, then holds the loop far past the timeout.
    await withSlaveEnd({ timeoutMs: 50 }, async ({ m, request, fd }) => {
      const reply = m.bus.request(1, Uint8Array.of(0x03, 0, 0, 0, 1));
      await waitFor(() => request().length >= 8, 5_000, 'the request at the slave');
      // Long enough for the master to have armed its 50 ms timer (it arms it once its write returns).
      await new Promise((r) => setTimeout(r, 15));
      // The loop is held in an I/O callback (here a stat's completion), as the gateway's was in a
      // file read's, and the reply is written just before: it reaches the master's tty during the
      // hold. After it libuv ends that poll phase and runs due timers before it polls the tty again.
      const written = new Promise<void>((resolve) =>
        stat(tmpdir(), () => {
          writeSync(fd, encodeRtuAdu(1, Uint8Array.of(0x03, 2, 0x12, 0x34)));
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400); // the held loop, far past the 50 ms timeout
          resolve();
        }),
      );
      await written;
      expect([...(await reply)]).toEqual([0x03, 2, 0x12, 0x34]);
      expect(m.bus.stats.summary()).toMatchObject({ requests: 1, replies: 1, timeouts: 0 });
    });
  });

  it('a reply arriving a character at a time arms the silence timer once, not once per chunk', async () => {
    // 25 characters written one by one, two event-loop turns apart (far less than t3.5 = 1.75 ms),
    // each read as a chunk of its own. Counted: timers asked for a whole t3.5 (the first arm of a burst;
    // the timer re-arms itself for the rest of a silence with less). Before, every chunk re-armed it.
    const t35 = t35Ms(BAUD);
    let wholeSilences = 0;
    const clock: Clock = {
      now: () => systemClock.now(),
      setTimeout: (fn, ms, o) => {
        if (ms === t35) wholeSilences++;
        return systemClock.setTimeout(fn, ms, o);
      },
    };
    await withSlaveEnd({ timeoutMs: 2_000, clock }, async ({ m, request, fd }) => {
      const reply = m.bus.read(1, 'holding', 0, 10);
      await waitFor(() => request().length >= 8, 5_000, 'the request at the slave');
      const adu = encodeRtuAdu(1, Uint8Array.of(0x03, 20, ...regs.flatMap((r) => [r >> 8, r & 0xff])));
      expect(adu.length).toBe(25);
      wholeSilences = 0;
      const writtenAt: number[] = [];
      for (const b of adu) {
        writeSync(fd, Uint8Array.of(b));
        writtenAt.push(performance.now());
        // Two turns of the event loop: the master reads the character (a chunk of its own) meanwhile.
        for (let t = 0; t < 2; t++) await new Promise((r) => setImmediate(r));
      }
      expect(await reply).toEqual(regs);
      // One per burst: a gap a loaded machine stretched to about t3.5 or more may end a burst and
      // start another (the reply is still whole: a partial reply is kept across silences), so the
      // bursts are counted from the writes, with half a millisecond and two arms to spare for the
      // tty's delivery. Before, every chunk armed it: 12 here (characters read two or so at a time).
      const bursts = 1 + writtenAt.slice(1).filter((t, i) => t - writtenAt[i]! > t35 - 0.5).length;
      expect(wholeSilences).toBeGreaterThanOrEqual(1);
      expect(wholeSilences).toBeLessThanOrEqual(bursts + 2);
    });
  });
});
