// ModbusBus: the master for one physical bus (one RS-485 line, or one Modbus TCP connection).
//
// - One lock per bus: exactly one request is on the wire at a time (Modbus over Serial Line
//   §2.4: a master talks to one slave at a time); the lock is this class's `running` flag and
//   nothing else touches the transport.
// - Bounded per-unit queues served round robin (round-robin.ts): a dead slave costs its timeout
//   once per round and never stalls the other slaves; a unit whose queue is full has its next
//   request refused at once (BUFFER_FULL), counted.
// - Two priorities: operator requests (priority 'operator') and background polls, each with its
//   own round-robin queues. When both wait, the side that has had less of the bus's time goes
//   (bus-share.ts): an operator request goes ahead of the poll plan, but operators keeping requests
//   in flight get half of the bus, never all of it, so the readings keep flowing.
// - An operator unit's queue is shared fairly between the requests' owners (owner-queue.ts: the HIL
//   broker's operators): served in turn, and a full queue refuses the owner holding more than its
//   share, never one with nothing waiting.
// - A request aborted (its `signal`) while it waits is taken off the queue and rejects with ABORTED:
//   it was never sent. One already on the wire cannot be recalled: it completes, and its promise
//   settles with what happened.
// - Unit liveness (liveness.ts): an operator request to a unit that has stopped answering fails at
//   once with MODBUS_UNIT_SILENT while the background polls keep probing it, also when the unit fell
//   silent while the request waited (it would only repeat the timeouts).
// - Replies are checked by the transport (unit id, function, CRC or transaction id); exception
//   replies become ModbusException with the slave's exception code (§7), timeouts
//   ModbusTimeoutError, a disconnected bus ModbusOfflineError at once (no timeout spent).
// - readMany() merges contiguous reads (plan.ts) and splits the answers back.
// - Diagnostics (issue #13, stats.ts): every request that reaches the wire sets its unit's state
//   (ok / timeout / error, the rule is at RequestState) and an answered one records its round trip
//   and, for an exception reply, its code. Each state change is one log line (state-log.ts), never
//   one per request.

import { systemClock, type Clock } from '../../lib/clock.js';
import { MODBUS_SILENT_AFTER_TIMEOUTS, MODBUS_SILENT_REPROBE_MS, MODBUS_TIMEOUT_MS, MODBUS_UNIT_QUEUE_MAX } from '../constants.js';
import { ModbusCrcError, ModbusException, ModbusOfflineError, ModbusTimeoutError, ModbusUnitSilentError, PortErrorCode, PortIoError } from '../errors.js';
import { UnitLiveness, type UnitState, type UnitStateListener } from './liveness.js';
import { describeError, silentPortLog, type PortLog } from '../log.js';
import type { SerialLink } from '../serial.js';
import { decodeReadReply, exceptionOf, readRequest, writeRequest } from './pdu.js';
import { planReads, splitRead, type PlanLimits, type ReadSpec } from './plan.js';
import { BusShare } from './bus-share.js';
import { OwnerQueue } from './owner-queue.js';
import { RoundRobinQueues } from './round-robin.js';
import { RtuTransport, type RtuTransportOptions } from './rtu-transport.js';
import { UnitStateLog, type StateCause } from './state-log.js';
import { BusStats, type RequestState, type UnitStats } from './stats.js';
import { TcpTransport, type TcpTransportOptions } from './tcp-transport.js';
import type { ModbusTransport } from './transport.js';
import { EXCEPTION_FLAG, ExceptionCode, FunctionCode, MAX_PDU, type Table, type WritableTable } from './vocabulary.js';
import { CodedError, CommonCode, LocalError, StateError } from '../../lib/errors.js';

interface ModbusBusOptions {
  /** Default per-request timeout. */
  readonly timeoutMs?: number;
  readonly unitQueueMax?: number;
  /** Consecutive timeouts after which a unit counts as silent (default MODBUS_SILENT_AFTER_TIMEOUTS). */
  readonly silentAfter?: number;
  /** How long a silent unit's status stays fresh enough to refuse at once (default MODBUS_SILENT_REPROBE_MS). */
  readonly reprobeMs?: number;
  readonly clock?: Clock;
  readonly log?: PortLog;
  /** Least time between two state-change lines of one unit; changes in between are folded (default STATE_LOG_QUIET_MS). */
  readonly stateLogQuietMs?: number;
}

/** 'operator': ahead of the background polls, sharing the bus's time with them (bus-share.ts); refused at once for a unit known silent. */
export type RequestPriority = 'operator' | 'background';

interface RequestOptions {
  readonly timeoutMs?: number;
  /** Default 'background'. */
  readonly priority?: RequestPriority;
  /** Aborted while the request waits: it is taken off the queue and rejects with ABORTED (nothing sent). */
  readonly signal?: AbortSignal;
  /**
   * Operator requests: whose share of the unit's queue this takes (any value compared by identity;
   * the HIL broker passes the operator's CID). Requests without one share one owner.
   */
  readonly owner?: unknown;
}

/** Modbus over Serial Line §2.1: broadcast requests are necessarily writes. */
const BROADCAST_FUNCTIONS: ReadonlySet<number> = new Set([FunctionCode.WRITE_SINGLE_COIL, FunctionCode.WRITE_SINGLE_REGISTER, FunctionCode.WRITE_MULTIPLE_COILS, FunctionCode.WRITE_MULTIPLE_REGISTERS]);

type ReadOutcome = { readonly ok: true; readonly values: number[] } | { readonly ok: false; readonly error: CodedError };

interface Job {
  readonly pdu: Uint8Array;
  readonly timeoutMs: number;
  readonly resolve: (reply: Uint8Array) => void;
  readonly reject: (e: unknown) => void;
  /** Stops listening to the request's abort signal: called when the job leaves the queue. */
  detach: () => void;
}

export class ModbusBus {
  private readonly queues: RoundRobinQueues<Job>;
  /** Operator requests: shared with `queues` by bus time (bus-share.ts), each unit's shared between owners. */
  private readonly urgent: RoundRobinQueues<Job>;
  private readonly share = new BusShare();
  private readonly liveness: UnitLiveness;
  private running = false;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly log: PortLog;
  private readonly stateLog: UnitStateLog;

  constructor(
    readonly transport: ModbusTransport,
    readonly stats: BusStats,
    opts: ModbusBusOptions = {},
  ) {
    const unitQueueMax = opts.unitQueueMax ?? MODBUS_UNIT_QUEUE_MAX;
    this.queues = new RoundRobinQueues(unitQueueMax);
    this.urgent = new RoundRobinQueues(() => new OwnerQueue<Job>(unitQueueMax));
    this.liveness = new UnitLiveness(opts.silentAfter ?? MODBUS_SILENT_AFTER_TIMEOUTS, opts.reprobeMs ?? MODBUS_SILENT_REPROBE_MS);
    this.timeoutMs = opts.timeoutMs ?? MODBUS_TIMEOUT_MS;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentPortLog;
    this.stateLog = new UnitStateLog(this.log, transport.name, this.clock, opts.stateLogQuietMs);
  }

  /** An RTU master on `link` (which the caller starts and closes). */
  static rtu(link: SerialLink, opts: ModbusBusOptions & RtuTransportOptions = {}): ModbusBus {
    const stats = new BusStats();
    return new ModbusBus(new RtuTransport(link, stats, opts), stats, opts);
  }

  /** A Modbus TCP master; starts connecting at once and redials on its own. */
  static tcp(opts: ModbusBusOptions & TcpTransportOptions): ModbusBus {
    const stats = new BusStats();
    return new ModbusBus(new TcpTransport(opts, stats).start(), stats, opts);
  }

  /** A copy of `unit`'s counters, state and response times. */
  unitStats(unit: number): UnitStats {
    return this.stats.unitSnapshot(unit);
  }

  /** Requests waiting (not yet on the wire), for one unit or all. */
  queued(unit?: number): number {
    return this.queues.size(unit) + this.urgent.size(unit);
  }

  /** True when a request could be sent now (the serial link is open, the TCP socket connected). */
  get online(): boolean {
    return this.transport.online;
  }

  /** Whether `unit` answers: 'unknown' until it has been asked. */
  unitState(unit: number): UnitState {
    return this.liveness.state(unit);
  }

  /** Called on every change of a unit's state (alive <-> silent), not on every request. */
  onUnitState(cb: UnitStateListener): () => void {
    return this.liveness.onChange(cb);
  }

  /** Reads `count` items; bits come back as 0/1. */
  async read(unit: number, table: Table, addr: number, count: number, opts: RequestOptions = {}): Promise<number[]> {
    this.checkUnit(unit, false);
    const pdu = readRequest(table, addr, count);
    const reply = await this.enqueue(unit, pdu, opts);
    this.throwIfException(unit, pdu, reply);
    return decodeReadReply(table, count, reply);
  }

  /** Writes with fc 5/6 for one value and 15/16 for several (or always, with forceMultiple). */
  async write(unit: number, table: WritableTable, addr: number, values: readonly (number | boolean)[], opts: RequestOptions & { forceMultiple?: boolean } = {}): Promise<void> {
    this.checkUnit(unit, true);
    const pdu = writeRequest(table, addr, values, opts.forceMultiple);
    const reply = await this.enqueue(unit, pdu, opts);
    this.throwIfException(unit, pdu, reply);
  }

  /**
   * Raw PDU passthrough (the operator's Modbus TCP forwarding): resolves with the reply PDU as
   * the slave sent it, exception replies included, so they can be relayed byte for byte. An RTU
   * broadcast (unit 0, writes only: Modbus over Serial Line §2.1) resolves with an empty PDU after
   * the turnaround delay; any other function to unit 0 on RTU is refused (USAGE). Timeouts, a
   * silent unit and a disconnected bus reject (a forwarder answers those with an exception).
   */
  async request(unit: number, pdu: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    this.checkUnit(unit, true);
    if (pdu.length < 1 || pdu.length > MAX_PDU) throw new LocalError(CommonCode.USAGE, `request: pdu must be 1..${MAX_PDU} bytes, got ${pdu.length}`);
    if ((pdu[0]! & EXCEPTION_FLAG) !== 0 || pdu[0] === 0) throw new LocalError(CommonCode.USAGE, `request: function code must be 1..127, got ${pdu[0]}`);
    if (unit === 0 && this.transport.broadcastUnit0 && !BROADCAST_FUNCTIONS.has(pdu[0]!)) {
      throw new LocalError(CommonCode.USAGE, `request: unit 0 is the RTU broadcast address and broadcasts carry writes only (fc 5, 6, 15, 16), not fc ${pdu[0]}`);
    }
    return this.enqueue(unit, pdu.slice(), opts);
  }

  /**
   * Executes a poll plan: merged requests where possible, one outcome per spec in the given
   * order. If a merged request draws illegal-data-address, its parts are retried one by one so
   * a single unmapped range fails alone; any other failure (a timeout) fails all its parts
   * without retrying, so a dead slave still costs one timeout, not one per part.
   */
  async readMany(specs: readonly ReadSpec[], opts: RequestOptions & PlanLimits = {}): Promise<ReadOutcome[]> {
    const plan = planReads(specs, opts);
    const out = new Array<ReadOutcome>(specs.length);
    await Promise.all(
      plan.map(async (p) => {
        try {
          const values = await this.read(p.unit, p.table, p.addr, p.count, opts);
          for (const part of splitRead(p, values)) out[part.index] = { ok: true, values: part.values };
        } catch (e) {
          if (p.parts.length > 1 && e instanceof ModbusException && e.exceptionCode === ExceptionCode.ILLEGAL_DATA_ADDRESS) {
            await Promise.all(
              p.parts.map(async (part) => {
                const s = specs[part.index]!;
                out[part.index] = await this.read(s.unit, s.table, s.addr, s.count, opts).then(
                  (values) => ({ ok: true as const, values }),
                  (err: unknown) => ({ ok: false as const, error: asUzpError(err) }),
                );
              }),
            );
          } else {
            for (const part of p.parts) out[part.index] = { ok: false, error: asUzpError(e) };
          }
        }
      }),
    );
    return out;
  }

  /** Refuses queued requests (PORT_CLOSED) and closes the transport. The SerialLink stays the caller's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stateLog.close();
    for (const j of [...this.urgent.drain(), ...this.queues.drain()]) {
      j.detach();
      j.reject(new StateError(PortErrorCode.PORT_CLOSED, `${this.transport.name}: bus closed`));
    }
    await this.transport.close();
  }

  private checkUnit(unit: number, allowBroadcast: boolean): void {
    const max = this.transport.maxUnit;
    if (!Number.isInteger(unit) || unit < 0 || unit > max) throw new LocalError(CommonCode.USAGE, `unit id must be an integer 0..${max}, got ${unit}`);
    if (unit === 0 && this.transport.broadcastUnit0 && !allowBroadcast) throw new LocalError(CommonCode.USAGE, 'unit 0 is the RTU broadcast address: no slave answers it, so it cannot be read');
  }

  private throwIfException(unit: number, pdu: Uint8Array, reply: Uint8Array): void {
    const code = exceptionOf(pdu, reply);
    if (code !== null) throw new ModbusException(unit, pdu[0]!, code);
  }

  private enqueue(unit: number, pdu: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new StateError(PortErrorCode.PORT_CLOSED, `${this.transport.name}: bus closed`));
    if (opts.signal?.aborted === true) return Promise.reject(notSent(this.transport.name, unit));
    const stats = this.stats.unit(unit);
    if (!this.transport.online) {
      stats.offline++;
      return Promise.reject(new ModbusOfflineError(this.transport.name));
    }
    const operator = opts.priority === 'operator';
    if (operator && unit !== 0 && this.liveness.knownSilent(unit, this.clock.now())) {
      stats.silentRefusals++;
      return Promise.reject(new ModbusUnitSilentError(unit, this.liveness.timeouts(unit)));
    }
    const queues = operator ? this.urgent : this.queues;
    return new Promise((resolve, reject) => {
      const job: Job = { pdu, timeoutMs: opts.timeoutMs ?? this.timeoutMs, resolve, reject, detach: () => undefined };
      if (!queues.push(unit, job, opts.owner)) {
        stats.queueFull++;
        this.log.warn({ bus: this.transport.name, unit, queued: queues.size(unit), priority: opts.priority ?? 'background' }, 'modbus: unit queue full, request refused');
        const whose = operator ? ' (or this requester holds its share of them)' : '';
        reject(new StateError(CommonCode.BUFFER_FULL, `${this.transport.name}: unit ${unit} already has ${queues.size(unit)} requests queued${whose}`));
        return;
      }
      const signal = opts.signal;
      if (signal !== undefined) {
        // Only while it waits: once on the wire the exchange runs to its end (run() settles it).
        const onAbort = (): void => {
          if (queues.remove(unit, job)) reject(notSent(this.transport.name, unit));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.pump();
    });
  }

  /**
   * Takes the bus lock and runs queued requests round robin until none is left. Operator requests
   * and polls share the bus by time (bus-share.ts), so an operator (or a SCADA client behind Modbus
   * TCP forwarding) keeping requests in flight gets half of it and cannot stop the readings.
   */
  private pump(): void {
    if (this.running || this.closed) return;
    for (;;) {
      const operatorsWaiting = this.urgent.size() > 0;
      const pollsWaiting = this.queues.size() > 0;
      if (!operatorsWaiting && !pollsWaiting) return;
      const urgent = this.share.operatorNext(operatorsWaiting, pollsWaiting);
      const next = (urgent ? this.urgent : this.queues).shift()!;
      next.item.detach();
      const now = this.clock.now();
      // A unit that fell silent while this request waited (the requests ahead of it timed out):
      // sending it would only spend another timeout of everyone's bus time.
      if (urgent && next.unit !== 0 && this.liveness.knownSilent(next.unit, now)) {
        this.stats.unit(next.unit).silentRefusals++;
        next.item.reject(new ModbusUnitSilentError(next.unit, this.liveness.timeouts(next.unit)));
        continue;
      }
      const otherWaited = urgent ? pollsWaiting : operatorsWaiting;
      this.running = true;
      void this.run(next.unit, next.item).finally(() => {
        const contested = otherWaited || (urgent ? this.queues.size() : this.urgent.size()) > 0;
        this.share.ran(urgent, this.clock.now() - now, contested);
        this.running = false;
        this.pump();
      });
      return;
    }
  }

  private async run(unit: number, job: Job): Promise<void> {
    const stats = this.stats.unit(unit);
    // Response time: from the request going to the wire (the transport says when, after its
    // line-silence and inter-request waits) to the reply; from here if it never says.
    let t0 = this.clock.now();
    try {
      const reply = await this.transport.exchange({ unit, pdu: job.pdu, timeoutMs: job.timeoutMs, stats, onSent: (at) => void (t0 = at) });
      if (reply.length > 0) {
        const now = this.clock.now();
        stats.replies++;
        stats.lastLatencyMs = now - t0;
        this.stats.recordResponse(unit, now - t0);
        const code = exceptionOf(job.pdu, reply);
        if (code !== null) this.stats.recordException(unit, code);
        this.liveness.record(unit, true, now);
        if (code === null) this.setState(unit, 'ok', { reason: 'normal reply' });
        else this.setState(unit, 'error', { reason: `exception 0x${code.toString(16).padStart(2, '0')} to function 0x${job.pdu[0]!.toString(16).padStart(2, '0')}`, code: PortErrorCode.MODBUS_EXCEPTION });
      }
      job.resolve(reply);
    } catch (e) {
      if (e instanceof ModbusTimeoutError) {
        stats.timeouts++;
        this.liveness.record(unit, false, this.clock.now());
      }
      if (e instanceof ModbusOfflineError) stats.offline++;
      else if (!(e instanceof CodedError)) this.log.warn({ bus: this.transport.name, unit, err: describeError(e) }, 'modbus: unexpected transport error');
      const state = stateAfter(e);
      if (state !== undefined) this.setState(unit, state, { reason: describeError(e), ...(e instanceof CodedError ? { code: e.code } : {}) });
      job.reject(asUzpError(e));
    }
  }

  private setState(unit: number, state: RequestState, cause: StateCause): void {
    const previous = this.stats.setState(unit, state);
    if (previous !== state) this.stateLog.changed(unit, previous, state, cause);
  }
}

/** The state a failed request leaves its unit in (stats.ts RequestState); undefined: unchanged. */
function stateAfter(e: unknown): RequestState | undefined {
  if (e instanceof ModbusTimeoutError) return 'timeout';
  if (e instanceof ModbusCrcError || e instanceof PortIoError || !(e instanceof CodedError)) return 'error';
  return undefined; // offline, closed: the port's problem, not the unit's
}

/** A request whose signal aborted while it waited: taken off the queue, never sent. */
function notSent(bus: string, unit: number): StateError {
  return new StateError(CommonCode.ABORTED, `${bus}: request to unit ${unit} aborted before it was sent: nothing went on the wire`);
}

function asUzpError(e: unknown): CodedError {
  if (e instanceof CodedError) return e;
  return new PortIoError(`modbus: ${describeError(e)}`, { cause: e });
}
