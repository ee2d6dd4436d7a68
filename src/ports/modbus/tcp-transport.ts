// Modbus TCP client transport with its own MBAP framing (mbap.ts) and reconnect.
//
// Why not jsmodbus's TCP client: it fixes one unit id per client object and marks a client
// online only on a 'connect' event it saw itself (so a client for a unit first used after the
// socket connected stays offline); a late reply to a timed-out request fails the next request on
// that unit as OutOfSync; a reply with a function code it does not know leaves its parser
// waiting forever on a growing buffer; and it cannot send a raw PDU, which the operator's Modbus
// TCP forwarding needs. Here every reply is matched on transaction id, protocol id 0, unit id and
// shape (pdu.ts); anything else is dropped and counted, a broken length field drops the
// connection (there is no way to resync a TCP stream), and the socket is re-dialled with capped
// exponential backoff and full jitter after a PLC restart (the top field complaint).

import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { Backoff, type BackoffOptions } from '../../lib/backoff.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { MODBUS_TCP_CONNECT_TIMEOUT_MS, PORT_BACKOFF_BASE_MS, PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS } from '../constants.js';
import { ReconnectPacer } from '../reconnect-pacer.js';
import { ModbusOfflineError, ModbusTimeoutError, PortErrorCode } from '../errors.js';
import { describeError, silentPortLog, type PortLog } from '../log.js';
import { encodeMbap, MbapParser, type MbapFrame } from './mbap.js';
import { replyMatches } from './pdu.js';
import type { BusStats } from './stats.js';
import type { Exchange, ModbusTransport } from './transport.js';
import { TCP_MAX_UNIT } from './vocabulary.js';
import { CommonCode, StateError } from '../../lib/errors.js';

type TcpState = 'connecting' | 'open' | 'waiting' | 'closed';

export interface TcpTransportOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly clock?: Clock;
  readonly log?: PortLog;
}

interface Pending {
  readonly x: Exchange;
  readonly tid: number;
  readonly resolve: (pdu: Uint8Array) => void;
  readonly reject: (e: Error) => void;
  cancelTimer: () => void;
}

export class TcpTransport extends EventEmitter<{ state: [state: TcpState, reason: string] }> implements ModbusTransport {
  readonly name: string;
  readonly maxUnit = TCP_MAX_UNIT;
  readonly broadcastUnit0 = false;
  private _state: TcpState = 'waiting';
  private socket: Socket | null = null;
  private current: Pending | null = null;
  private tid = 0;
  private started = false;
  private cancelTimer: () => void = () => {};
  private readonly pacer: ReconnectPacer;
  private readonly clock: Clock;
  private readonly log: PortLog;

  constructor(
    private readonly opts: TcpTransportOptions,
    private readonly stats: BusStats,
  ) {
    super();
    this.name = `tcp ${opts.host}:${opts.port}`;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentPortLog;
    // The backoff starts over only after a connection stayed up as long as the cap: a device that
    // accepts and closes at once (a PLC at its connection limit) is backed off, not redialled ~7/s.
    const backoff = new Backoff({ baseMs: PORT_BACKOFF_BASE_MS, capMs: PORT_BACKOFF_CAP_MS, ...opts.backoff });
    this.pacer = new ReconnectPacer(backoff, this.clock, opts.backoff?.capMs ?? PORT_BACKOFF_CAP_MS, PORT_FLAP_LOG_QUIET_MS, (folded) =>
      this.log.warn({ bus: this.name, state: this._state, folded }, `modbus tcp: connections to ${this.name} end soon after they open (${folded} lost line(s) folded); now ${this._state}`),
    );
  }

  get state(): TcpState {
    return this._state;
  }

  get online(): boolean {
    return this._state === 'open';
  }

  start(): this {
    if (!this.started && this._state !== 'closed') {
      this.started = true;
      this.dial();
    }
    return this;
  }

  /** Resolves once connected; rejects with PORT_CLOSED if closed first. */
  whenOpen(): Promise<void> {
    if (this._state === 'open') return Promise.resolve();
    if (this._state === 'closed') return Promise.reject(new StateError(PortErrorCode.PORT_CLOSED, `${this.name}: closed`));
    return new Promise((resolve, reject) => {
      const on = (s: TcpState): void => {
        if (s === 'open') (this.off('state', on), resolve());
        else if (s === 'closed') (this.off('state', on), reject(new StateError(PortErrorCode.PORT_CLOSED, `${this.name}: closed`)));
      };
      this.on('state', on);
    });
  }

  exchange(x: Exchange): Promise<Uint8Array> {
    if (this.current) return Promise.reject(new StateError(CommonCode.BUFFER_FULL, `${this.name}: exchange while another is in flight (the bus lock was bypassed)`));
    const socket = this.socket;
    if (this._state !== 'open' || !socket) return Promise.reject(new ModbusOfflineError(this.name));
    this.tid = (this.tid + 1) & 0xffff;
    const tid = this.tid;
    const adu = encodeMbap({ transactionId: tid, protocolId: 0, unit: x.unit, pdu: x.pdu });
    return new Promise<Uint8Array>((resolve, reject) => {
      const p: Pending = { x, tid, resolve, reject, cancelTimer: () => {} };
      this.current = p;
      x.stats.requests++;
      p.cancelTimer = this.clock.setTimeout(() => this.finish(p, new ModbusTimeoutError(x.unit, x.timeoutMs)), x.timeoutMs);
      x.onSent?.(this.clock.now());
      socket.write(adu);
    });
  }

  async close(): Promise<void> {
    if (this._state === 'closed') return;
    this.cancelTimer();
    this.pacer.close();
    const s = this.socket;
    this.socket = null;
    this.setState('closed', 'closed by caller');
    if (this.current) this.finish(this.current, new ModbusOfflineError(`${this.name} (closed)`));
    if (s) await new Promise<void>((res) => (s.destroyed ? res() : (s.once('close', () => res()), s.destroy())));
  }

  private dial(): void {
    if (this._state === 'closed') return;
    this.setState('connecting', `connecting to ${this.name}`);
    const s = createConnection({ host: this.opts.host, port: this.opts.port });
    this.socket = s;
    const parser = new MbapParser({
      frame: (f) => this.onFrame(f),
      desync: () => {
        this.stats.line.desyncs++;
        this.lost(s, 'reply stream lost framing (bad MBAP length)');
      },
    });
    const cancelConnect = this.clock.setTimeout(() => this.lost(s, 'connect timeout'), this.opts.connectTimeoutMs ?? MODBUS_TCP_CONNECT_TIMEOUT_MS);
    s.setNoDelay(true);
    s.once('connect', () => {
      cancelConnect();
      if (this.socket !== s) return;
      s.setKeepAlive(true, 10_000);
      this.pacer.up();
      this.setState('open', `connected to ${this.name}`);
    });
    s.on('data', (chunk: Buffer) => {
      if (this.socket === s) parser.push(chunk);
    });
    s.on('error', (e) => {
      cancelConnect();
      this.lost(s, describeError(e));
    });
    s.on('close', () => {
      cancelConnect();
      this.lost(s, 'connection closed');
    });
  }

  private lost(s: Socket, reason: string): void {
    if (this.socket !== s || this._state === 'closed') return;
    this.socket = null;
    s.destroy();
    if (this.current) this.finish(this.current, new ModbusOfflineError(`${this.name} (${reason})`));
    const delay = this.pacer.down();
    const folded = this.pacer.line('down');
    this.log[folded === null ? 'debug' : 'warn']({ bus: this.name, reason, retryMs: delay, ...(folded ? { folded } : {}) }, 'modbus tcp: connection lost, will redial');
    this.setState('waiting', `${reason}; retry in ${delay} ms`);
    this.cancelTimer();
    this.cancelTimer = this.clock.setTimeout(() => this.dial(), delay);
  }

  private onFrame(f: MbapFrame): void {
    const c = this.current;
    if (!c) {
      this.stats.line.strayFrames++;
      return;
    }
    if (f.transactionId !== c.tid) {
      c.x.stats.staleDrops++;
      this.log.debug({ bus: this.name, expected: c.tid, got: f.transactionId }, 'modbus tcp: reply with an old transaction id dropped');
    } else if (f.unit !== c.x.unit) {
      c.x.stats.wrongUnitDrops++;
      this.log.debug({ bus: this.name, expected: c.x.unit, got: f.unit }, 'modbus tcp: reply from the wrong unit dropped');
    } else if (f.protocolId !== 0 || !replyMatches(c.x.pdu, f.pdu)) {
      c.x.stats.mismatchedDrops++;
      this.log.debug({ bus: this.name, unit: f.unit, fc: f.pdu[0] }, 'modbus tcp: reply that does not answer the request dropped');
    } else {
      this.finish(c, f.pdu);
    }
  }

  private finish(p: Pending, result: Uint8Array | Error): void {
    if (this.current !== p) return;
    this.current = null;
    p.cancelTimer();
    if (result instanceof Uint8Array) p.resolve(result);
    else p.reject(result);
  }

  private setState(s: TcpState, reason: string): void {
    this._state = s;
    this.log.debug({ bus: this.name, state: s, reason }, 'modbus tcp: state');
    try {
      this.emit('state', s, reason);
    } catch (e) {
      this.log.warn({ bus: this.name, err: describeError(e) }, 'modbus tcp: state listener threw');
    }
  }
}
