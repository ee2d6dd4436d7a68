// Modbus RTU master on a SerialLink, framed here rather than through jsmodbus: the jsmodbus RTU
// client checks CRC and function code but not the unit id of a reply (FIELD-NOTES), rejects and
// clears every queued request on one bad CRC, and needs a SerialPort it owns, not a link that
// reconnects. On a multi-drop bus the gateway must check all three, per reply:
//   - CRC: corrupted runs are dropped and counted (rtu-frame.ts resyncs behind noise);
//   - unit id: a valid frame from another slave is dropped and counted, and the request keeps
//     waiting for its own slave until its timeout;
//   - function and shape: a valid frame from the right slave that does not answer this request
//     (a late reply to an earlier, timed-out one) is dropped and counted.
// Before each request the master waits for the line to be quiet for the inter-frame silence
// (Modbus over Serial Line V1.02 §2.5.1.1), so a late reply still on the wire is not mixed in.

import { systemClock, type Clock } from '../../lib/clock.js';
import { MODBUS_BROADCAST_TURNAROUND_MS, RTU_SILENCE_FLOOR_MS } from '../constants.js';
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
  /** Inter-frame silence; default max(t3.5, RTU_SILENCE_FLOOR_MS). */
  readonly silenceMs?: number;
  readonly broadcastTurnaroundMs?: number;
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

/** Modbus over Serial Line §2.5.1.1: t3.5 in ms, fixed at 1.75 ms above 19200 baud. */
export function t35Ms(baud: number, bitsPerChar: number): number {
  return baud > 19_200 ? 1.75 : (3.5 * bitsPerChar * 1000) / baud;
}

export class RtuTransport implements ModbusTransport {
  readonly name: string;
  readonly maxUnit = RTU_MAX_UNIT;
  readonly broadcastUnit0 = true;
  readonly silenceMs: number;
  private readonly charMs: number;
  private readonly parser: RtuReplyParser;
  private readonly clock: Clock;
  private readonly log: PortLog;
  private current: Pending | null = null;
  private busy = false;
  private lastRxAt = -Infinity;
  private cancelSilence: () => void = () => {};
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
    this.charMs = (bits * 1000) / link.baudRate;
    this.silenceMs = opts.silenceMs ?? Math.max(t35Ms(link.baudRate, bits), RTU_SILENCE_FLOOR_MS);
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
      x.stats.requests++;
      try {
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
        pending.cancelTimer = this.clock.setTimeout(() => this.onTimeout(pending), ms);
      }
      return await reply;
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    this.offData();
    this.offState();
    this.cancelSilence();
    if (this.current) this.finish(this.current, new ModbusOfflineError(`${this.name} (closed)`));
  }

  private onData(chunk: Uint8Array): void {
    this.lastRxAt = this.clock.now();
    this.parser.push(chunk);
    this.armSilence(this.silenceMs);
  }

  /**
   * The silence timer. When it fires late (a busy event loop), bytes may already be waiting in the
   * tty; setImmediate runs after the I/O poll phase, so they are read first and re-arm the timer.
   */
  private armSilence(ms: number): void {
    this.cancelSilence();
    this.cancelSilence = this.clock.setTimeout(() => {
      setImmediate(() => {
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

  /** Waits until nothing has arrived for one inter-frame silence. */
  private async quietLine(): Promise<void> {
    for (;;) {
      const wait = this.lastRxAt + this.silenceMs - this.clock.now();
      if (wait <= 0) return;
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => this.clock.setTimeout(res, ms));
  }
}
