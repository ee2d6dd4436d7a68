// modbus-poller: periodic polls of every unit's register map -> readings; on-demand requests from
// operators passed to the bus (after the HIL broker checked them against the Grant, draft §4.3).
//
// Poll groups: one per (unit, poll interval). Each tick of a group is one bus.readMany, so the
// group's contiguous registers merge into as few requests as the protocol allows (ports/modbus/
// plan.ts). A group never overlaps itself: a tick that finds the previous poll still running is
// skipped and counted. Groups are per unit as well as per interval because merging happens only
// within a unit anyway, and this way a dead slave's group waits out its own timeouts while the
// live slaves' groups keep their rate (the bus serves units round robin, so a live unit's request
// waits for at most one dead timeout: FIELD-NOTES "one dead slave stalls a multi-drop bus").
//
// Every register of a successful read becomes one reading; a failed read yields no reading and
// shows in the unit's health (status()): last good poll, consecutive failed polls, last error.
// Whether a unit answers at all is the bus's to know (ports/modbus/liveness.ts, from every request
// on the bus, polls and operator requests alike): each change (alive -> silent -> alive) is one
// warn line here, with the slot and unit name, never one per poll.
//
// Diagnostics (issue #13): status() gives each unit's bus counters (ports/modbus/stats.ts: state
// ok / timeout / error, requests, timeouts, CRC errors, exceptions by code, response times
// min/avg/p99/max) and the slot's summary over every unit on its bus. Units the poll config does not
// name but operators addressed are listed too (`polled: false`), so the lines add up to the summary.
//
// Operator requests go to the bus with priority 'operator' (ahead of the background polls, sharing
// the bus's time with them: ports/modbus/bus-share.ts) and their owner (the HIL operator: each gets
// its fair share of a unit's queue, ports/modbus/owner-queue.ts). Unit 0 on a serial line is the
// broadcast address (Modbus over Serial Line §2.1): a broadcast carries writes only, no slave
// answers it, and a Modbus TCP client still expects a reply. The slot's `tcp_unit_0` setting says
// what the operator's unit 0 means: 'refuse' (the default: exception 0x0A) or 'broadcast' (the
// write goes to every slave; after the turnaround delay the operator gets the normal reply of that
// write, as a gateway answering for slaves that may not). Reads to unit 0 are refused either way
// (0x01). docs/DEVICES.md says why.

import type { ModbusPollerDevice, ModbusUnit, RegisterDef } from './config.js';
import { PortIoError } from '../ports/errors.js';
import { describeError, type PortLog } from '../ports/log.js';
import type { ModbusBus } from '../ports/modbus/bus.js';
import type { UnitState } from '../ports/modbus/liveness.js';
import type { UnitStats, UnitsSummary } from '../ports/modbus/stats.js';
import { ExceptionCode, RTU_MAX_UNIT } from '../ports/modbus/vocabulary.js';
import type { SerialLink } from '../ports/serial.js';
import type { SerialPortStatus } from '../ports/serial-status.js';
import type { ReadSpec } from '../ports/modbus/plan.js';
import type { CborValue } from '../uzp/cbor.js';
import { every, systemClock, type Clock } from '../lib/clock.js';
import type { ModbusDevice, ModbusRefusal, ModbusRequestOptions, Reading, Unsubscribe } from '../hil/device.js';
import { ReadingStream } from './readings.js';
import type { DiagReport } from '../hil/diag-report.js';
import { diagReportOf } from './modbus-diag.js';
import { decodeRegister, wordsPerValue, type RegisterValue, type ScalarValue } from './register-codec.js';
import { CodedError } from '../lib/errors.js';

export interface ModbusPollerOptions {
  /** Reading timestamps, Unix ms (default Date.now). */
  readonly now?: () => number;
  /** Poll timers (default the system clock); tests pass a fake clock. */
  readonly clock?: Clock;
  readonly log?: PortLog;
  /** The serial link under an RTU bus, for the port's status (absent on Modbus TCP). */
  readonly link?: SerialLink;
}

/** The port under the bus: the serial link's status on RTU, the connection's on Modbus TCP. */
export type ModbusPortStatus = SerialPortStatus | { readonly kind: 'tcp'; readonly address: string; readonly state: 'open' | 'waiting' };

/** Health of one unit (slave) on the bus, as the gateway reports it. */
export interface UnitHealth {
  readonly unit: number;
  readonly name?: string;
  /** Whether the unit answers (bus-wide: polls and operator requests): 'unknown' until asked. */
  state: UnitState;
  /** Polls finished (all of the unit's groups), and how many of them had a read fail. */
  polls: number;
  failedPolls: number;
  /** Failed polls since the last fully good one (0 = healthy). */
  consecutiveFailures: number;
  /** Ticks skipped because the unit's previous poll of that group was still running. */
  skippedTicks: number;
  /** Reading timestamp of the last poll in which every read succeeded. */
  lastOkTs: number | null;
  lastErrorTs: number | null;
  /** Stable code of the last failure (MODBUS_TIMEOUT, MODBUS_EXCEPTION, MODBUS_OFFLINE...). */
  lastErrorCode: string | null;
  lastError: string | null;
}

/** A unit as `status()` shows it: its poll health and the bus's counters for it. */
export interface UnitStatus extends UnitHealth {
  /** False for a unit the poll config does not name (only operator requests reached it). */
  readonly polled: boolean;
  /** The bus's counters, request state and response times for this unit (ports/modbus/stats.ts). */
  readonly diagnostics: UnitStats;
}

/** The slot's summary over every unit on its bus, and the line-level counters (noise with no request in flight). */
export interface SlotDiagnostics extends UnitsSummary {
  readonly line: { readonly strayFrames: number; readonly strayNoise: number; readonly desyncs: number };
}

export interface ModbusPollerStatus {
  readonly slot: string;
  readonly device: string;
  readonly running: boolean;
  readonly readings: number;
  readonly skippedTicks: number;
  readonly units: UnitStatus[];
  readonly diagnostics: SlotDiagnostics;
  readonly port: ModbusPortStatus;
}

interface PollGroup {
  readonly unit: ModbusUnit;
  readonly intervalMs: number;
  readonly registers: readonly RegisterDef[];
  readonly specs: readonly ReadSpec[];
  busy: boolean;
  cancel: () => void;
}

export class ModbusPoller implements ModbusDevice {
  readonly driver = 'modbus-poller' as const;
  readonly kind = 'modbus' as const;
  readonly id: string;
  private readonly groups: PollGroup[] = [];
  private readonly health = new Map<number, UnitHealth>();
  private readonly units = new Map<number, ModbusUnit>();
  private readonly readings: ReadingStream;
  private readonly clock: Clock;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log: PortLog | undefined;
  private readonly link: SerialLink | undefined;
  private offUnitState: () => void = () => {};
  private running = false;

  constructor(
    readonly slot: string,
    private readonly cfg: ModbusPollerDevice,
    private readonly bus: ModbusBus,
    opts: ModbusPollerOptions = {},
  ) {
    this.id = cfg.id;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
    this.link = opts.link;
    this.readings = new ReadingStream({ slot, device: cfg.id, kind: 'modbus', ...(opts.now ? { now: opts.now } : {}), ...(opts.log ? { log: opts.log } : {}) });
    for (const u of cfg.units) {
      this.units.set(u.unit, u);
      this.health.set(u.unit, { ...newHealth(u.unit, bus.unitState(u.unit)), ...(u.name !== undefined ? { name: u.name } : {}) });
      const byInterval = new Map<number, RegisterDef[]>();
      for (const r of u.registers) byInterval.set(r.pollIntervalMs, [...(byInterval.get(r.pollIntervalMs) ?? []), r]);
      for (const [intervalMs, registers] of [...byInterval].sort((a, b) => a[0] - b[0])) {
        const specs = registers.map((r) => ({ unit: u.unit, table: r.table, addr: r.address, count: r.count * wordsPerValue(r.type) }));
        this.groups.push({ unit: u, intervalMs, registers, specs, busy: false, cancel: () => {} });
      }
    }
  }

  onReading(cb: (r: Reading) => void): Unsubscribe {
    return this.readings.on(cb);
  }

  /** Polls every group now, then at its interval. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.offUnitState = this.bus.onUnitState((unit, state, info) => this.unitStateChanged(unit, state, info));
    for (const g of this.groups) {
      this.tick(g);
      g.cancel = every(this.clock, g.intervalMs, () => this.tick(g));
    }
  }

  /** Stops the timers and waits for polls in flight (each bounded by its timeout); emits nothing after. */
  async stop(): Promise<void> {
    this.running = false;
    for (const g of this.groups) g.cancel();
    this.offUnitState();
    await Promise.allSettled([...this.inFlight]);
  }

  status(): ModbusPollerStatus {
    const stats = this.bus.stats;
    const ids = [...new Set([...this.health.keys(), ...stats.unitIds()])].sort((a, b) => a - b);
    const units = ids.map((u): UnitStatus => {
      const h = this.health.get(u);
      return { ...(h ?? newHealth(u, this.bus.unitState(u))), polled: h !== undefined, diagnostics: this.bus.unitStats(u) };
    });
    const diagnostics = { ...stats.summary(ids), line: { ...stats.line } };
    return { slot: this.slot, device: this.id, running: this.running, readings: this.readings.count, skippedTicks: units.reduce((n, u) => n + u.skippedTicks, 0), units, diagnostics, port: this.port };
  }

  /** status()'s diagnostics as diag mode sends them to an operator holding diag.read. */
  diagnostics(): DiagReport {
    return diagReportOf(this.status());
  }

  /** False while the bus is not connected (serial port down, TCP peer unreachable): requests are refused with 0x0A. */
  get available(): boolean {
    return this.bus.online;
  }

  /** The port under the bus (`uzpgw status`). */
  get port(): ModbusPortStatus {
    return this.link?.portStatus ?? { kind: 'tcp', address: this.bus.transport.name, state: this.bus.online ? 'open' : 'waiting' };
  }

  /** Requests this device refuses before the bus (see the top of this file); undefined lets it through. */
  refusal(unit: number, _pdu: Uint8Array, does: { readonly reads: boolean; readonly writes: boolean }): ModbusRefusal | undefined {
    if (!this.bus.transport.broadcastUnit0) return undefined; // Modbus TCP: every unit id 0..255 is the device's to answer
    if (unit === 0) {
      if (does.reads) return { exception: ExceptionCode.ILLEGAL_FUNCTION, reason: 'unit 0 is the serial-line broadcast address and a broadcast carries writes only (Modbus over Serial Line §2.1): no slave would answer a read' };
      if ((this.cfg.tcpUnit0 ?? 'refuse') === 'refuse') return { exception: ExceptionCode.GATEWAY_PATH_UNAVAILABLE, reason: `unit 0 (broadcast to every slave on the line) is off for slot ${this.slot}: "tcp_unit_0" is "refuse"` };
      return undefined;
    }
    if (unit > RTU_MAX_UNIT) return { exception: ExceptionCode.GATEWAY_PATH_UNAVAILABLE, reason: `unit ${unit} is not a serial-line address (1..${RTU_MAX_UNIT}; ${RTU_MAX_UNIT + 1}..255 are reserved, Modbus over Serial Line §2.2)` };
    return undefined;
  }

  /**
   * One request PDU to `unit`, with the unit's configured timeout. Resolves with the reply PDU,
   * exception replies included (fc | 0x80, code: Modbus Application Protocol §7): bus.request()
   * returns them as PDUs, never as a thrown ModbusException, so the operator's client sees what the
   * slave said. A timeout or a disconnected bus rejects (the broker answers exception 0x0B). An
   * aborted `signal` takes a request that still waits off the bus's queue (it rejects with ABORTED:
   * nothing was sent); a request already on the wire completes, and settles with what happened.
   */
  request(unit: number, pdu: Uint8Array, opts: ModbusRequestOptions = {}): Promise<Uint8Array> {
    const timeoutMs = this.units.get(unit)?.timeoutMs ?? this.cfg.timeoutMs;
    let reply = this.bus.request(unit, pdu, { ...opts, timeoutMs, priority: 'operator' });
    if (unit === 0 && this.bus.transport.broadcastUnit0) {
      // No slave answers a broadcast; the operator's client still waits for the write's normal
      // reply, which for fc 5, 6, 15 and 16 is the request's first five bytes (Application Protocol §6.5, 6.6, 6.11, 6.12).
      reply = reply.then((r) => (r.length === 0 ? pdu.slice(0, 5) : r));
    }
    return reply;
  }

  private unitStateChanged(unit: number, state: UnitState, info: { readonly previous: UnitState; readonly consecutiveTimeouts: number }): void {
    const h = this.health.get(unit);
    if (h !== undefined) h.state = state;
    const who = { slot: this.slot, device: this.id, unit, ...(h?.name !== undefined ? { name: h.name } : {}) };
    const label = `unit ${unit}${h?.name !== undefined ? ` (${h.name})` : ''}`;
    if (state === 'silent') this.log?.warn({ ...who, state, timeouts: info.consecutiveTimeouts }, `modbus: ${label} stopped answering (${info.consecutiveTimeouts} requests in a row timed out); operator requests get exception 0x0B at once while polls keep trying it`);
    else if (info.previous === 'silent') this.log?.warn({ ...who, state }, `modbus: ${label} answers again`);
    else this.log?.info({ ...who, state }, `modbus: ${label} answers`);
  }

  private tick(g: PollGroup): void {
    if (!this.running) return;
    if (g.busy) {
      this.health.get(g.unit.unit)!.skippedTicks++;
      return;
    }
    g.busy = true;
    const p: Promise<void> = this.poll(g).finally(() => {
      g.busy = false;
      this.inFlight.delete(p);
    });
    this.inFlight.add(p);
  }

  private async poll(g: PollGroup): Promise<void> {
    const u = g.unit.unit;
    const outcomes = await this.bus.readMany(g.specs, { timeoutMs: g.unit.timeoutMs }).catch((e: unknown) => g.specs.map(() => ({ ok: false as const, error: asUzpError(e) })));
    if (!this.running) return;
    const ts = this.readings.timestamp();
    let failure: CodedError | undefined;
    outcomes.forEach((o, i) => {
      const def = g.registers[i]!;
      if (!o.ok) return void (failure ??= o.error);
      let value: RegisterValue;
      try {
        value = decodeRegister(def, o.values);
      } catch (e) {
        return void (failure ??= asUzpError(e));
      }
      const v: CborValue = { unit: u, name: def.name, value: toCbor(value), ...(def.unit !== undefined ? { eng_unit: def.unit } : {}) };
      this.readings.emit(v, { kind: 'modbus', unit: u, table: def.table, addr: def.address, count: def.count * wordsPerValue(def.type) }, ts);
    });
    const h = this.health.get(u)!;
    h.polls++;
    if (failure === undefined) {
      h.consecutiveFailures = 0;
      h.lastOkTs = ts;
      return;
    }
    h.failedPolls++;
    h.consecutiveFailures++;
    h.lastErrorTs = ts;
    h.lastErrorCode = failure.code;
    h.lastError = failure.message;
  }
}

function newHealth(unit: number, state: UnitState): UnitHealth {
  return { unit, state, polls: 0, failedPolls: 0, consecutiveFailures: 0, skippedTicks: 0, lastOkTs: null, lastErrorTs: null, lastErrorCode: null, lastError: null };
}

/** Readings travel as deterministic CBOR and JSON: a non-finite float32 (NaN, ±Inf) becomes null. */
function toCbor(v: RegisterValue): CborValue {
  const one = (x: ScalarValue): CborValue => (typeof x === 'number' && !Number.isFinite(x) ? null : x);
  return Array.isArray(v) ? v.map(one) : one(v);
}

function asUzpError(e: unknown): CodedError {
  return e instanceof CodedError ? e : new PortIoError(`modbus poll: ${describeError(e)}`, { cause: e });
}

