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

import { readSync, writeSync } from 'node:fs';
import { SerialPort } from 'serialport';

type Binding = typeof SerialPort.binding;
type PortBinding = Awaited<ReturnType<Binding['open']>>;

/** The fields of bindings-cpp's Unix port binding this read needs (public in its typings). */
interface UnixPort {
  fd: number | null;
  readonly isOpen: boolean;
  readonly poller: { once(event: 'readable' | 'writable', cb: (err?: Error | null) => void): unknown };
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

/** Waits for the port's poller to say `event` (once). */
function polled(port: UnixPort, event: 'readable' | 'writable'): Promise<void> {
  return new Promise<void>((resolve, reject) => port.poller.once(event, (err) => (err ? reject(err) : resolve())));
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
async function ttyRead(port: UnixPort, state: ReadState, read: TtyReadFn, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  if (state.next === 'yield') await new Promise<void>((resolve) => setImmediate(resolve));
  else if (state.next === 'poll') {
    if (!port.isOpen) throw canceled();
    await polled(port, 'readable');
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
      await polled(port, 'readable');
    }
  }
}

/**
 * The write, also synchronous on the O_NONBLOCK fd: what the kernel takes now is taken at once (a
 * request of a few bytes always is), and only the rest waits for the poller's 'writable'. The stock
 * binding's fs.write goes through the thread pool, which cost each Modbus request ~0.1 ms of
 * latency before its first character reached the line (docs/BENCH.md "modbus-polls").
 */
async function ttyWrite(port: UnixPort, buffer: Buffer): Promise<void> {
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
      await polled(port, 'writable');
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
      port.read = (buffer, offset, length) => ttyRead(u, state, read, buffer, offset, length);
      port.write = (buffer) => {
        if (!port.isOpen) return Promise.reject(new Error('Port is not open'));
        const op = ttyWrite(u, buffer).finally(() => {
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
