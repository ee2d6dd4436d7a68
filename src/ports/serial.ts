// SerialLink: one raw tty through `serialport`, kept open across unplug/replug.
//
// Field notes: the top complaint about edge gateways is that serial does not come back after a
// USB adapter is unplugged. Here a disconnect (read/write error, EOF, the device path vanishing)
// moves the link to `waiting`, and it reopens the same path with capped exponential backoff and
// full jitter (base 250 ms, cap 10 s) until it appears again. The backoff starts over only after
// the port stayed open 10 s, so a tty that opens and fails at once is backed off too, and its
// opened / lost lines are folded (reconnect-pacer.ts). A fresh SerialPort stream is made for every
// attempt, so nothing of a dead file descriptor is reused.
//
// A device that cannot be opened is loud: the first failed open of an outage is logged at error
// level with the path and what to check (missing device or UART, permissions), a reminder follows
// every minute while it lasts, and the open that ends it is logged at info level. After each open
// the framing is read back from the tty (tty-settings.ts): a driver that silently ignored part of
// it (8E1 asked, 8N1 set) is logged at error level and the port marked degraded.
//
// Nothing here throws into the event loop: library errors become state changes with a reason,
// and listener exceptions are caught and logged. Writes go through a queue bounded by bytes
// (serial-writes.ts), written while the port is open.

import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { ttyBinding } from './tty-binding.js';
import { Backoff, type BackoffOptions } from '../lib/backoff.js';
import { every, systemClock, type Clock } from '../lib/clock.js';
import { PORT_BACKOFF_BASE_MS, PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS, SERIAL_DOWN_REMINDER_MS, SERIAL_MAX_QUEUED_BYTES, SERIAL_READ_BUFFER_BYTES } from './constants.js';
import { deviceAccessProblem } from './device-access.js';
import { checkTtyFraming, framingName, type ConfiguredFraming } from './tty-settings.js';
import type { SerialFraming, SerialPortStatus, SerialState, SettingsCheck } from './serial-status.js';
import { describeError, silentPortLog, type PortLog } from './log.js';
import { serialClosedError } from './errors.js';
import { closeQuietly, openPortLike, type PortFactory, type SerialPortLike } from './serial-port-like.js';
import { Rs485Direction, type Rs485Options } from './rs485.js';
import { ReconnectPacer } from './reconnect-pacer.js';
import { SerialWrites, type DropReason, type WriteStats } from './serial-writes.js';

interface SerialLinkOptions extends SerialFraming {
  readonly path: string;
  /** RS-485 direction control; omit for RS-232/USB adapters that switch direction themselves. */
  readonly rs485?: Rs485Options;
  /** Ask the driver for low latency (ASYNC_LOW_LATENCY); best effort. FTDI adapters need usb-latency.ts as well. */
  readonly lowLatency?: boolean;
  readonly maxQueuedBytes?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly clock?: Clock;
  readonly log?: PortLog;
  /** Makes the port object; default: serialport's native binding. Tests pass SerialPortMock. */
  readonly portFactory?: PortFactory;
  /**
   * Read the framing back after each open: 'auto' (the default with the native binding) checks
   * ttys and skips pseudo-terminals, whose framing Linux does not keep; 'always' checks PTYs too
   * (tests: a PTY is a real tty that refuses parity); 'off' (the default with a portFactory).
   */
  readonly verifySettings?: 'auto' | 'always' | 'off';
}

/** bytesOut, droppedWrites and droppedBytes are the write side's (serial-writes.ts). */
interface SerialStats extends WriteStats {
  opens: number;
  disconnects: number;
  openFailures: number;
  bytesIn: number;
  lastError: string | null;
  /** The backoff delay chosen before the latest reopen attempt. */
  lastRetryMs: number | null;
}

interface SerialLinkEvents {
  state: [state: SerialState, reason: string];
  data: [chunk: Uint8Array];
  drop: [info: { bytes: number; reason: DropReason }];
}

export class SerialLink extends EventEmitter<SerialLinkEvents> {
  readonly path: string;
  readonly stats: SerialStats = { opens: 0, disconnects: 0, openFailures: 0, bytesIn: 0, bytesOut: 0, droppedWrites: 0, droppedBytes: 0, lastError: null, lastRetryMs: null };
  private _state: SerialState = 'waiting';
  private started = false;
  private port: SerialPortLike | null = null;
  private readonly writes: SerialWrites;
  private cancelTimer: () => void = () => {};
  private readonly pacer: ReconnectPacer;
  private readonly clock: Clock;
  private readonly log: PortLog;
  private readonly factory: PortFactory;
  private readonly rs485: Rs485Direction | null;
  private readonly verify: 'auto' | 'always' | 'off';
  /** Since when (clock ms) the link has not been open; null while open. */
  private downSince: number | null = null;
  private failedOpens = 0;
  private openError: SerialPortStatus['openError'] = null;
  /** The outage was logged at error level; a reminder runs until the device opens. */
  private outageReported = false;
  private cancelReminder: () => void = () => {};
  private settings: SettingsCheck;

  constructor(private readonly opts: SerialLinkOptions) {
    super();
    this.path = opts.path;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentPortLog;
    // The backoff starts over only after the port stayed open as long as the longest wait.
    const backoff = new Backoff({ baseMs: PORT_BACKOFF_BASE_MS, capMs: PORT_BACKOFF_CAP_MS, ...opts.backoff });
    this.pacer = new ReconnectPacer(backoff, this.clock, opts.backoff?.capMs ?? PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS, (folded) =>
      this.log.warn({ path: this.path, state: this._state, folded, disconnects: this.stats.disconnects }, `serial: ${this.path} is ${this._state}; it failed soon after opening, again and again (${folded} opened / lost line(s) folded)`),
    );
    // The hang-up-aware binding: with the stock one an unplugged tty can make every read() return 0
    // forever (100% CPU, no 'close'; serialport/bindings-cpp#162), so the link would never reconnect.
    this.factory = opts.portFactory ?? ((o) => new SerialPort({ ...o, autoOpen: false, binding: ttyBinding, highWaterMark: SERIAL_READ_BUFFER_BYTES } as ConstructorParameters<typeof SerialPort>[0]));
    this.rs485 = opts.rs485 ? new Rs485Direction(opts.rs485, this.clock) : null;
    this.writes = new SerialWrites(
      this.path,
      opts.maxQueuedBytes ?? SERIAL_MAX_QUEUED_BYTES,
      this.rs485,
      this.stats,
      this.log,
      () => (this._state === 'open' ? this.port : null),
      (port, reason) => this.lost(port, reason),
      (info) => this.safeEmit('drop', info),
    );
    this.verify = opts.verifySettings ?? (opts.portFactory ? 'off' : 'auto');
    this.settings = { configured: framingName(this.framing), check: 'pending' };
  }

  private get framing(): ConfiguredFraming {
    return { baudRate: this.opts.baudRate, dataBits: this.opts.dataBits ?? 8, parity: this.opts.parity ?? 'none', stopBits: this.opts.stopBits ?? 1 };
  }

  /** State, outage and settings check of this port, for status output. */
  get portStatus(): SerialPortStatus {
    return {
      kind: 'serial',
      path: this.path,
      state: this._state,
      downForMs: this.downSince === null ? null : Math.max(0, this.clock.now() - this.downSince),
      openError: this.openError,
      failedOpens: this.failedOpens,
      settings: this.settings,
      degraded: this._state === 'open' && this.settings.check === 'mismatch',
    };
  }

  get state(): SerialState {
    return this._state;
  }

  get baudRate(): number {
    return this.opts.baudRate;
  }

  /** Bits one character occupies on the wire: start + data + parity + stop (8N1 = 10, 8E1 = 11). */
  get bitsPerChar(): number {
    return 1 + (this.opts.dataBits ?? 8) + ((this.opts.parity ?? 'none') === 'none' ? 0 : 1) + (this.opts.stopBits ?? 1);
  }

  /** Bytes accepted by write() and not yet written to the device. */
  get pendingBytes(): number {
    return this.writes.pendingBytes;
  }

  /** Starts opening (idempotent). Progress is reported through `state` events. */
  start(): this {
    if (this.started || this._state === 'closed') return this;
    this.started = true;
    this.downSince = this.clock.now();
    this.attempt();
    return this;
  }

  /** Resolves once the link is open (now or later); rejects with PORT_CLOSED if it is closed first. */
  whenOpen(): Promise<void> {
    if (this._state === 'open') return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(serialClosedError(this.path));
    return new Promise((resolve, reject) => {
      const on = (s: SerialState): void => {
        if (s === 'open') (this.off('state', on), resolve());
        else if (s === 'closed') (this.off('state', on), reject(serialClosedError(this.path)));
      };
      this.on('state', on);
    });
  }

  /**
   * Queues `data` for the device; resolves once the OS accepted it (awaiting it is the
   * backpressure). Rejects with BUFFER_FULL if the bound would be exceeded (the write is dropped,
   * counted and logged), PORT_IO if the device vanished mid-write, PORT_LOST if it vanished while
   * the write was still queued (nothing sent), PORT_CLOSED after close().
   */
  write(data: Uint8Array): Promise<void> {
    if (this._state === 'closed') return Promise.reject(serialClosedError(this.path));
    return this.writes.add(data);
  }

  /** Closes for good: pending writes reject with PORT_CLOSED, no further reconnects. */
  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this.cancelTimer();
    this.cancelReminder();
    this.pacer.close();
    const port = this.port;
    this.port = null;
    this.setState('closed', 'closed by caller');
    this.writes.close();
    if (port) await closeQuietly(port);
  }

  // ---- opening and reconnecting ----

  private attempt(): void {
    if (this._state === 'closed') return;
    this.setState('opening', `opening ${this.path}`);
    let port: SerialPortLike;
    try {
      port = this.factory({ path: this.path, baudRate: this.opts.baudRate, dataBits: this.opts.dataBits ?? 8, parity: this.opts.parity ?? 'none', stopBits: this.opts.stopBits ?? 1 });
    } catch (e) {
      // serialport validates options synchronously (e.g. an unsupported baud type).
      this.openFailed(e);
      return;
    }
    this.port = port;
    port.on('error', (e: Error) => this.lost(port, `error: ${describeError(e)}`));
    port.on('close', (e: Error | null) => this.lost(port, e ? `disconnected: ${describeError(e)}` : 'closed'));
    port.on('end', () => this.lost(port, 'end of file'));
    port.on('data', (chunk: Buffer) => this.received(port, chunk));
    openPortLike(port).then(
      () => void this.opened(port),
      (e: unknown) => {
        if (this.port !== port) return;
        this.port = null;
        port.removeAllListeners();
        port.on('error', () => {});
        this.openFailed(e);
      },
    );
  }

  private async opened(port: SerialPortLike): Promise<void> {
    if (this.port !== port || this._state === 'closed') {
      await closeQuietly(port);
      return;
    }
    const flags = { ...(this.rs485?.idleFlags() ?? {}), ...(this.opts.lowLatency ? { lowLatency: true } : {}) };
    if (Object.keys(flags).length > 0) {
      // Best effort: PTYs and many drivers refuse these ioctls; the link still works for reading,
      // but an RS-485 line whose transmitter cannot be released is worth a warning.
      await new Promise<void>((res) =>
        port.set(flags, (e) => {
          if (e) this.log[flags.rts !== undefined ? 'warn' : 'debug']({ path: this.path, flags, err: describeError(e) }, 'serial: could not set modem lines');
          res();
        }),
      );
    }
    if (this.port !== port) return;
    this.pacer.up();
    this.stats.opens++;
    this.logOpened();
    this.setState('open', `opened ${this.path}`);
    if (this.port === port) void this.verifySettings(port);
    this.writes.pump();
  }

  private logOpened(): void {
    const downForMs = this.downSince === null ? 0 : Math.max(0, this.clock.now() - this.downSince);
    const folded = this.pacer.line('up');
    const detail = { path: this.path, framing: this.settings.configured, ...(this.failedOpens > 0 ? { failedOpens: this.failedOpens, downForMs } : {}), ...(folded ? { folded } : {}) };
    this.log[folded === null ? 'debug' : 'info'](detail, this.outageReported ? `serial: ${this.path} opened after ${this.failedOpens} failed attempt(s)` : `serial: ${this.path} opened`);
    this.cancelReminder();
    this.cancelReminder = () => {};
    this.outageReported = false;
    this.downSince = null;
    this.failedOpens = 0;
    this.openError = null;
  }

  private openFailed(e: unknown): void {
    this.stats.openFailures++;
    this.stats.lastError = describeError(e);
    this.failedOpens++;
    // The binding's errors carry no errno, only a sentence: ask the file system what is wrong.
    const problem = deviceAccessProblem(this.path);
    this.openError = problem !== undefined ? { code: problem.code, message: problem.found, check: problem.check } : { code: 'OPEN_FAILED', message: describeError(e), check: `is another program using the port (\`fuser ${this.path}\`), or the device failing (\`dmesg\`)?` };
    if (!this.outageReported) {
      this.outageReported = true;
      const err = this.openError;
      this.log.error({ path: this.path, code: err.code, err: describeError(e), check: err.check }, `serial: cannot open ${this.path}: ${err.message}; ${err.check}`);
      this.cancelReminder = every(this.clock, SERIAL_DOWN_REMINDER_MS, () => this.remind());
    }
    this.scheduleRetry(`open failed: ${describeError(e)}`);
  }

  private remind(): void {
    const err = this.openError;
    if (err === null) return;
    const downForS = Math.round((this.clock.now() - (this.downSince ?? this.clock.now())) / 1000);
    this.log.error({ path: this.path, code: err.code, downForS, failedOpens: this.failedOpens, check: err.check }, `serial: ${this.path} still cannot be opened (down ${downForS} s): ${err.message}; ${err.check}`);
  }

  /** Reads the framing back (tty-settings.ts checkTtyFraming); a difference marks the port degraded. */
  private async verifySettings(port: SerialPortLike): Promise<void> {
    this.settings = { configured: framingName(this.framing), check: 'pending' };
    const checked = await checkTtyFraming(this.path, this.framing, this.verify, this.log);
    // A port that was lost or replaced meanwhile has its own check.
    if (this.port === port) this.settings = checked;
  }

  /** The device went away (unplug, EIO, EOF): drop the stream and schedule a reopen. */
  private lost(port: SerialPortLike, reason: string): void {
    if (this.port !== port || this._state === 'closed') return;
    this.port = null;
    this.downSince = this.clock.now();
    this.stats.disconnects++;
    this.stats.lastError = reason;
    const delay = this.pacer.down();
    const folded = this.pacer.line('down');
    this.log[folded === null ? 'debug' : 'warn']({ path: this.path, reason, retryMs: delay, ...(folded ? { folded } : {}) }, 'serial: device lost, will reopen');
    port.removeAllListeners();
    port.on('error', () => {}); // a late error from the dead stream must not crash the process
    void closeQuietly(port);
    this.writes.lost(reason);
    this.scheduleRetry(reason, delay);
  }

  private scheduleRetry(reason: string, delay = this.pacer.down()): void {
    if (this._state === 'closed') return;
    this.stats.lastRetryMs = delay;
    this.setState('waiting', `${reason}; retry in ${delay} ms`);
    this.cancelTimer();
    this.cancelTimer = this.clock.setTimeout(() => this.attempt(), delay);
  }

  // ---- data in ----

  private received(port: SerialPortLike, chunk: Buffer): void {
    if (this.port !== port) return;
    this.stats.bytesIn += chunk.length;
    this.safeEmit('data', chunk);
  }

  private setState(s: SerialState, reason: string): void {
    this._state = s;
    this.log.debug({ path: this.path, state: s, reason }, 'serial: state');
    this.safeEmit('state', s, reason);
  }

  /** Calls every listener, each in its own try: one consumer's bug must not starve the others. */
  private safeEmit<K extends keyof SerialLinkEvents>(event: K, ...args: SerialLinkEvents[K]): void {
    for (const l of this.listeners(event) as ((...a: SerialLinkEvents[K]) => void)[]) {
      try {
        l(...args);
      } catch (e) {
        this.log.warn({ path: this.path, event, err: describeError(e) }, 'serial: listener threw');
      }
    }
  }
}

/** listPorts lives in serial-list.ts; re-exported here, beside the link it lists ports for. */
export { listPorts, type ListedPorts } from './serial-list.js';
