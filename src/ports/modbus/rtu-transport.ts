// Modbus RTU master on a SerialLink, framed here rather than through jsmodbus: the jsmodbus RTU
// client checks CRC and function code but not the unit id of a reply (FIELD-NOTES), rejects and
// clears every queued request on one bad CRC, and needs a SerialPort it owns, not a link that
// reconnects. On a multi-drop bus the gateway must check all three, per reply:
//   - CRC: corrupted runs are dropped and counted (rtu-frame.ts resyncs behind noise);
//   - unit id: a valid frame from another slave is dropped and counted, and the request keeps
//     waiting for its own slave until its timeout;
//   - function and shape: a valid frame from the right slave that does not answer this request
//     (a late reply to an earlier, timed-out one) is dropped and counted.
// Timing (Modbus over Serial Line V1.02 §2.5.1.1), from the baud rate and the character format
// (11 bits for 8E1, 10 for 8N1; line-timing.ts):
//   - before each request the line must have been quiet for t3.5 (1.75 ms above 19200 baud), so a
//     late reply still on the wire is not mixed in; waited to a few µs, not to Node's whole-ms
//     timers (lib/clock.ts sleepPrecise); no longer floor: a reply is ended by its
//     expected length (as libmodbus, pymodbus and modbus-serial do), silence only ends a frame of
//     unknown length and discards a partial one, and a partial reply of the request in flight is
//     kept across silences until its timeout (rtu-frame.ts `awaiting`), so a USB adapter's
//     latency-timer bursts cost nothing;
//   - t1.5 (the inter-character limit) is computed and reported but not enforced: Linux hands us
//     bytes in chunks whose arrival times say nothing of µs gaps on the wire (as in libmodbus);
//     length and CRC decide instead;
//   - after a broadcast the master waits the turnaround delay (§2.4.1), and between transactions an
//     optional inter-request delay for slow slaves (default 0).

import { sleepPrecise, systemClock, type Clock } from '../../lib/clock.js';
import { MODBUS_BROADCAST_TURNAROUND_MS } from '../constants.js';
import { charTimeMs, t15Ms, t35Ms } from '../line-timing.js';
import { ModbusCrcError, ModbusOfflineError, ModbusTimeoutError, PortIoError } from '../errors.js';
import { describeError, silentPortLog, type PortLog } from '../log.js';
import type { SerialLink } from '../serial.js';
import { replyMatches } from './pdu.js';
import { encodeRtuAdu, replyAduLength, RtuReplyParser } from './rtu-frame.js';
import type { BusStats } from './stats.js';
import type { Exchange, ModbusTransport } from './transport.js';
import { RTU_BROADCAST_UNIT, RTU_MAX_UNIT } from './vocabulary.js';
import { CommonCode, StateError } from '../../lib/errors.js';

export interface RtuTransportOptions {
  /** Bits per character on the line (8N1 = 10, 8E1 = 11); default: the link's framing. */
  readonly bitsPerChar?: number;
  /** Inter-frame silence; default t3.5 for the link's baud rate and character format. */
  readonly silenceMs?: number;
  /** Wait after a broadcast before the next request (§2.4.1); default MODBUS_BROADCAST_TURNAROUND_MS. */
  readonly broadcastTurnaroundMs?: number;
  /** Extra quiet time between the end of one transaction and the next request; default 0. */
  readonly interRequestDelayMs?: number;
  readonly clock?: Clock;
  readonly log?: PortLog;
}

interface Pending {
  readonly x: Exchange;
  readonly resolve: (pdu: Uint8Array) => void;
  readonly reject: (e: Error) => void;
  crcErrors: number;
  cancelTimer: () => void;
}

export class RtuTransport implements ModbusTransport {
  readonly name: string;
  readonly maxUnit = RTU_MAX_UNIT;
  readonly broadcastUnit0 = true;
  readonly silenceMs: number;
  /** The inter-character limit, computed for callers but not enforced: see the header. */
  readonly t15Ms: number;
  private readonly charMs: number;
  private readonly interRequestDelayMs: number;
  /** When the last transaction ended (reply, timeout or broadcast turnaround). */
  private lastEndAt = -Infinity;
  private readonly parser: RtuReplyParser;
  private readonly clock: Clock;
  private readonly log: PortLog;
  private current: Pending | null = null;
  private busy = false;
  private lastRxAt = -Infinity;
  private cancelSilence: () => void = () => {};
  /** The silence timer is running; a chunk arriving meanwhile only moves lastRxAt (armSilence). */
  private silenceArmed = false;
  private closed = false;
  private readonly offData: () => void;
  private readonly offState: () => void;

  constructor(
    private readonly link: SerialLink,
    private readonly stats: BusStats,
    private readonly opts: RtuTransportOptions = {},
  ) {
    this.name = `rtu ${link.path}`;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentPortLog;
    const bits = opts.bitsPerChar ?? link.bitsPerChar;
    this.charMs = charTimeMs(link.baudRate, bits);
    this.silenceMs = opts.silenceMs ?? t35Ms(link.baudRate, bits);
    this.t15Ms = t15Ms(link.baudRate, bits);
    this.interRequestDelayMs = opts.interRequestDelayMs ?? 0;
    this.parser = new RtuReplyParser({
      frame: (unit, pdu) => this.onFrame(unit, pdu),
      error: (reason, bytes) => this.onNoise(reason, bytes),
    });
    const onData = (chunk: Uint8Array): void => this.onData(chunk);
    const onState = (s: string): void => {
      if (s !== 'open' && this.current) this.finish(this.current, new ModbusOfflineError(`${this.name} (${s})`));
    };
    link.on('data', onData);
    link.on('state', onState);
    this.offData = () => link.off('data', onData);
    this.offState = () => link.off('state', onState);
  }

  get online(): boolean {
    return this.link.state === 'open';
  }

  async exchange(x: Exchange): Promise<Uint8Array> {
    if (this.busy) throw new StateError(CommonCode.BUFFER_FULL, `${this.name}: exchange while another is in flight (the bus lock was bypassed)`);
    if (!this.online) throw new ModbusOfflineError(this.name);
    this.busy = true;
    try {
      await this.quietLine();
      if (!this.online) throw new ModbusOfflineError(this.name);
      const adu = encodeRtuAdu(x.unit, x.pdu);
      this.parser.reset();
      this.parser.acceptUnknownFunctions = replyAduLength(Uint8Array.of(x.unit, x.pdu[0]!)) === 'unknown';
      if (x.unit !== 0) this.parser.awaiting = { unit: x.unit, fc: x.pdu[0]! };
      const reply = new Promise<Uint8Array>((resolve, reject) => {
        this.current = { x, resolve, reject, crcErrors: 0, cancelTimer: () => {} };
      });
      const pending = this.current!;
      // Awaited only after the write (and a broadcast's turnaround), but a closed bus or a lost link
      // may reject it before: marked handled now, or that rejection would end the process.
      reply.catch(() => {});
      x.stats.requests++;
      try {
        x.onSent?.(this.clock.now());
        await this.link.write(adu);
      } catch (e) {
        this.finish(pending, new PortIoError(`${this.name}: write failed: ${describeError(e)}`, { cause: e }));
        return await reply;
      }
      if (x.unit === RTU_BROADCAST_UNIT) {
        // Broadcast: no slave answers; give them time to act before the next request (§2.2).
        await this.sleep(this.opts.broadcastTurnaroundMs ?? MODBUS_BROADCAST_TURNAROUND_MS);
        this.finish(pending, new Uint8Array(0));
        return await reply;
      }
      if (this.current === pending) {
        // The timeout runs from when the request has left the UART, not from when the OS took it.
        const ms = x.timeoutMs + Math.ceil(adu.length * this.charMs);
        // Judged after the I/O poll phase (setImmediate), as the silence timer is: a timer that fires
        // late because the event loop was held (a GC pause, any long synchronous step) fires before
        // the loop reads the bytes that arrived meanwhile, and a reply that was in the tty in time
        // was counted a timeout (docs/BENCH.md "modbus-polls", 2026-12-06).
        pending.cancelTimer = this.clock.setTimeout(() => setImmediate(() => this.onTimeout(pending)), ms);
      }
      return await reply;
    } finally {
      this.lastEndAt = this.clock.now();
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    this.offData();
    this.offState();
    this.closed = true;
    this.cancelSilence();
    this.silenceArmed = false;
    if (this.current) this.finish(this.current, new ModbusOfflineError(`${this.name} (closed)`));
  }

  private onData(chunk: Uint8Array): void {
    this.lastRxAt = this.clock.now();
    this.parser.push(chunk);
    if (!this.silenceArmed) this.armSilence(this.silenceMs);
  }

  /**
   * The silence timer, armed once per burst rather than per chunk: when it fires it measures the
   * quiet since the last chunk and re-arms itself for what is left (as the simulator's framer does).
   * A reply reaches the master in a chunk per character or few (13 per 25-byte reply on the bench's
   * 115200 line), and re-arming per chunk cost a timer's removal and insertion each time.
   * When it fires late (a busy event loop), bytes may already be waiting in the tty; setImmediate
   * runs after the I/O poll phase, so they are read first and only move lastRxAt.
   */
  private armSilence(ms: number): void {
    this.cancelSilence();
    this.silenceArmed = true;
    this.cancelSilence = this.clock.setTimeout(() => {
      setImmediate(() => {
        if (this.closed) return; // closed after the timer fired, before this turn
        this.silenceArmed = false;
        const quiet = this.clock.now() - this.lastRxAt;
        if (quiet >= this.silenceMs) this.parser.silence();
        else this.armSilence(this.silenceMs - quiet);
      });
    }, ms);
  }

  private onFrame(unit: number, pdu: Uint8Array): void {
    const c = this.current;
    if (!c) {
      this.stats.line.strayFrames++;
      this.log.debug({ bus: this.name, unit }, 'modbus: frame with no request in flight dropped');
      return;
    }
    if (unit !== c.x.unit) {
      c.x.stats.wrongUnitDrops++;
      this.log.debug({ bus: this.name, expected: c.x.unit, got: unit }, 'modbus: reply from the wrong unit dropped');
      return;
    }
    if (!replyMatches(c.x.pdu, pdu)) {
      c.x.stats.mismatchedDrops++;
      this.log.debug({ bus: this.name, unit, fc: pdu[0] }, 'modbus: reply that does not answer the request dropped');
      return;
    }
    this.finish(c, pdu);
  }

  private onNoise(reason: string, bytes: number): void {
    const c = this.current;
    if (c) {
      c.crcErrors++;
      c.x.stats.crcErrors++;
    } else {
      this.stats.line.strayNoise++;
    }
    this.log.debug({ bus: this.name, reason, bytes }, 'modbus: corrupted bytes dropped');
  }

  private onTimeout(p: Pending): void {
    if (this.current !== p) return;
    // A partial reply kept across silences (see RtuReplyParser.awaiting) is judged now: resync may
    // still find a whole reply in it; otherwise it is discarded and counted.
    this.parser.awaiting = null;
    this.parser.silence();
    if (this.current !== p) return;
    // Corrupted frames arrived but no valid one: say so rather than "no reply".
    this.finish(p, p.crcErrors > 0 ? new ModbusCrcError(p.x.unit, p.crcErrors) : new ModbusTimeoutError(p.x.unit, p.x.timeoutMs));
  }

  private finish(p: Pending, result: Uint8Array | Error): void {
    if (this.current !== p) return;
    this.current = null;
    this.parser.awaiting = null;
    p.cancelTimer();
    if (result instanceof Uint8Array) p.resolve(result);
    else p.reject(result);
  }

  /** Waits until nothing has arrived for one inter-frame silence (and the inter-request delay has passed). */
  private async quietLine(): Promise<void> {
    for (;;) {
      const wait = Math.max(this.lastRxAt + this.silenceMs, this.lastEndAt + this.interRequestDelayMs) - this.clock.now();
      if (wait <= 0) return;
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return sleepPrecise(this.clock, ms);
  }
}
