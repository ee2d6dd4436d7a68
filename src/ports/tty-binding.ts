// The serialport binding every tty is opened with (the gateway's SerialLink and the simulators): the auto-detected native binding, except
// that on Unix a read() returning 0 bytes is reported as a disconnect.
//
// Why: a tty whose other side has gone (a PTY pair closed by `unplug`, and also a USB adapter
// pulled out) is "hung up", and Linux answers every read() on it with 0 (hung_up_tty_read). The
// stock @serialport/bindings-cpp unixRead retries a 0-byte read at once, forever: 100% CPU and the
// port never emits 'close' (serialport/bindings-cpp issue #162, fix PR #164 not merged). Which path
// a given unplug takes is a race, so without this the harness hung one unplug in ~20 under load.
//
// The read itself is readSync: bindings-cpp opens every tty O_NONBLOCK (serialport_unix.cpp), so
// a read returns at once with what the kernel holds or EAGAIN, and the poller says when to try
// again. The stock binding reads through libuv's thread pool instead: a queue, a worker thread's
// wake-up and a completion per chunk. A profile of a gateway polling 16 Modbus slots at 19200
// (docs/BENCH.md "16 slots") had its main thread inside that read for a third of all samples.

import { EventEmitter } from 'node:events';
import { readSync, writeSync } from 'node:fs';
import { SerialPort } from 'serialport';

type Binding = typeof SerialPort.binding;
type PortBinding = Awaited<ReturnType<Binding['open']>>;

/** The fields of bindings-cpp's Unix port binding this read needs (public in its typings). */
interface UnixPort {
  fd: number | null;
  readonly isOpen: boolean;
  /** bindings-cpp's Poller: an EventEmitter over a libuv uv_poll of the fd (poller.js, poller.cpp). */
  readonly poller: EventEmitter & { poll(flags: number): void };
  /** What bindings-cpp's drain() and close() wait for. */
  writeOperation: Promise<void> | null;
}

function canceled(): Error {
  // @serialport/stream treats `canceled` errors as "closed on purpose", not as a disconnect.
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

/** How the next read of a port starts, from what its last read returned. */
type NextRead = 'now' | 'yield' | 'poll';

/** Per port: how its next read starts (below). */
interface ReadState {
  next: NextRead;
}

/** The synchronous read on the O_NONBLOCK fd (node:fs readSync; a test counts its calls). */
export type TtyReadFn = (fd: number, buffer: Buffer, offset: number, length: number, position: null) => number;

/** libuv's uv_poll flags (bindings-cpp poller.js EVENTS). */
const UV_READABLE = 1;
const UV_WRITABLE = 2;

/**
 * A port's waits on its poller, read and write together. bindings-cpp's Poller.once(event) calls
 * poll(flag), whose native side hands libuv only that one flag (uv_poll_start replaces the mask it
 * watches: poller.cpp), and re-arms the other flags only after an event. So a read's wait for
 * 'readable', made while a write waited for 'writable' (more than the tty takes at once), cancelled
 * the write's wait; as each read re-armed 'readable' before the next poll phase, a port that kept
 * receiving never resumed its write, and one whose device then went quiet never did either (found
 * by review, on a bare pty: socat stops both directions when one backs up, so a socat rig never
 * showed it). Here every wait polls for everything still waited for, and each event re-polls for
 * what is left (nothing: poll(0), which also drops flags the native side keeps from earlier waits).
 */
class PollWaits {
  private readable = 0;
  private writable = 0;

  constructor(private readonly poller: UnixPort['poller']) {}

  wait(event: 'readable' | 'writable'): Promise<void> {
    this[event]++;
    return new Promise<void>((resolve, reject) => {
      // EventEmitter's once, not Poller.once: that one would poll for this flag alone.
      EventEmitter.prototype.once.call(this.poller, event, (err?: Error | null) => {
        this[event]--;
        // An error stopped the poller (closed, or the fd failed): every wait gets it, nothing to re-poll.
        if (err) return reject(err);
        this.repoll();
        resolve();
      });
      this.repoll();
    });
  }

  private repoll(): void {
    this.poller.poll((this.readable > 0 ? UV_READABLE : 0) | (this.writable > 0 ? UV_WRITABLE : 0));
  }
}

/**
 * One read, started by what the last one found:
 * - it filled the buffer: more may be waiting, so the event loop first goes round once (setImmediate)
 *   and the read is tried at once. Without the yield, a device writing as fast as the tty drains was
 *   read in one unbroken chain of promise callbacks, and the sockets waited: a gateway logging a
 *   burst of 30,000 lines then could not read its collector's receipts in time, and wrote 250-340 B
 *   per reading to disk instead of none (bench durable-delivery).
 * - it took less than the buffer holds, which was all the kernel had: the next read waits for the
 *   poller's 'readable' (libuv polls level-triggered, so bytes that came meanwhile wake it on the next
 *   turn). Trying at once instead nearly always found nothing, and an empty read is EAGAIN, which
 *   node:fs throws as an Error with its stack: ~6 µs warm and ~105 µs in a process woken from idle
 *   (the first reply characters after a request), against ~1.5 / 14 µs for a read that finds data
 *   (docs/BENCH.md "modbus-polls", 2026-12-07). A Modbus reply arrives in several chunks, one
 *   empty read after each.
 * - the first read of a port is tried at once.
 */
async function ttyRead(port: UnixPort, waits: PollWaits, state: ReadState, read: TtyReadFn, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  if (state.next === 'yield') await new Promise<void>((resolve) => setImmediate(resolve));
  else if (state.next === 'poll') {
    if (!port.isOpen) throw canceled();
    await waits.wait('readable');
  }
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    try {
      const bytesRead = read(port.fd, buffer, offset, length, null);
      if (bytesRead > 0) {
        state.next = bytesRead < length ? 'poll' : 'yield';
        return { bytesRead, buffer };
      }
      // 0 = end of file: on a tty that means hung up. Any non-canceled error makes the stream close
      // with a DisconnectedError, which is what a reconnecting port waits for.
      throw Object.assign(new Error('tty hung up (read returned 0 bytes): device disconnected'), { disconnect: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw e;
      if (!port.isOpen) throw canceled();
      // A poller may say readable when nothing is (libuv's uv_poll documents it): wait again.
      await waits.wait('readable');
    }
  }
}

/**
 * The write, also synchronous on the O_NONBLOCK fd: what the kernel takes now is taken at once (a
 * request of a few bytes always is), and only the rest waits for the poller's 'writable'. The stock
 * binding's fs.write goes through the thread pool, which cost each Modbus request ~0.1 ms of
 * latency before its first character reached the line (docs/BENCH.md "modbus-polls").
 */
async function ttyWrite(port: UnixPort, waits: PollWaits, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    if (!port.isOpen || port.fd === null) throw canceled();
    try {
      offset += writeSync(port.fd, buffer, offset, buffer.length - offset);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EAGAIN' && err.code !== 'EWOULDBLOCK' && err.code !== 'EINTR') {
        // As bindings-cpp's unixWrite: these mean the device went away, which a reconnecting port waits for.
        if (err.code === 'EBADF' || err.code === 'ENXIO' || err.code === 'EIO') Object.assign(err, { disconnect: true });
        throw err;
      }
      if (!port.isOpen) throw canceled();
      await waits.wait('writable');
    }
  }
}

/** The subset of a binding's open() used here; AutoDetectTypes is a union of three platforms. */
type OpenFn = (options: unknown) => Promise<PortBinding>;

const base: Binding = SerialPort.binding;

/** The native binding with a hang-up-aware read on Unix (unchanged elsewhere); `read` for tests. */
export function makeTtyBinding(read: TtyReadFn = readSync): Binding {
  return {
    list: () => base.list(),
    async open(options: unknown): Promise<PortBinding> {
      const port = await (base.open as OpenFn)(options);
      const unix = port as unknown as Partial<UnixPort>;
      if (typeof unix.fd !== 'number' || unix.poller === undefined) return port;
      const u = unix as UnixPort;
      const state: ReadState = { next: 'now' };
      const waits = new PollWaits(u.poller);
      port.read = (buffer, offset, length) => ttyRead(u, waits, state, read, buffer, offset, length);
      port.write = (buffer) => {
        if (!port.isOpen) return Promise.reject(new Error('Port is not open'));
        const op = ttyWrite(u, waits, buffer).finally(() => {
          if (u.writeOperation === op) u.writeOperation = null;
        });
        u.writeOperation = op;
        return op;
      };
      return port;
    },
  } as unknown as Binding;
}

/** The binding every tty of the gateway and the simulators is opened with. */
export const ttyBinding: Binding = makeTtyBinding();
